"""`--route auto` for a run: find the policy, tag the task (flag, eval task, or one classification call), resolve
the profile, and hand the session a configuration with that profile, plus what to tell and record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config import Config
from agent.events import Notice, StepRouted, UsageEvent
from agent.routing.choice import RouteChoice, TagSource
from agent.routing.policy import AUTO
from agent.routing.resolve import NO_POLICY_PROFILE, check_profile, choose_tag, find_policy, resolve_route
from agent.spend.usage import UsageRecord

if TYPE_CHECKING:
    from agent.session import Session


@dataclass(frozen=True)
class AutoRoute:
    """The outcome of `auto` for one run: the choice, the notices to emit once, the classification's record."""

    choice: RouteChoice
    notices: tuple[Notice, ...] = ()
    record: UsageRecord | None = field(default=None)
    decision: Notice | None = None

    def record_into(self, session: Session) -> None:
        """Said once, at the start of the session: the notices, the classification step and its cost (on the
        session's ledger, so the result, `agent cost` and the spend panel count it)."""
        for notice in self.notices:
            session.emit(notice)
        if self.record is not None:
            session.emit(StepRouted(kind="classify", model=self.record.model, reason=self.record.reason,
                                    role="classify"))
            spend = session.ledger.add(self.record)
            session.emit(UsageEvent(record=self.record, model_total=spend, session_usd=str(session.ledger.total_usd)))
        if self.decision is not None:
            session.emit(self.decision)


def known_profiles(config: Config) -> set[str]:
    """The profiles this configuration can run: the built-in ones and any it defines (`[routes.NAME]`)."""
    from agent import router

    # Today's built-in table, and the `[routes.NAME]` entries a configuration may carry (read by name only, so
    # this keeps working whichever of the two holds the profiles).
    return {*getattr(router, "PROFILES", {}), *(getattr(config, "routes", None) or {})}


async def route_for_run(config: Config, workspace: Path, *, routing: Path | None, tags: Sequence[str],
                        task: str, environ: Mapping[str, str] | None = None) -> tuple[Config, AutoRoute | None]:
    """The configuration the session runs with (route resolved) and what auto decided; (config, None) when the
    route is not `auto`. ConfigError for an unreadable policy or one naming a profile unknown here."""
    if config.route != AUTO:
        return config, None
    found = find_policy(workspace, routing, environ)
    notices = [Notice(level="warning", message=note) for note in found.notes]
    policy = found.policy
    tag = choose_tag(tags, policy)
    source: TagSource = "flag" if tag is not None else "none"
    record = None
    classify_model = None
    if tag is None and policy is not None and policy.choices() and task.strip():
        from agent.providers.errors import ProviderError
        from agent.routing.classify import CLASSIFY_MODEL, classify
        from agent.runtime import check_keys

        # Nothing is paid for before the run's own keys are known to be there (the classifier's among them).
        # Every profile the classification can lead to, not only the default: a run stopped by a missing key
        # after the call would have paid for a classification no session records.
        for profile in {policy.default or NO_POLICY_PROFILE, *(r.profile for r in policy.tags.values() if r.profile)}:
            if profile in config.routes:
                check_keys(config.model_copy(update={"route": profile}), environ)
        config.api_key_of(CLASSIFY_MODEL, environ)
        try:
            classified = await classify(config, task, policy.choices(), environ)
        except (ProviderError, ValueError) as exc:
            notices.append(Notice(level="warning", message=f"--route auto: the classification call to "
                                                           f"{CLASSIFY_MODEL} failed ({exc}); the policy's default "
                                                           "serves this task"))
        else:
            tag, record, classify_model = classified.tag, classified.record, classified.model
            source = "classified" if tag is not None else "none"
    profile, reason = resolve_route(config, tag, policy)
    check_profile(profile, known_profiles(config), found.path)
    # Without a policy, that is said once (a warning); with one, the decision is an info line.
    decision = (Notice(level="warning", message=reason) if policy is None
                else Notice(level="info", message=f"--route auto: {profile} ({reason})"))
    choice = RouteChoice(profile=profile, reason=reason, tag=tag, tag_source=source,
                         policy=str(found.path) if found.path else None, classify_model=classify_model,
                         classify_usd_exact=str(record.cost_usd) if record is not None else None)
    resolved = config.model_copy(update={"route": profile})
    return resolved, AutoRoute(choice=choice, notices=tuple(notices), record=record, decision=decision)


def task_hint(args: object) -> str:
    """What the classifier reads of a headless command's task (a prompt from stdin is not read twice: the
    classifier then has no text and the policy's default serves)."""
    command = getattr(args, "command", "")
    if command == "run":
        task = getattr(args, "task", None) or ""
        return "" if task == "-" else task
    if command == "fix-tests":
        from prompts import render

        return render("route_classify_fix_tests", test_cmd=getattr(args, "test_cmd", None) or "the project's tests")
    return getattr(args, "message", None) or getattr(args, "text", None) or ""


def route_without_task(config: Config, workspace: Path, environ: Mapping[str, str] | None = None) -> Config:
    """`auto` where there is no task to tag yet (the TUI, `agent context`): the policy's default profile."""
    if config.route != AUTO:
        return config
    found = find_policy(workspace, None, environ)
    profile, _reason = resolve_route(config, None, found.policy)
    check_profile(profile, known_profiles(config), found.path)
    return config.model_copy(update={"route": profile})
