"""Text that can be sent to a provider and stored: Python carries a file name that is not UTF-8 as lone
surrogates, which no JSON encoder of a request will take. Such bytes are shown as `\\xff` instead."""

from __future__ import annotations

from typing import Any


def escaped_bytes(text: str) -> str:
    """`text` that can be sent and stored: undecodable bytes of a file name shown as `\\xff`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if _only_escapes(text) \
            else text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _only_escapes(text: str) -> bool:
    """Are all lone surrogates in `text` Python's escapes of undecodable bytes (U+DC80–U+DCFF)?"""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def escaped_data(value: Any) -> Any:
    """`escaped_bytes` through a tool's structured data (paths in lists and dicts)."""
    if isinstance(value, str):
        return escaped_bytes(value)
    if isinstance(value, dict):
        return {escaped_data(k): escaped_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escaped_data(v) for v in value]
    return value
