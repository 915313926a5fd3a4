"""The shapes a secret value takes on its way out: as is, JSON-escaped, URL-encoded, hex, and base64-encoded at
any alignment (a value in the middle of a longer base64 stream, such as `base64 /proc/PID/environ`)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

MIN_FORM_CHARS = 8  # a base64 fragment shorter than this would match by chance


def base64_fragments(value: bytes) -> set[str]:
    """For each of the 3 byte offsets at which `value` can start inside a base64 stream, the characters that
    depend on `value` alone (the first and last may mix in neighbouring bytes, so they are left out)."""
    out: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + value).decode("ascii")
            start = -(-offset * 4 // 3)  # first character made only of the value's bits
            end = (offset + len(value)) * 8 // 6  # characters fully covered by the bytes so far
            fragment = encoded[start:end]
            if len(fragment) >= MIN_FORM_CHARS:
                out.add(fragment)
    return out


def forms_of(value: str) -> set[str]:
    """Every form of `value` to look for."""
    raw = value.encode("utf-8", "surrogateescape")  # the bytes of an undecodable environment value
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
             quote(raw, safe=""), quote_plus(raw, safe="")}
    forms |= base64_fragments(raw)
    hexed = raw.hex()  # `xxd -p`, `od -An -tx1` without spaces, `hexdump -ve '1/1 "%02x"'`
    forms |= {hexed, hexed.upper()}
    return {f for f in forms if len(f) >= min(MIN_FORM_CHARS, len(value))}
