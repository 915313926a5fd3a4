"""Reading image files into data URLs, recognised by content."""

from __future__ import annotations

import base64
from pathlib import Path

from tools.base import ToolError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
               (b"GIF89a", "image/gif"))


def image_mime(data: bytes) -> str | None:
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def data_url(path: Path) -> str:
    """The image at `path` as a data: URL, or ToolError if it is not a supported image."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ToolError(f"{path.name} is {size // 1024 // 1024} MB; images over 20 MB are not sent")
    data = path.read_bytes()
    mime = image_mime(data)
    if mime is None:
        raise ToolError(f"{path.name} is not a PNG, JPEG, GIF or WebP image")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
