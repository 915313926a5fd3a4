"""`agent run`, `agent fix-tests` and `agent resume`: the agent without a screen, for scripts and CI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import stat
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent import __version__
from agent.approval import approval_allowing, refuse_headless
from agent.assembly import SessionSpec, equip, open_session
from agent.cli.render import Renderer, make_renderer
from agent.cli.step_summary import write_step_summary
from agent.cli.watch import RunWatcher
from agent.config import Config, load_config
from agent.errors import ConfigError, DuetError
from agent.events import Event, ModelCallStarted, Notice, RunFinished
from agent.messages import AssistantMessage
from agent.outcome import BROKEN_PIPE_EXIT, EXIT_CODES, Outcome
from agent.result import RunResult, SystemInit, TestsSummary, build_result, error_result
from agent.router import Router
from agent.routing.auto import route_for_run, task_hint
from agent.runtime import check_keys
from agent.session import Session
from agent.stop import RunOutcome
from agent.testcmd import TestRun, detect_test_command
from agent.transcript import StateWriteError, find_session, new_session_id
from agent.workspace import find_workspace, start_dir_in
from tools.effects import Effect
from tools.registry import default_tools


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "route": args.route, "approval": args.approval, "max_turns": args.max_turns,
            "max_cost": args.max_cost, "timeout_s": args.timeout, "sandbox": sandbox_overrides(args),
            "mcp": getattr(args, "mcp", None), "fallback": getattr(args, "fallback", None)}


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
    """Run one headless command end to end; returns the exit code.

    In the JSON modes an error that stops the run before it starts still ends with a result object.
    """
    started = time.monotonic()
    renderer = make_renderer(args.output)
    try:
        return await _run(args, environ, renderer)
    except DuetError as exc:
        outcome = next((o for o, code in EXIT_CODES.items() if code == exc.exit_code), Outcome.CONFIG_ERROR)
        result = error_result(outcome, str(exc), renderer.session_id or new_session_id(),
                              int((time.monotonic() - started) * 1000))
        write_step_summary(result, args.command, environ)
        if args.output == "text":
            raise
        renderer.finish(result)
        print(f"agent: {exc}", file=sys.stderr)
        return exc.exit_code


async def _run(args: argparse.Namespace, environ: Mapping[str, str] | None, renderer: Renderer) -> int:
    cwd = Path.cwd()
    workspace = find_workspace(args.workspace, cwd)
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory (-C)")
    config = load_config(workspace, config_overrides(args), environ)
    test_command = None
    if args.command == "fix-tests":  # checked before anything is paid for (the auto route's classification too)
        test_command = args.test_cmd or detect_test_command(workspace)
        if not test_command:
            raise ConfigError("cannot tell how to run this project's tests; pass --test-cmd CMD")
        if config.approval in ("ask", "read-only"):  # a headless run cannot ask: every edit would be refused
            raise ConfigError(f"fix-tests must edit files and --approval {config.approval} refuses every edit in a "
                              "headless run; rerun with --approval auto-edit (edits) or full-auto (edits and "
                              "commands), or set `approval` in config")
    config, auto = await route_for_run(config, workspace, routing=getattr(args, "routing", None),
                                       tags=getattr(args, "tag", None) or [], task=task_hint(args), environ=environ)
    check_keys(config, environ)  # before anything is written
    watcher = RunWatcher()
    run_task = asyncio.current_task()
    pipe_closed: list[bool] = []  # the reader of our output went away (`agent run … | head -1`)

    def closed_pipe() -> None:
        """Stop like a program killed by SIGPIPE would, but cleanly: commands killed, the closing record
        written to the transcript, exit 141; nothing more is spent for a reader that is gone."""
        if not pipe_closed:
            pipe_closed.append(True)
            silence_stdout()
            if run_task is not None:
                run_task.cancel()

    answers_asked: list[int] = []

    def sink(event: Event) -> None:
        if isinstance(event, ModelCallStarted) and event.role == "execute":
            answers_asked.append(event.call)  # the turns of a run that never returned its outcome
        watcher(event)
        if not pipe_closed:
            try:
                renderer(event)
            except BrokenPipeError:
                closed_pipe()
        if args.output == "json" and isinstance(event, Notice) and event.level != "info":
            # The summary comes at the end and has no room for them: warnings (config, sandbox, MCP) must not
            # wait for it, nor vanish.
            print(f"agent: {event.level}: {event.message}", file=sys.stderr)

    # The limits travel in the config (flags already applied by load_config).
    spec = SessionSpec(workspace, config, start_dir=start_dir_in(workspace, cwd), resume=_resumed(args, workspace),
                       environ=environ)
    session, task = _open_session(args, spec, sink)
    with contextlib.suppress(BrokenPipeError):  # a closed pipe here stops the run at its first step
        renderer.init(SystemInit(session_id=session.id, model=config.model or Router(config).profile.main,
                                 tools=[t.name for t in default_tools()], cwd=str(cwd), workspace=str(workspace),
                                 approval=config.approval, sandbox=session.launcher.info().mechanism,
                                 duet_version=__version__))
    if pipe_closed or _stdout_closed():
        closed_pipe()
    built = equip(session, spec, refuse_headless)
    agent, pool = built.agent, built.pool
    stopped_by = _stop_on_signals()
    before = after = None
    outcome, message = Outcome.NOT_DONE, ""
    runs: tuple[RunOutcome, ...] = ()
    try:
        session.start(args.command, task, resumed=args.command == "resume")
        if auto is not None:
            auto.record_into(session)
        async with asyncio.timeout(config.timeout_s):
            if test_command:
                from agent.fixtests import fix_tests

                fixed = await fix_tests(agent, test_command, args.rounds)
                outcome, message, before, after = fixed.outcome, fixed.message, fixed.before, fixed.after
                runs = fixed.runs
            else:
                from agent.attach import attach_image

                images = tuple([await attach_image(agent, workspace, raw, task) for raw in args.image])
                from agent.duet.run import run_with_roles

                run = await run_with_roles(agent, task or None, images)
                runs, outcome, message = (run,), run.outcome, run.message
                if outcome is Outcome.DONE:
                    message = "the model finished"
    except TimeoutError:
        outcome, message = Outcome.TIME_LIMIT, f"time limit of {config.timeout_s:g} s reached (--timeout)"
    except asyncio.CancelledError:
        outcome, message = Outcome.INTERRUPTED, "interrupted"
        if pipe_closed:
            message = "the output pipe was closed by its reader"
        elif stopped_by:
            message = f"stopped by {signal.Signals(stopped_by[0]).name}"
    except StateWriteError as exc:  # a full disk: the run stops, and still ends with its result (spend included)
        outcome, message = Outcome.CONFIG_ERROR, str(exc)
        if args.output != "text":  # the text renderer ends with this line itself
            print(f"agent: {exc}", file=sys.stderr)
    finally:
        session.launcher.finish_all()  # no command outlives the run
        await pool.aclose()
    refusals = [tool for run in runs for tool in run.refusals]
    outcome, message = _no_silent_success(refusals, agent.tools.refused_effects, config, outcome, message,
                                          verified=test_command is not None)
    if args.commit and outcome is Outcome.DONE:
        from agent.commit import commit_work

        try:
            sha = commit_work(workspace, f"duet: {(task or args.command).splitlines()[0][:60]}",
                              sorted(session.files_changed))
            message += f"; committed {sha[:10]}" if sha else "; nothing to commit"
        except DuetError as exc:  # the work is done and on disk; only the commit is missing
            outcome, message = Outcome.NOT_DONE, f"{message}; but {exc}"
    turns = sum(r.model_calls for r in runs) if runs else len(answers_asked)
    result = build_result(outcome, message, session.id, turns, session.files_changed, session.ledger,
                          watcher.facts(), _tests(before), _tests(after), prices=config.price_table(),
                          route=auto.choice if auto is not None else None)
    if stopped_by:  # the shell convention: 128 + the signal (143 for SIGTERM, 129 for SIGHUP)
        result = result.model_copy(update={"exit_code": 128 + stopped_by[0]})
    if pipe_closed:
        result = result.model_copy(update={"exit_code": BROKEN_PIPE_EXIT})
    _finish(session, renderer, result)
    write_step_summary(result, args.command, environ)
    return result.exit_code


def _no_silent_success(refused: list[str], effects: list[Effect], config: Config, outcome: Outcome, message: str,
                       verified: bool) -> tuple[Outcome, str]:
    """A run whose changes the approval mode refused has not done its job, whatever the model said.

    Only `fix-tests` can prove it is done despite a refusal on the way: the tests pass by our own run.
    """
    if not refused or outcome not in (Outcome.DONE, Outcome.NOT_DONE, Outcome.PERMISSION):
        return outcome, message
    if outcome is Outcome.DONE and verified:
        return outcome, message
    tools = sorted(set(refused))
    needed = approval_allowing(effects)
    count = len(refused)
    what = f"{count} call{'s' if count != 1 else ''} ({', '.join(tools)})"
    prefix = f"{message}: " if message and outcome is not Outcome.DONE else ""
    return Outcome.PERMISSION, (f"{prefix}--approval {config.approval} refused {what}; "
                                f"rerun with --approval {needed} to allow them")


def _resumed(args: argparse.Namespace, workspace: Path) -> Path | None:
    if args.command != "resume":
        return None
    path = find_session(workspace, None if args.last else args.session)
    if path is None:
        raise ConfigError("no such session" if args.session else "no session to resume in this workspace")
    return path


def _open_session(args: argparse.Namespace, spec: SessionSpec, sink: Any) -> tuple[Session, str]:
    session = open_session(spec, sink)
    if spec.resume is not None:
        last = session.messages[-1] if session.messages else None
        if not args.message and (last is None or (isinstance(last, AssistantMessage) and not last.tool_calls)):
            session.close()
            raise ConfigError("that session ended with the model's answer; say what to do next: "
                              "agent resume --last \"next step\"")
        return session, args.message or ""
    return session, read_task(args.task) if args.command == "run" else ""


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


def _finish(session: Session, renderer: Renderer, result: RunResult) -> None:
    session.emit(RunFinished(outcome=result.outcome.value, exit_code=result.exit_code, message=result.message))
    session.close()
    try:
        renderer.finish(result)
    except BrokenPipeError:
        silence_stdout()





def silence_stdout() -> None:
    """Point stdout at /dev/null, so that nothing (Python's own flush at exit included) fails on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _stdout_closed() -> bool:
    """Has the reader already gone (a pipe whose other end is closed)? Writing then fails with EPIPE."""
    import select

    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLERR)
        return any(flags & (select.POLLERR | select.POLLHUP) for _fd, flags in poller.poll(0))
    except (OSError, ValueError):
        return False
