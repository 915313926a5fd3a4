"""What the model can call. Tools know nothing of agent/ or tui/: they get a ToolContext, return a ToolResult."""
