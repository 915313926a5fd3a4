"""`agent run`, `agent fix-tests` and `agent resume`: the agent without a screen, for scripts and CI."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.approval import refuse_headless
from agent.cli.render import make_renderer
from agent.config import Config, load_config
from agent.errors import ConfigError, DuetError
from agent.events import RunFinished
from agent.messages import AssistantMessage
from agent.outcome import Outcome
from agent.runtime import build_agent, check_keys
from agent.session import Session
from agent.summary import RunSummary, TestsSummary, summarize
from agent.testcmd import TestRun, detect_test_command
from agent.transcript import find_session


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "route": args.route, "approval": args.approval, "max_turns": args.max_turns,
            "max_cost": args.max_cost, "timeout_s": args.timeout, "sandbox": sandbox_overrides(args)}


def sandbox_overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """--sandbox and --network, as the `sandbox` config table they override."""
    pairs = (("mode", getattr(args, "sandbox", None)), ("network", getattr(args, "network", None)))
    table = {k: v for k, v in pairs if v is not None}
    return table or None


def read_task(raw: str | None) -> str:
    task = sys.stdin.read() if raw == "-" else (raw or "")
    if not task.strip():
        raise ConfigError("no task given: pass it as an argument, or '-' to read it from stdin")
    return task.strip()


def _tests(run: TestRun | None) -> TestsSummary | None:
    if run is None:
        return None
    return TestsSummary(command=run.command, passed=run.passed, exit_code=run.exit_code, summary=run.summary)


async def run_headless(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run one headless command end to end; returns the exit code."""
    workspace = Path(args.workspace).resolve()
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory")
    config = load_config(workspace, config_overrides(args), environ)
    check_keys(config, environ)  # before anything is written
    renderer = make_renderer(args.output)
    session, task = _open_session(args, workspace, config, renderer)
    try:
        agent, pool = build_agent(session, refuse_headless, environ=environ)
    except BaseException:
        session.close()
        raise
    session.start(args.command, task, resumed=args.command == "resume")
    if args.output == "json":  # the summary comes at the end; safety warnings must not wait for it
        info = session.launcher.info()
        for line in [*config.warnings, *([] if info.active else [info.summary()])]:
            print(f"agent: warning: {line}", file=sys.stderr)
    stopped_by = _stop_on_signals()
    before = after = None
    outcome, message = Outcome.NOT_DONE, ""
    try:
        async with asyncio.timeout(config.timeout_s):
            if args.command == "fix-tests":
                from agent.fixtests import fix_tests

                command = args.test_cmd or detect_test_command(workspace)
                if not command:
                    raise ConfigError("cannot tell how to run this project's tests; pass --test-cmd CMD")
                result = await fix_tests(agent, command, args.rounds)
                outcome, message, before, after = result.outcome, result.message, result.before, result.after
            else:
                from agent.attach import attach_image

                images = tuple([await attach_image(agent, workspace, raw, task) for raw in args.image])
                outcome = await agent.run(task or None, images)
                message = agent.last_error
                if outcome is Outcome.DONE:
                    message = "the model finished"
    except TimeoutError:
        outcome, message = Outcome.TIME_LIMIT, f"time limit of {config.timeout_s:g} s reached"
    except asyncio.CancelledError:
        outcome, message = Outcome.INTERRUPTED, "interrupted"
        if stopped_by:
            message = f"stopped by {signal.Signals(stopped_by[0]).name}"
    finally:
        session.launcher.finish_all()  # no command outlives the run
        await pool.aclose()
    if args.commit and outcome is Outcome.DONE:
        from agent.commit import commit_work

        try:
            sha = commit_work(workspace, f"duet: {(task or args.command).splitlines()[0][:60]}",
                              sorted(session.files_changed))
            message += f"; committed {sha[:10]}" if sha else "; nothing to commit"
        except DuetError as exc:  # the work is done and on disk; only the commit is missing
            outcome, message = Outcome.NOT_DONE, f"{message}; but {exc}"
    summary = summarize(outcome, message, session.id, agent.run_turns, session.files_changed, session.ledger,
                        _tests(before), _tests(after))
    if stopped_by:  # the shell convention: 128 + the signal (143 for SIGTERM, 129 for SIGHUP)
        summary = summary.model_copy(update={"exit_code": 128 + stopped_by[0]})
    _finish(session, renderer, summary)
    return summary.exit_code


def _open_session(args: argparse.Namespace, workspace: Path, config: Config, renderer: Any) -> tuple[Session, str]:
    if args.command == "resume":
        path = find_session(workspace, None if args.last else args.session)
        if path is None:
            raise ConfigError("no such session" if args.session else "no session to resume in this workspace")
        session = Session.resume(workspace, config, path, sink=renderer)
        last = session.messages[-1] if session.messages else None
        if not args.message and (last is None or (isinstance(last, AssistantMessage) and not last.tool_calls)):
            session.close()
            raise ConfigError("that session ended with the model's answer; say what to do next: "
                              "agent resume --last \"next step\"")
        return session, args.message or ""
    task = read_task(args.task) if args.command == "run" else ""
    return Session(workspace, config, sink=renderer), task


def _stop_on_signals() -> list[int]:
    """SIGTERM and SIGHUP cancel the run like Ctrl+C; the list returned receives the signal's number."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            received.append(signum)
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    return received


def _finish(session: Session, renderer: Any, summary: RunSummary) -> None:
    session.emit(RunFinished(outcome=summary.outcome.value, exit_code=summary.exit_code, message=summary.message))
    session.close()
    renderer.finish(summary)
