"""The OS sandbox around every process Duet starts for the model (Landlock, bubblewrap fallback)."""
