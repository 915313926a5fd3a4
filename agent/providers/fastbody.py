"""Request bodies whose big strings are JSON-encoded once per session, not once per turn.

A packed repository is a system message of up to four million characters, the same in every request of a
session (it is the byte-stable prefix providers cache). The SDK encodes the whole body to JSON on every call,
about 0.1 s for such a string. Here each large string is encoded once and spliced into the encoding of the
rest of the body: the bytes sent are exactly those the SDK would have sent.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

import openai
from openai._base_client import _merge_mappings
from openai._utils._json import openapi_dumps

LARGE = 64 * 1024  # strings at least this long are worth remembering
KEEP = 4  # encodings remembered (a system prompt or two per model)


class EncodedStrings:
    """Encodings of large strings, keyed by the string object itself (held, so its id stays unique)."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[int, int], tuple[str, bytes]] = OrderedDict()
        self._marker = f"duet-splice-{uuid.uuid4().hex}-"

    def encoded(self, text: str) -> bytes:
        key = (id(text), len(text))
        hit = self._cache.get(key)
        if hit is not None and hit[0] is text:
            self._cache.move_to_end(key)
            return hit[1]
        value = openapi_dumps(text)
        self._cache[key] = (text, value)
        while len(self._cache) > KEEP:
            self._cache.popitem(last=False)
        return value

    def dumps(self, body: Any) -> bytes:
        """`openapi_dumps(body)`, byte for byte, with large strings taken from the cache."""
        found: list[str] = []
        skeleton = self._replace(body, found)
        if not found:
            return openapi_dumps(body)
        out = openapi_dumps(skeleton)
        for i, text in enumerate(found):
            head, _, tail = out.partition(f'"{self._marker}{i}"'.encode())
            out = head + self.encoded(text) + tail
        return out

    def _replace(self, value: Any, found: list[str]) -> Any:
        if isinstance(value, str):
            if len(value) >= LARGE:
                found.append(value)
                return f"{self._marker}{len(found) - 1}"
            return value
        if isinstance(value, dict):
            return {k: self._replace(v, found) for k, v in value.items()}
        if isinstance(value, list):
            return [self._replace(v, found) for v in value]
        return value


class CachedBodyClient(openai.AsyncOpenAI):
    """The SDK client, with request bodies encoded through `EncodedStrings`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._strings = EncodedStrings()

    def _build_request(self, options: Any, *, retries_taken: int = 0) -> Any:
        data = options.json_data
        if isinstance(data, dict) and not options.files:
            if options.extra_json is not None:  # merged here as the SDK would (it cannot merge into bytes)
                data = _merge_mappings(data, options.extra_json)
            options = options.model_copy(update={"json_data": self._strings.dumps(data), "extra_json": None})
        return super()._build_request(options, retries_taken=retries_taken)
