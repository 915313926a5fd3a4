"""A scratch file in memory (Linux memfd; a temporary file elsewhere): for output another process writes and
this one reads back whole, without the wake-ups of a pipe or a name on disk."""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO


def memory_file(name: str) -> BinaryIO:
    """A new, empty scratch file open for reading and writing; `name` shows in /proc for debugging."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create(name, os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()
