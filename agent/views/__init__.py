"""Folds over the event stream: pure objects with `apply(event)` that front ends draw from.

A fold reads only events (never the Agent or the Session), so a recorded transcript replayed into it gives
the same state as the live run did. Each reads schema 2 (turns per prompt, model calls, items) and schema 1
(a turn per model call, `tool.started` / `tool.finished`) alike.
"""
