"""Accumulating a streamed answer chunk by chunk (text, reasoning, tool calls by index)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.messages import ToolCall


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAccumulator:
    """Builds one answer from deltas.

    Tool-call deltas are merged by `index`. DeepSeek repeats `id`, `type` and `function.name` in every
    chunk while OpenAI sends them once, so ids and names are taken once and never concatenated;
    only `arguments` are appended.
    """

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str | None = None
    details: dict[int, dict[str, object]] = field(default_factory=dict)

    def add_text(self, text: str) -> None:
        self.content.append(text)

    def add_reasoning(self, text: str) -> None:
        self.reasoning.append(text)

    def add_reasoning_details(self, pieces: list[dict[str, object]]) -> None:
        """OpenRouter's `reasoning_details` pieces, merged by `index`: text fields appended, the rest kept."""
        for n, piece in enumerate(pieces):
            index = piece.get("index")
            key = index if isinstance(index, int) else len(self.details) + n
            merged = self.details.setdefault(key, {})
            for name, value in piece.items():
                old = merged.get(name)
                if name in ("text", "summary", "data") and isinstance(old, str) and isinstance(value, str):
                    merged[name] = old + value
                elif value is not None:
                    merged[name] = value

    def add_tool_delta(self, index: int | None, call_id: str | None, name: str | None,
                       arguments: str | None) -> None:
        key = index if index is not None else len(self.calls)
        call = self.calls.setdefault(key, _PartialCall())
        if call_id and not call.id:
            call.id = call_id
        if name and name != call.name:
            # A repeated full name is ignored; a name streamed in pieces is joined.
            call.name = name if not call.name or name.startswith(call.name) else call.name + name
        if arguments:
            call.arguments.append(arguments)

    def tool_calls(self) -> list[ToolCall]:
        out = []
        for index in sorted(self.calls):
            call = self.calls[index]
            out.append(ToolCall(id=call.id or f"call_{index}", name=call.name, arguments="".join(call.arguments)))
        return out

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_details(self) -> list[dict[str, object]]:
        return [self.details[k] for k in sorted(self.details)]

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)
