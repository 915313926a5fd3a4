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
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from agent.context import forkwork
from agent.context.render import file_tree
from agent.redact import Redactor
from agent.tokens import count_o200k
from tools.atomic import atomic_writer
from tools.memfile import memory_file

FORK_ABOVE_BYTES = 4 * 1024 * 1024  # below this a second process costs more than it saves


def pack_frame_chars(name: str, paths: Sequence[str]) -> int:
    """Characters `render_pack` adds around the files' own text (tree, headers), at most: a file's closing
    newline is counted even when its text ends with one."""
    paths = sorted(paths)
    head = len(f'<repository name="{name}" files="{len(paths)}">') + len("<tree>") + len("</tree>") + 3
    per_file = sum(len(f'<file path="{p}">\n') + 1 + len("</file>") + 1 for p in paths)
    return head + len(file_tree(paths)) + 1 + per_file + len("</repository>") + 1


def export_pack(name: str, files: Mapping[str, bytes], sizes: Mapping[str, int], redact: Redactor,
                out: Path | None, *, fork: bool = True, leave_out: Collection[str] = ()) -> dict[str, int]:
    """Write `render_pack(name, files, redact)` to `out` (whole or not at all: a temporary file renamed over it;
    None: count only) and return every file's o200k count. `leave_out` are paths not to pack (the export's own
    file, when an earlier export lies in the workspace).

    With a forked child, the files go in CHUNKS chunks of about equal bytes, handed out one at a time through a
    pipe to whichever process is free (a chunk of translations costs twice what a chunk of code does, so fixed
    halves left one process idle); each process writes its chunks' blocks to its own memory file, and the
    chunks are copied into the export in order by the kernel.
    """
    paths = sorted(p for p in files if p not in leave_out)
    total = sum(sizes.get(p, 0) for p in paths)
    two = fork and total > FORK_ABOVE_BYTES and forkwork.can_fork()
    chunks = _chunks(paths, sizes, total, CHUNKS if two else 1)
    count_o200k("")  # load the tokenizer once, before the fork, for both processes
    work = _Work(chunks, files, redact, writes=out is not None)
    try:
        # Written whole or not at all (tools.atomic: an unnamed file, named over `out` once complete).
        with atomic_writer(out, durable=False) if out is not None else nullcontext() as sink:
            if sink is not None:
                header = [f'<repository name="{name}" files="{len(paths)}">', "<tree>", file_tree(paths), "</tree>"]
                sink.write(("\n".join(header) + "\n").encode())
            done = _in_two(work) if two else {0: work.run_chunk(0, sink)}
            counts = []
            for index in range(len(chunks)):
                where, offset, length, chunk_counts = done[index]
                counts += chunk_counts
                if sink is not None and where is not None:
                    sink.flush()
                    _copy(where, sink.fileno(), offset, length)
            if sink is not None:
                sink.write(b"</repository>\n")
    finally:
        work.close()
    return dict(zip(paths, counts, strict=True))


CHUNKS = 48
Done = tuple["int | None", int, int, list[int]]  # (memory file with the blocks, offset, length, counts)


class _Work:
    """The chunks to export, and the memory file each process writes its chunks' blocks to."""

    def __init__(self, chunks: list[list[str]], files: Mapping[str, bytes], redact: Redactor, *,
                 writes: bool) -> None:
        self.chunks, self.files, self.redact, self.writes = chunks, files, redact, writes
        self.on_disk = getattr(files, "on_disk", None)
        self._scratch: BinaryIO | None = None
        self._kept: list[BinaryIO] = []

    def scratch(self) -> BinaryIO:
        """This process's memory file (made on first use, so parent and child each get their own)."""
        if self._scratch is None:
            self._scratch = memory_file("duet-export")
        return self._scratch

    def run_chunk(self, index: int, sink: BinaryIO | None) -> Done:
        """Chunk `index` written straight to `sink` (nothing to copy later)."""
        return None, 0, 0, _blocks(self.chunks[index], self.files, self.on_disk, self.redact, sink)

    def run_claimed(self, dispenser: int) -> dict[int, Done]:
        """Chunks claimed one at a time from `dispenser` (a pipe of chunk numbers) until it is empty."""
        done: dict[int, Done] = {}
        while claimed := os.read(dispenser, 1):
            done[claimed[0]] = self.run_aside(claimed[0])
        return done

    def run_aside(self, index: int) -> Done:
        """Chunk `index` written to this process's memory file, to be copied into the export later."""
        target = self.scratch() if self.writes else None
        start = target.tell() if target is not None else 0
        counts = _blocks(self.chunks[index], self.files, self.on_disk, self.redact, target)
        if target is None:
            return None, 0, 0, counts
        target.flush()
        return target.fileno(), start, target.tell() - start, counts

    def keep(self, scratch: BinaryIO) -> BinaryIO:
        """`scratch` closed with this work (the child's memory file, read here after the child is gone)."""
        self._kept.append(scratch)
        return scratch

    def close(self) -> None:
        for scratch in [self._scratch, *self._kept]:
            if scratch is not None:
                scratch.close()


def _in_two(work: _Work) -> dict[int, Done]:
    """Every chunk done by this process and a forked child together; what the child did not deliver (it died)
    is done here afterwards."""
    dispenser, feed = os.pipe()
    try:
        os.write(feed, bytes(range(len(work.chunks))))  # fewer than 256, and far below a pipe's capacity
        os.close(feed)
        feed = -1
        # the child's memory file, made before the fork so that it is readable here
        child_scratch = work.keep(memory_file("duet-export")) if work.writes else None

        def their_part() -> bytes:
            work._scratch = child_scratch
            done = work.run_claimed(dispenser)
            return marshal.dumps({i: (0 if fd is not None else None, off, n, c) for i, (fd, off, n, c) in done.items()})

        try:
            child = forkwork.start(their_part)
        except OSError:  # no fork to be had (process limit, memory): every chunk is done here
            child = None
        try:
            done = work.run_claimed(dispenser)
            theirs = child.wait() if child is not None else None
        except BaseException:
            if child is not None:
                child.kill()
            raise
        if theirs is not None and child_scratch is not None:
            fd = child_scratch.fileno()
            done.update({i: (fd if where is not None else None, off, n, c)
                         for i, (where, off, n, c) in marshal.loads(theirs).items()})
        elif theirs is not None:
            done.update(marshal.loads(theirs))
        for index in range(len(work.chunks)):
            if index not in done:  # claimed by a child that died
                done[index] = work.run_aside(index)
        return done
    finally:
        os.close(dispenser)
        if feed != -1:
            os.close(feed)


def _copy(source: int, target: int, offset: int, length: int) -> None:
    """`length` bytes of file `source` from `offset` appended to `target`, copied by the kernel."""
    while length > 0:
        sent = os.sendfile(target, source, offset, length)
        if sent == 0:
            raise OSError(f"export: a memory file ended {length} bytes early")
        offset += sent
        length -= sent


def _chunks(paths: list[str], sizes: Mapping[str, int], total: int, count: int) -> list[list[str]]:
    """`paths` in order, cut into `count` runs of about equal bytes (fewer when there are fewer files)."""
    out: list[list[str]] = [[]]
    done, step = 0, max(total / count, 1)
    for path in paths:
        if out[-1] and done >= step * len(out) and len(out) < count:
            out.append([])
        out[-1].append(path)
        done += sizes.get(path, 0)
    return out


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
