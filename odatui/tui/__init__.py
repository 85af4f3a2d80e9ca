"""The Textual face of odatui: the wizard. The only package that imports Textual."""
