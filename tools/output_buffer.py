"""Bounded capture of command output: keeps the head and the tail, counts the rest."""

from __future__ import annotations

from collections import deque


class HeadTailBuffer:
    """Holds at most `head + tail` bytes however much is written."""

    def __init__(self, head: int = 256 * 1024, tail: int = 256 * 1024) -> None:
        self._head_cap, self._tail_cap = head, tail
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data:
            return
        self._tail.append(data)
        self._tail_len += len(data)
        while self._tail_len - len(self._tail[0]) >= self._tail_cap:
            self._tail_len -= len(self._tail.popleft())

    def text(self) -> str:
        tail = b"".join(self._tail)[-self._tail_cap:]
        kept = len(self._head) + len(tail)
        head = self._head.decode("utf-8", errors="replace")
        if kept >= self.total:
            return head + tail.decode("utf-8", errors="replace")
        gap = self.total - kept
        return f"{head}\n[… {gap} bytes not kept …]\n{tail.decode('utf-8', errors='replace')}"


def head_tail(text: str, limit: int = 30_000) -> str:
    """Shorten `text` to about `limit` characters: its head and tail, with a note of what was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    cut_lines = text[half:len(text) - half].count("\n")
    return f"{text[:half]}\n[… {cut} characters ({cut_lines} lines) cut from the middle …]\n{text[-half:]}"
