"""Rendering the packed repository and the repo map as prompt text (deterministic, byte-stable)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence

from agent.redact import Redactor
from tools.symbols import Definition


def file_tree(paths: Sequence[str]) -> str:
    """An indented tree of `paths` (sorted), directories first seen first."""
    lines: list[str] = []
    seen: set[str] = set()
    for path in sorted(paths):
        parts = path.split("/")
        for depth in range(len(parts) - 1):
            folder = "/".join(parts[: depth + 1])
            if folder not in seen:
                seen.add(folder)
                lines.append("  " * depth + parts[depth] + "/")
        lines.append("  " * (len(parts) - 1) + parts[-1])
    return "\n".join(lines)


def render_pack(name: str, files: Mapping[str, bytes], redact: Redactor, paths: Sequence[str] | None = None,
                *, tree: bool = True) -> str:
    """Every file (or those in `paths`), with its path, in path order, after a tree; secrets redacted."""
    paths = sorted(paths if paths is not None else files)
    out = [f'<repository name="{name}" files="{len(paths)}">']
    if tree:
        out += ["<tree>", file_tree(paths), "</tree>"]
    for path in paths:
        text = redact(files[path].decode("utf-8", errors="replace"))
        out.append(f'<file path="{path}">\n{text}{"" if text.endswith(chr(10)) else chr(10)}</file>')
    out.append("</repository>")
    return "\n".join(out) + "\n"


def _signature_line(definition: Definition) -> str:
    return f"  {definition.line:>5}│ {definition.signature.strip()}"


def render_map(ranked: Sequence[tuple[str, Definition]]) -> str:
    """Signatures grouped by file, files in the order of their best-ranked definition."""
    by_file: dict[str, list[Definition]] = {}
    for path, definition in ranked:
        by_file.setdefault(path, []).append(definition)
    out = []
    for path, defs in by_file.items():
        out.append(f"{path}:")
        out += [_signature_line(d) for d in sorted(defs, key=lambda d: d.line)]
    return "\n".join(out) + ("\n" if out else "")


CHARS_PER_TOKEN_GUESS = 3.0  # signatures are dense; the guess only steers the search, the result is counted


def _prefix_lengths(ranked: Sequence[tuple[str, Definition]], limit: int) -> list[int]:
    """len(render_map(ranked[:k])) for k = 0, 1, …, stopping once it passes `limit` characters.

    Grouping reorders lines but never changes their total length, so lengths add up one entry at a time.
    """
    seen: set[str] = set()
    total, lengths = 0, [0]
    for path, definition in ranked:
        if path not in seen:
            seen.add(path)
            total += len(path) + 2  # "path:" and its newline
        total += len(_signature_line(definition)) + 1
        lengths.append(total)
        if total > limit:
            break
    return lengths


def fit(ranked: Sequence[tuple[str, Definition]], budget: int, count: Callable[[str], int]) -> tuple[str, int]:
    """The rendered map of the longest prefix of `ranked` that fits `budget` tokens, and that prefix's length.

    Prefix lengths in characters are computed once; the search runs on a characters-per-token ratio,
    recalibrated from each exact count, so fitting costs two or three renders and token counts.
    """
    lengths = _prefix_lengths(ranked, int(budget * CHARS_PER_TOKEN_GUESS * 3))
    ratio = CHARS_PER_TOKEN_GUESS
    text, used = "", 0
    for _ in range(3):  # guess, count, recalibrate
        used = bisect.bisect_right(lengths, budget * ratio) - 1
        text = render_map(ranked[:used])
        tokens = count(text)
        if tokens <= budget and (used == len(lengths) - 1 or tokens >= budget * 0.95):
            return text, used
        ratio = len(text) / max(tokens, 1) * (0.98 if tokens > budget else 1.0)
    while used and count(text) > budget:
        used = int(used * 0.95)
        text = render_map(ranked[:used])
    return text, used
