"""Text files as the model sees them and as the disk keeps them: encoding, BOM and line endings.

Pure bytes-to-text: the file tools read the bytes themselves, beneath the workspace's fd (tools.workspace).
The model always works on LF text. A `TextDoc` remembers how the file was stored so that writing the
model's new text back keeps every untouched line byte-exact: its own line ending (CRLF, LF, or a mix),
the file's encoding (UTF-8, or Latin-1 for anything that is not valid UTF-8, which maps every byte to one
character and back) and a byte-order mark. New lines take the file's dominant line ending.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CONTROL = frozenset(range(0, 32)) - {9, 10, 12, 13, 27, 8}
_CONTROL_BYTES = bytes(sorted(_CONTROL))


class NotTextError(ValueError):
    """The bytes are not a text file Duet can show or edit."""


def looks_binary(data: bytes) -> bool:
    """A NUL byte or mostly control characters in the first 8 KB; a non-UTF-8 byte alone is not binary."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 with a BOM: NULs are expected
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))  # counted in C: scans read every file
    return bool(head) and controls / len(head) > 0.3


@dataclass
class TextDoc:
    """One file's text (LF line breaks) plus what is needed to write it back the way it was stored."""

    text: str
    encoding: str = "utf-8"
    bom: bytes = b""
    endings: list[str] = field(default_factory=list)
    """The original ending of each line ('\\r\\n', '\\n' or '' for a last line without one)."""

    @property
    def newline(self) -> str:
        """The file's dominant line ending, given to lines the model adds."""
        crlf = sum(1 for e in self.endings if e == "\r\n")
        lf = sum(1 for e in self.endings if e == "\n")
        return "\r\n" if crlf > lf else "\n"

    @property
    def line_ending_name(self) -> str:
        kinds = {e for e in self.endings if e}
        return "mixed" if len(kinds) > 1 else "CRLF" if kinds == {"\r\n"} else "LF"

    def encode(self, new_text: str) -> bytes:
        """The bytes for `new_text` (LF breaks), keeping untouched lines' endings; UnicodeEncodeError if a
        character cannot be stored in the file's encoding."""
        new_text = new_text.replace("\r\n", "\n")
        old_lines = _split(self.text)
        new_lines = _split(new_text)
        endings = _map_endings(old_lines, self.endings, new_lines, self.newline)
        if new_lines and not new_text.endswith("\n"):
            endings[-1] = ""  # the text ends without a line break, as the model wrote it
        body = "".join(line + end for line, end in zip(new_lines, endings, strict=True))
        return self.bom + body.encode(self.encoding)


def _split(text: str) -> list[str]:
    """Lines without their breaks; a final line break does not make an extra empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _map_endings(old: list[str], old_endings: list[str], new: list[str], newline: str) -> list[str]:
    """Each new line's ending: an unchanged line keeps its own, a new line gets the dominant one."""
    out = [newline] * len(new)
    # Trim the common head and tail first: edits are local, so the matcher only sees the changed middle.
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    for i in range(head):
        out[i] = old_endings[i] or newline
    for k in range(1, tail + 1):
        out[-k] = old_endings[-k] or newline
    mid = difflib.SequenceMatcher(None, old[head:len(old) - tail], new[head:len(new) - tail], autojunk=False)
    for block in mid.get_matching_blocks():
        for j in range(block.size):
            out[head + block.b + j] = old_endings[head + block.a + j] or newline
    return out


def decode(data: bytes) -> TextDoc:
    """The document for a file's bytes; NotTextError for binary data."""
    if looks_binary(data):
        raise NotTextError("binary file")
    bom, encoding = b"", "utf-8"
    for mark, enc in _BOMS:
        if data.startswith(mark):
            bom, encoding = mark, enc
            break
    body = data[len(bom):]
    try:
        raw = body.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise NotTextError(f"not valid {encoding}") from None
        encoding = "latin-1"  # every byte is one character: the file round-trips byte-exact
        raw = body.decode(encoding)
    pieces = raw.split("\n")
    lines: list[str] = []
    endings: list[str] = []
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        if last and piece == "":
            break
        if last:
            lines.append(piece)
            endings.append("")
        elif piece.endswith("\r"):
            lines.append(piece[:-1])
            endings.append("\r\n")
        else:
            lines.append(piece)
            endings.append("\n")
    text = "\n".join(lines) + ("\n" if endings and endings[-1] else "")
    return TextDoc(text=text, encoding=encoding, bom=bom, endings=endings)


def new_doc() -> TextDoc:
    """The document for a file that does not exist yet: UTF-8, LF."""
    return TextDoc(text="")
