"""Reusable widgets of the wizard: labelled fields, step panes, the sandbox banner."""
