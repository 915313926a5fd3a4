"""What the model is told at the start of a session: the system prompt, the facts it states, AGENTS.md."""
