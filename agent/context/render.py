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


CLASS_KINDS = frozenset({"class", "interface", "struct", "trait", "enum"})
INDENT = "    "


def _lines(definition: Definition, indent: str) -> str:
    """A definition's signature as map lines: decorators first (no number), then its numbered line."""
    *decorators, head = definition.signature.strip().split("\n") or [""]
    out = [f"{'':>6}│{indent}{d}" for d in decorators]
    out.append(f"{definition.line:>6}│{indent}{head}")
    return "\n".join(out) + "\n"


def _group(path: str, definition: Definition) -> tuple[str, str] | None:
    """The class a line belongs under: its own group for a class, its parent's for a method."""
    if definition.kind in CLASS_KINDS and not definition.parent:
        return path, definition.name
    if definition.parent:
        return path, definition.parent
    return None


def _header(path: str, group: tuple[str, str], classes: Mapping[tuple[str, str], Definition]) -> str:
    known = classes.get(group)
    if known is not None:
        return _lines(known, "")
    return f"{'':>6}│{group[1]}:\n"


def render_map(ranked: Sequence[tuple[str, Definition]],
               classes: Mapping[tuple[str, str], Definition] | None = None) -> str:
    """Full signatures grouped by file (files in the order of their best-ranked definition), methods under
    their class, in line order within a file. `classes` gives each (path, class name)'s own definition, so a
    method's class is shown even when the class itself did not rank."""
    classes = classes or {}
    files: dict[str, dict[tuple[str, str] | None, list[Definition]]] = {}
    for path, definition in ranked:
        groups = files.setdefault(path, {})
        group = _group(path, definition)
        members = groups.setdefault(group, [])
        if not (group and definition.kind in CLASS_KINDS and not definition.parent):
            members.append(definition)
    out: list[str] = []
    for path, groups in files.items():
        out.append(f"{path}:\n")
        blocks: list[tuple[int, str]] = []
        for group, members in groups.items():
            if group is None:
                blocks += [(d.line, _lines(d, "")) for d in members]
                continue
            head = classes.get(group)
            start = head.line if head is not None else min((d.line for d in members), default=0)
            body = "".join(_lines(d, INDENT) for d in sorted(members, key=lambda d: d.line))
            blocks.append((start, _header(path, group, classes) + body))
        out += [text for _, text in sorted(blocks, key=lambda b: b[0])]
    return "".join(out)


def class_index(tags: Mapping[str, Sequence[Definition]]) -> dict[tuple[str, str], Definition]:
    """(path, class name) → the class's definition, for headers above methods."""
    return {(p, d.name): d for p, defs in tags.items() for d in defs if d.kind in CLASS_KINDS and not d.parent}


def render_excerpts(data: bytes, parts: Mapping[str, Sequence[Definition]]) -> str:
    """Chosen definitions of a file with their bodies (line-numbered), the rest elided."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    out: list[str] = []
    for path, defs in parts.items():
        out.append(f'<file path="{path}" part="the most relevant definitions">\n')
        for d in sorted(defs, key=lambda d: d.start_line or d.line):
            first = (d.start_line or d.line) - 1
            out.append("⋮\n")
            out += [f"{n + 1:>6}│{lines[n]}\n" for n in range(first, min(d.end_line, len(lines)))]
        out.append("⋮\n</file>\n")
    return "".join(out)


CHARS_PER_TOKEN_GUESS = 3.0  # signatures are dense; the guess only steers the search, the result is counted


def _prefix_lengths(ranked: Sequence[tuple[str, Definition]], limit: int,
                    classes: Mapping[tuple[str, str], Definition] | None = None) -> list[int]:
    """len(render_map(ranked[:k], classes)) for k = 0, 1, …, stopping once it passes `limit` characters.

    Grouping reorders lines but never changes their total length, so lengths add up one entry at a time:
    a file's name counts once, a class header once (with its first member), every other line once.
    """
    classes = classes or {}
    seen_files: set[str] = set()
    seen_groups: set[tuple[str, str]] = set()
    total, lengths = 0, [0]
    for path, definition in ranked:
        if path not in seen_files:
            seen_files.add(path)
            total += len(path) + 2  # "path:" and its newline
        group = _group(path, definition)
        if group is not None and group not in seen_groups:
            seen_groups.add(group)
            total += len(_header(path, group, classes))
        if not (group and definition.kind in CLASS_KINDS and not definition.parent):
            total += len(_lines(definition, INDENT if group else ""))
        lengths.append(total)
        if total > limit:
            break
    return lengths


def fit(ranked: Sequence[tuple[str, Definition]], budget: int, count: Callable[[str], int],
        classes: Mapping[tuple[str, str], Definition] | None = None) -> tuple[str, int]:
    """The rendered map of the longest prefix of `ranked` that fits `budget` tokens, and that prefix's length.

    Prefix lengths in characters are computed once; the search runs on a characters-per-token ratio,
    recalibrated from each exact count, so fitting costs two or three renders and token counts.
    """
    lengths = _prefix_lengths(ranked, int(budget * CHARS_PER_TOKEN_GUESS * 3), classes)
    ratio = CHARS_PER_TOKEN_GUESS
    text, used = "", 0
    for _ in range(3):  # guess, count, recalibrate
        used = bisect.bisect_right(lengths, budget * ratio) - 1
        text = render_map(ranked[:used], classes)
        tokens = count(text)
        if tokens <= budget and (used == len(lengths) - 1 or tokens >= budget * 0.95):
            return text, used
        ratio = len(text) / max(tokens, 1) * (0.98 if tokens > budget else 1.0)
    while used and count(text) > budget:
        used = int(used * 0.95)
        text = render_map(ranked[:used], classes)
    return text, used
