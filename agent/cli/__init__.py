"""The command-line front end (`agent`)."""
