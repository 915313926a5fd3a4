"""Duet: a terminal coding agent that routes each step to the model that fits it."""

__version__ = "0.1.0"
