"""Python definitions without a parser: the same records tree-sitter gives (full signature, decorators,
class, last line), read lexically in a fraction of the time.

The map's most relevant files are a repository's biggest (Django's `query.py`, `fields/__init__.py`):
tree-sitter takes 10–20 ms each, this a millisecond. Brackets, strings and comments inside a signature
are followed exactly; a `def` line inside a multi-line string would be taken for code (tree-sitter knows
better), and a body's last line is judged by indentation.
"""

from __future__ import annotations

import bisect
import re

from tools.symbols import MAX_SIGNATURE, Definition

DEF_LINE = re.compile(r"^([ \t]*)(async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
OPENERS, CLOSERS = "([{", ")]}"


def _header_end(text: str, start: int) -> int:
    """Index just past the colon that ends the header starting at `start` (-1 if there is none)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            end = text.find(quote, i + len(quote))
            while end > 0 and len(quote) == 1 and text[end - 1] == "\\" and text[end - 2] != "\\":
                end = text.find(quote, end + 1)
            if end < 0:
                return -1
            i = end + len(quote)
            continue
        if c == "#":
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if c in OPENERS:
            depth += 1
        elif c in CLOSERS:
            depth -= 1
        elif c == ":" and depth == 0:
            return i + 1
        elif c == "\n" and depth == 0 and text[i - 1] != "\\":
            return -1  # a header ends on its line unless brackets continue it
        i += 1
    return -1


def _fold(header: str) -> str:
    """One line: comments dropped, whitespace folded, no space inside brackets or before a trailing comma."""
    lines = [re.sub(r"[ \t]+#.*$|^#.*$", "", line).strip() for line in header.splitlines()]
    text = " ".join(line for line in lines if line)
    return text.replace("( ", "(").replace(" )", ")").replace(", )", ")").replace(",)", ")") \
        .replace("[ ", "[").replace(" ]", "]")


def python_definitions(source: bytes) -> list[Definition]:
    """Classes and functions (methods with their class), nested helpers inside functions left out."""
    text = source.decode("utf-8", errors="replace")
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    lines = text.split("\n")
    found: list[Definition] = []
    stack: list[tuple[int, str, str]] = []  # (indent, "class" | "def", name) of the enclosing definitions
    for match in DEF_LINE.finditer(text):
        indent, keyword, name = len(match.group(1)), match.group(2), match.group(3)
        row = bisect.bisect_right(starts, match.start()) - 1
        end = _header_end(text, match.end())
        if end < 0:
            continue  # not a definition after all (a `def` inside a string, or a syntax error)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        inside_function = any(kind == "def" for _, kind, _ in stack)
        parent = next((n for _, kind, n in reversed(stack) if kind == "class"), "") if stack else ""
        stack.append((indent, "class" if keyword == "class" else "def", name))
        if inside_function:
            continue
        first = row
        while first > 0 and lines[first - 1].strip().startswith("@") and \
                len(lines[first - 1]) - len(lines[first - 1].lstrip()) == indent:
            first -= 1
        decorators = [lines[r].strip() for r in range(first, row)]
        signature = "\n".join([*decorators, _fold(text[match.start() + indent:end])])[:MAX_SIGNATURE]
        header_row = bisect.bisect_right(starts, end - 1) - 1
        found.append(Definition(name=name, kind="class" if keyword == "class" else "function", line=row + 1,
                                signature=signature, end_line=_last_line(lines, header_row, indent) + 1,
                                parent=parent, start_line=first + 1))
    return found


def _last_line(lines: list[str], header_row: int, indent: int) -> int:
    """The body's last line: before the next non-blank line indented no deeper than the definition."""
    last = header_row
    for r in range(header_row + 1, len(lines)):
        line = lines[r]
        stripped = line.lstrip()
        if not stripped:
            continue
        if len(line) - len(stripped) <= indent and not stripped.startswith((")", "]", "}")):
            break
        last = r
    return last
