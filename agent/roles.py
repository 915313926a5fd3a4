"""The roles a model call plays in a session. Routing picks a model per role; the ledger, the event stream,
the transcript and the result JSON tag every call with its role, so spend can be split by what it bought."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["plan", "execute", "review", "vision", "summary", "escalate", "overflow", "classify"]

ROLES: tuple[Role, ...] = get_args(Role)
