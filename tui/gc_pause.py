"""Garbage collection without stalls. A streaming screen allocates fast, and CPython's full collections then scan
the whole heap (the conversation, Textual's caches): 50–170 ms pauses that show as a frozen screen. While a turn
streams, what exists is moved out of the collector's scans (`gc.freeze`) each time a part of the answer settles;
when the turn ends and the screen is idle, everything is collected once and the survivors frozen again."""

from __future__ import annotations

import gc


def hold_back() -> None:
    """A part of the answer settled: the objects alive now are not scanned by later collections."""
    gc.freeze()


def collect_now() -> None:
    """The screen is idle: collect what became garbage since the last time, then freeze what survives."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
