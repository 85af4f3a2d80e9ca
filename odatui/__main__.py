from odatui.cli.main import main

raise SystemExit(main())
