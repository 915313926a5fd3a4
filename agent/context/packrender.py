"""The whole-workspace pack written out (an export), every file redacted and counted on the way, and a pack's
size without rendering it.

Exporting Django (5,500 files, 34 MB) means redacting and counting every file; each file is decoded once for
both, and its block goes straight to the output file: no pack-sized string is ever built. On a big tree the
second half of the files is done by a forked child at the same time (forkwork), its blocks appended after ours.
The bytes are exactly `render.render_pack`'s, UTF-8 encoded.
"""

from __future__ import annotations

import marshal
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from agent.context import forkwork
from agent.context.render import file_tree
from agent.redact import Redactor
from agent.tokens import count_o200k

FORK_ABOVE_BYTES = 4 * 1024 * 1024  # below this a second process costs more than it saves


def pack_frame_chars(name: str, paths: Sequence[str]) -> int:
    """Characters `render_pack` adds around the files' own text (tree, headers), at most: a file's closing
    newline is counted even when its text ends with one."""
    paths = sorted(paths)
    head = len(f'<repository name="{name}" files="{len(paths)}">') + len("<tree>") + len("</tree>") + 3
    per_file = sum(len(f'<file path="{p}">\n') + 1 + len("</file>") + 1 for p in paths)
    return head + len(file_tree(paths)) + 1 + per_file + len("</repository>") + 1


def export_pack(name: str, files: Mapping[str, bytes], sizes: Mapping[str, int], redact: Redactor,
                out: Path | None, *, fork: bool = True, leave_out: str | None = None) -> dict[str, int]:
    """Write `render_pack(name, files, redact)` to `out` (whole or not at all: a temporary file renamed over it;
    None: count only) and return every file's o200k count. `leave_out` is a path not to pack (the export's own
    file, when an earlier export lies in the workspace)."""
    paths = sorted(p for p in files if p != leave_out)
    on_disk = getattr(files, "on_disk", None)
    total = sum(sizes.get(p, 0) for p in paths)
    half = _split(paths, sizes, total) if fork and total > FORK_ABOVE_BYTES and forkwork.can_fork() else len(paths)
    first, second = paths[:half], paths[half:]
    tmp = out.with_name(out.name + ".tmp") if out is not None else None
    count_o200k("")  # load the tokenizer once, before the fork, for both processes
    try:
        with _open(tmp) as sink, (_scratch() if sink is not None and second else nullcontext()) as theirs:
            if sink is not None:
                header = [f'<repository name="{name}" files="{len(paths)}">', "<tree>", file_tree(paths), "</tree>"]
                sink.write(("\n".join(header) + "\n").encode())

            def their_half() -> bytes:
                counts = _blocks(second, files, on_disk, redact, theirs)
                if theirs is not None:
                    theirs.flush()  # the child leaves by os._exit, which flushes nothing
                return marshal.dumps(counts)

            child = forkwork.start(their_half) if second else None
            try:
                counts = _blocks(first, files, on_disk, redact, sink)
                result = child.wait() if child is not None else marshal.dumps([])
            except BaseException:
                if child is not None:
                    child.kill()
                raise
            if result is None:  # the child failed: its half is done here
                if theirs is not None:
                    theirs.seek(0)
                    theirs.truncate()
                result = their_half()
            counts += marshal.loads(result)
            if sink is not None:
                if theirs is not None:
                    theirs.seek(0)
                    shutil.copyfileobj(theirs, sink, 1 << 20)
                sink.write(b"</repository>\n")
        if tmp is not None and out is not None:
            tmp.replace(out)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    return dict(zip(paths, counts, strict=True))


def _split(paths: list[str], sizes: Mapping[str, int], total: int) -> int:
    """The index that splits `paths` into two halves of about equal bytes."""
    done = 0
    for i, path in enumerate(paths):
        done += sizes.get(path, 0)
        if done * 2 >= total:
            return i + 1
    return len(paths)


def _blocks(paths: list[str], files: Mapping[str, bytes], on_disk: Callable[[str], str | None] | None,
            redact: Redactor, sink: BinaryIO | None) -> list[int]:
    """Each file's block written to `sink` (if any); returns their o200k counts."""
    counts = []
    for path in paths:
        where = on_disk(path) if on_disk is not None else None
        if where is None:
            data = files[path]
        else:
            try:
                with open(where, "rb") as handle:
                    data = handle.read()
            except OSError:
                data = b""
        raw = data.decode("utf-8", errors="replace")
        counts.append(count_o200k(raw))
        if sink is not None:
            text = redact(raw)
            end = "" if text.endswith("\n") else "\n"
            sink.write(f'<file path="{path}">\n{text}{end}</file>\n'.encode())
    return counts


def _open(path: Path | None) -> ContextManager[BinaryIO | None]:
    return open(path, "wb", buffering=1 << 20) if path is not None else nullcontext()


def _scratch() -> BinaryIO:
    """Where the child's blocks wait to be appended: memory (memfd) where there is one, else a temporary file."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("duet-export", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()
