"""Reading a reviewer's answer: one JSON object (in the text, fenced or not, or as a tool call's arguments)
with a verdict and findings. Anything else is no verdict."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from agent.events import ReviewFinding
from agent.messages import AssistantMessage

FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
SEVERITIES = {"high", "medium", "low"}


class Verdict(BaseModel):
    verdict: Literal["approve", "request_changes"]
    findings: list[ReviewFinding] = Field(default_factory=list)

    @field_validator("verdict", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        return {"approved": "approve", "changes_requested": "request_changes", "changes": "request_changes",
                "request_change": "request_changes"}.get(text, text)

    @field_validator("findings", mode="before")
    @classmethod
    def _findings(cls, value: Any) -> Any:
        out = []
        for item in value if isinstance(value, list) else []:
            if isinstance(item, str):
                out.append({"message": item})
            elif isinstance(item, dict):
                severity = str(item.get("severity", "medium")).lower()
                out.append({"severity": severity if severity in SEVERITIES else "medium",
                            "file": str(item.get("file") or item.get("path") or ""),
                            "message": str(item.get("message") or item.get("text") or json.dumps(item))})
        return out

    @property
    def approved(self) -> bool:
        return self.verdict == "approve"


def _objects(text: str) -> list[str]:
    """Candidate JSON objects in `text`: fenced blocks, then each balanced {...} from the outside in."""
    found = [m.group(1) for m in FENCE.finditer(text)]
    depth, start = 0, -1
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"' and depth:
            in_string = True
        elif ch == "{":
            depth, start = depth + 1, i if depth == 0 else start
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[start:i + 1])
    return found


def parse_verdict(message: AssistantMessage) -> Verdict | None:
    """The verdict in a reviewer's answer, or None if it holds none."""
    for raw in [*(c.arguments for c in message.tool_calls), *_objects(message.content)]:
        try:
            data = json.loads(raw)
            if isinstance(data, dict) and "verdict" in data:
                return Verdict.model_validate(data)
        except (json.JSONDecodeError, ValidationError):
            continue
    return None
