"""The result of a run: what `--output json` prints, the last line of `--output stream-json`, and what the
text renderer tabulates. Claude Code's result fields (so scripts written for it work), then Duet's own.

Built once, at the end, from the run's outcome, its collected facts (`RunFacts`) and the session's ledger.
To add a field: add it here with a default and a description, and to `agent/result.schema.json`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.events import SCHEMA_VERSION, ReviewFinding
from agent.outcome import EXIT_CODES, Outcome
from agent.routing.choice import RouteChoice
from agent.spend.counterfactual import Counterfactual, counterfactual
from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.rows import ModelSpendRow, spend_rows

Subtype = Literal["success", "error_max_turns", "error_max_budget_usd", "error_timeout", "error_permission",
                  "error_provider", "error_during_execution"]

SUBTYPES: dict[Outcome, Subtype] = {
    Outcome.DONE: "success",
    Outcome.NOT_DONE: "error_during_execution",
    Outcome.PERMISSION: "error_permission",
    Outcome.CONFIG_ERROR: "error_during_execution",
    Outcome.BUDGET: "error_max_budget_usd",
    Outcome.TURN_LIMIT: "error_max_turns",
    Outcome.TIME_LIMIT: "error_timeout",
    Outcome.UNAVAILABLE: "error_provider",
    Outcome.INTERRUPTED: "error_during_execution",
    Outcome.TEST_COMMAND: "error_during_execution",
}


ModelSummary = ModelSpendRow  # one per-model shape for the run result and `agent cost`


class TestsSummary(BaseModel):
    __test__ = False  # not a pytest test class
    command: str
    passed: bool
    exit_code: int
    summary: str


class Usage(BaseModel):
    """Tokens over every model call of the run (Claude Code's names; cache reads are part of the input)."""

    input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


class PermissionDenial(BaseModel):
    """A tool call the approval mode (or the dangerous-command list) refused."""

    tool_name: str
    tool_use_id: str
    tool_input: dict[str, Any] = Field(description="The call's arguments, long values shortened.")
    reason: str


class ReviewSummary(BaseModel):
    """The duet's review of the run's change: the last verdict, its findings, how many reviews it took."""

    model: str
    verdict: Literal["approve", "request_changes", "none", "skipped"]
    findings: list[ReviewFinding] = Field(default_factory=list)
    rounds: int = Field(description="Reviews made (each after the first follows a round of requested changes).")


class CallSummary(BaseModel):
    """One model call of the run: the role it played and why it went to its model."""

    model: str
    role: str
    reason: str = ""
    usd: str = Field(description="Its cost (exact decimal); 0 for an unpriced model.")


class RunFacts(BaseModel):
    """What the run gathered on the way, besides the ledger (filled by `RunWatcher` from the event stream)."""

    result: str = ""
    duration_ms: int = 0
    duration_api_ms: int = 0
    permission_denials: list[PermissionDenial] = Field(default_factory=list)
    review: ReviewSummary | None = None


class RunResult(BaseModel):
    """The one result object of a headless run."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: Literal["result"] = "result"
    subtype: Subtype
    is_error: bool
    result: str = Field(description="The model's final answer text.")
    num_turns: int
    duration_ms: int
    duration_api_ms: int
    total_cost_usd: float = Field(description="Dollars of the priced models only (see unpriced_models).")
    usage: Usage
    session_id: str
    permission_denials: list[PermissionDenial] = Field(default_factory=list)
    # Duet's own
    exit_code: int
    outcome: Outcome
    message: str = Field(description="How the run ended, in one line.")
    models: dict[str, ModelSummary] = Field(default_factory=dict)
    total_usd_exact: str = "0"
    unpriced_models: list[str] = Field(default_factory=list,
                                       description="Models with no price row: their spend is unknown, not 0.")
    files_changed: dict[str, str] = Field(default_factory=dict)
    tests_before: TestsSummary | None = None
    tests_after: TestsSummary | None = None
    counterfactual: Counterfactual = Field(default_factory=Counterfactual, description="What the session cost, "
                                           "the same tokens all on GPT-5.5, and the dollars per role.")
    route_choice: RouteChoice | None = Field(default=None, description="What --route auto chose, and why.")
    review: ReviewSummary | None = Field(default=None, description="The review of the change (duet profile).")
    calls: list[CallSummary] = Field(default_factory=list, description="Every model call: its role and reason.")


def build_result(outcome: Outcome, message: str, session_id: str, turns: int, files: dict[str, str],
                 ledger: Ledger, facts: RunFacts | None = None, tests_before: TestsSummary | None = None,
                 tests_after: TestsSummary | None = None, *, prices: PriceTable | None = None,
                 route: RouteChoice | None = None) -> RunResult:
    facts = facts or RunFacts()
    by_model = sorted(ledger.by_model().items())
    models = spend_rows(ledger.by_model())
    usage = Usage(input_tokens=sum(s.input_tokens for _, s in by_model),
                  cache_read_input_tokens=sum(s.cache_hit_tokens for _, s in by_model),
                  output_tokens=sum(s.output_tokens for _, s in by_model),
                  reasoning_tokens=sum(s.reasoning_tokens for _, s in by_model))
    return RunResult(subtype=SUBTYPES[outcome], is_error=outcome is not Outcome.DONE, result=facts.result,
                     num_turns=turns, duration_ms=facts.duration_ms, duration_api_ms=facts.duration_api_ms,
                     total_cost_usd=round(float(ledger.total_usd), 6), usage=usage, session_id=session_id,
                     permission_denials=facts.permission_denials, exit_code=EXIT_CODES[outcome], outcome=outcome,
                     message=message, models=models, total_usd_exact=str(ledger.total_usd),
                     files_changed=dict(sorted(files.items())), tests_before=tests_before, tests_after=tests_after,
                     unpriced_models=ledger.unpriced_models(), review=facts.review,
                     counterfactual=counterfactual(ledger.records, prices or PriceTable.builtin()),
                     route_choice=route,
                     calls=[CallSummary(model=r.model, role=r.role, reason=r.reason, usd=str(r.cost_usd))
                            for r in ledger.records])


def error_result(outcome: Outcome, message: str, session_id: str, duration_ms: int = 0) -> RunResult:
    """The result of a run that stopped before it started (bad flag, bad config, missing key)."""
    return build_result(outcome, message, session_id, 0, {}, Ledger(), RunFacts(duration_ms=duration_ms))


class SystemInit(BaseModel):
    """The first line of `--output stream-json`: what this run is about to use."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: Literal["system"] = "system"
    subtype: Literal["init"] = "init"
    session_id: str
    model: str = Field(description="The model that drives the conversation at the start (routing may change it).")
    tools: list[str]
    cwd: str = Field(description="The directory the run started in.")
    workspace: str = Field(description="The workspace root (the git root unless -C says otherwise).")
    approval: str
    sandbox: str = Field(description="What confines the commands run for the model: landlock, bwrap, none "
                                     "(unavailable) or off (by configuration).")
    duet_version: str
    schema_version: int = Field(default=SCHEMA_VERSION, description="The event schema of the lines that follow "
                                                                  "(agent/events.py; session.started says it too).")


class StreamLine(BaseModel):
    """Any other line of `--output stream-json`: an event of the stream (agent/events.py), with the session id."""

    model_config = ConfigDict(extra="allow")

    type: str
    session_id: str


def json_schema() -> dict[str, Any]:
    """The JSON Schema of Duet's headless output (kept in agent/result.schema.json; a test keeps them equal)."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema([(m, "serialization") for m in (RunResult, SystemInit, StreamLine)],
                                ref_template="#/$defs/{model}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Duet headless output (--output json and stream-json)",
            "anyOf": [{"$ref": f"#/$defs/{name}"} for name in ("RunResult", "SystemInit", "StreamLine")],
            **top}


if __name__ == "__main__":  # regenerate the schema file: python -m agent.result > agent/result.schema.json
    import json

    print(json.dumps(json_schema(), indent=2))
