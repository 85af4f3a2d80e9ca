from odatui.cli import main

raise SystemExit(main())
