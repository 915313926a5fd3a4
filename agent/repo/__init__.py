"""Git repositories as Duet sees them: which ones it may run its own (unsandboxed) git commands in."""
