"""read_file's line-number prefix ('     7\\t') must never end up in a file.

read_file shows each line as its number right-aligned in six columns, a tab, then the text. Models
sometimes copy that prefix into an edit. Text whose every non-empty line carries such a prefix, numbered
consecutively, is read_file output: in what to find it is stripped, in what to write it is refused.
"""

from __future__ import annotations

import itertools
import re

from tools.base import ToolError

_PREFIX = re.compile(r"^( *)(\d+)\t")


def _prefix_numbers(lines: list[str]) -> list[int] | None:
    """The consecutive numbers every non-empty line starts with, in read_file's format, else None."""
    numbers: list[int] = []
    for line in lines:
        if not line.strip():
            continue
        m = _PREFIX.match(line)
        if not m or len(m.group(1)) + len(m.group(2)) != max(6, len(m.group(2))):
            return None
        numbers.append(int(m.group(2)))
    if not numbers or any(b != a + 1 for a, b in itertools.pairwise(numbers)):
        return None
    return numbers


def has_line_numbers(text: str) -> bool:
    return _prefix_numbers(text.split("\n")) is not None


def strip_line_numbers(text: str) -> str | None:
    """`text` without read_file's prefixes, or None when it does not carry them."""
    lines = text.split("\n")
    if _prefix_numbers(lines) is None:
        return None
    return "\n".join(_PREFIX.sub("", line, count=1) for line in lines)


def refuse_line_numbers(new_text: str, existing: str, what: str) -> None:
    """ToolError when the text to write carries read_file's prefixes the file did not already have."""
    added = [line for line in new_text.split("\n") if line.strip()]
    if not added or _prefix_numbers(added) is None:
        return
    if any(_PREFIX.match(line) for line in existing.split("\n")):
        return  # the file itself has such lines (a TSV, say): not read_file's prefix
    raise ToolError(f"{what}: every line starts with read_file's line-number prefix ('     1<TAB>'); that "
                    "prefix is not part of the file. Send the text without it.")
