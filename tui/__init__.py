"""The Textual TUI: a thin view over the agent's event stream (issue 6)."""
