"""The one cheap call that tags a task for `--route auto` when neither `--tag` nor the eval task gives one:
DeepSeek Flash chooses among the policy's tags (their descriptions as the choices). Its cost is a usage record
with role "classify", added to the session's ledger like any call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from agent.config import Config
from agent.messages import SystemMessage, UserMessage
from agent.spend.prices import utc_now
from agent.spend.usage import UsageRecord, price_usage
from prompts import render

CLASSIFY_MODEL = "deepseek-v4-flash"
CLASSIFY_MAX_OUTPUT = 200
TASK_CHARS = 4000  # what the classifier sees of a long task: enough to tell its kind


@dataclass(frozen=True)
class Classification:
    """The tag chosen (None: the model named none of the choices), its answer, and what the call cost."""

    tag: str | None
    answer: str
    record: UsageRecord | None
    model: str = CLASSIFY_MODEL


def classify_messages(task: str, choices: Mapping[str, str]) -> list[SystemMessage | UserMessage]:
    """The classifier's prompt: the kinds and the task, then the question."""
    lines = "\n".join(f"{name}: {text}" if text else name for name, text in sorted(choices.items()))
    return [SystemMessage(content=render("route_classify", choices=lines, task=task[:TASK_CHARS])),
            UserMessage(content=render("route_classify_question"))]


def parse_choice(answer: str, choices: Mapping[str, str]) -> str | None:
    """The tag the answer names: the whole answer (trimmed, any case, quotes and a full stop dropped), else the
    only tag named in it as a word; None when it names none or several."""
    text = answer.strip().strip("`'\".").strip()
    by_lower = {name.lower(): name for name in choices}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    words = {w.strip("`'\".,:;()").lower() for w in answer.split()}
    named = [name for lower, name in by_lower.items() if lower in words]
    return named[0] if len(named) == 1 else None


async def classify(config: Config, task: str, choices: Mapping[str, str],
                   environ: Mapping[str, str] | None = None, at: dt.datetime | None = None) -> Classification:
    """Ask the classifier; provider errors propagate (agent.providers.errors), the caller decides."""
    from agent.providers.factory import make_provider

    started = at or utc_now()
    client = make_provider(config, CLASSIFY_MODEL, environ=environ)
    try:
        result = await client.complete(classify_messages(task, choices), [], max_output_tokens=CLASSIFY_MAX_OUTPUT)
    finally:
        await client.close()
    answer = result.message.content or ""
    tag = parse_choice(answer, choices)
    record = price_usage(CLASSIFY_MODEL, result.usage, config.price_table(), started, role="classify",
                         reason=f"tags the task for --route auto: {tag or 'no tag'}")
    return Classification(tag=tag, answer=answer, record=record)
