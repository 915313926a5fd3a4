"""The whole-workspace pack rendered and counted in one pass, and a pack's size without rendering it.

Exporting Django (6,900 files, 36 MB) means redacting and counting every file; each file is decoded once
for both. (Two processes were measured too: on this shared two-core machine they gained nothing and cost
pickling 18 MB back, so it is one pass in this process.) The text is byte for byte `render.render_pack`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from agent.context.render import file_tree
from agent.redact import Redactor
from agent.tokens import count_o200k

Item = tuple[str, "bytes | str"]  # (workspace path, contents or the absolute path to read them from)


def pack_frame_chars(name: str, paths: Sequence[str]) -> int:
    """Characters `render_pack` adds around the files' own text (tree, headers), at most: a file's closing
    newline is counted even when its text ends with one."""
    paths = sorted(paths)
    head = len(f'<repository name="{name}" files="{len(paths)}">') + len("<tree>") + len("</tree>") + 3
    per_file = sum(len(f'<file path="{p}">\n') + 1 + len("</file>") + 1 for p in paths)
    return head + len(file_tree(paths)) + 1 + per_file + len("</repository>") + 1


def _block(path: str, data: bytes, redact: Redactor) -> tuple[str, int]:
    raw = data.decode("utf-8", errors="replace")
    text = redact(raw)
    return f'<file path="{path}">\n{text}{"" if text.endswith(chr(10)) else chr(10)}</file>', count_o200k(raw)


def _blocks(items: list[Item], redact: Redactor) -> list[tuple[str, int]]:
    out = []
    for path, source in items:
        if isinstance(source, str):
            try:
                with open(source, "rb") as handle:
                    source = handle.read()
            except OSError:
                source = b""
        out.append(_block(path, source, redact))
    return out


def render_pack_counted(name: str, files: Mapping[str, bytes], redact: Redactor,
                        on_disk: Callable[[str], str | None] | None = None) -> tuple[str, dict[str, int]]:
    """`render_pack(name, files, redact)` and every file's o200k count."""
    paths = sorted(files)
    items: list[Item] = []
    for path in paths:
        where = on_disk(path) if on_disk is not None else None
        items.append((path, where if where is not None else files[path]))
    results = _blocks(items, redact)
    out = [f'<repository name="{name}" files="{len(paths)}">', "<tree>", file_tree(paths), "</tree>"]
    out += [block for block, _ in results]
    out.append("</repository>")
    return "\n".join(out) + "\n", {p: n for p, (_, n) in zip(paths, results, strict=True)}
