"""`agent`: the command-line entry point. Imports stay light here so `--help` answers at once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from agent import __version__

EXIT_CODES_HELP = """exit codes:
  0    done (for fix-tests: the tests pass)
  1    not done (tests still failing, or the model gave up)
  2    usage or configuration error (bad flag, bad config, missing API key)
  3    budget exhausted (--max-cost)
  4    turn or time limit (--max-turns, --timeout)
  5    model provider unavailable after retries and fallback
  130  interrupted (Ctrl+C)
"""


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-C", "--workspace", default=".", help="repository to work in (default: current directory)")
    p.add_argument("--model", help="pin every step to this model (e.g. deepseek-v4-flash, gpt-5.5)")
    p.add_argument("--route", choices=["cheap", "balanced", "best"], help="routing profile (default: balanced)")
    p.add_argument("--approval", choices=["read-only", "ask", "auto-edit", "full-auto"],
                   help="which tool calls need approval; headless runs refuse what would need asking")
    p.add_argument("--max-turns", type=int, metavar="N", help="most model calls in this run")
    p.add_argument("--max-cost", type=float, metavar="USD", help="budget in dollars for this run")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="wall-clock limit for this run")
    p.add_argument("--output", choices=["text", "json", "stream-json"], default="text",
                   help="text (default), json (one summary at the end), stream-json (one event per line)")
    p.add_argument("--commit", action="store_true", help="commit Duet's changes when the run succeeds")
    p.add_argument("--image", action="append", default=[], metavar="PATH",
                   help="attach an image (a screenshot, a mock-up); may be repeated")
    p.add_argument("--sandbox", choices=["on", "off"],
                   help="confine the model's commands (default on; off runs them with your permissions)")
    p.add_argument("--network", action="store_true", default=None,
                   help="let the model's commands use the network (default: off)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="agent",
        description="Duet: a coding agent that routes each step to DeepSeek V4 or GPT-5.5 and shows what "
                    "each model costs. Try `agent demo` (no API key needed).",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"duet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="do a task headlessly", epilog=EXIT_CODES_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("task", help="what to do, or '-' to read it from stdin")
    _add_run_options(run)

    fix = sub.add_parser("fix-tests", help="make the failing tests pass, verified by running them",
                         epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    fix.add_argument("--test-cmd", metavar="CMD", help="test command (default: detected)")
    fix.add_argument("--rounds", type=int, default=3, metavar="N",
                     help="times the model may stop with the tests still failing (default 3)")
    _add_run_options(fix)

    resume = sub.add_parser("resume", help="continue a session headlessly")
    resume.add_argument("session", nargs="?", help="session id (default: the latest)")
    resume.add_argument("--last", action="store_true", help="the most recent session")
    resume.add_argument("-m", "--message", help="what to say to the model next")
    _add_run_options(resume)

    undo = sub.add_parser("undo", help="restore the files a session changed")
    undo.add_argument("session", nargs="?", help="session id (default: the latest)")
    undo.add_argument("--last", action="store_true", help="the most recent session")
    undo.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")

    context = sub.add_parser("context", help="what goes into the prompt (pack or repo map) and its cost per turn")
    context.add_argument("--model", help="the model to plan for (default: the routed main model)")
    context.add_argument("--explain", action="store_true", help="list every file packed, mapped and skipped, and why")
    context.add_argument("--hint", action="append", metavar="TEXT",
                         help="text naming files in play (a task, a traceback); may be repeated")
    context.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")

    cost = sub.add_parser("cost", help="what past sessions cost, per model and per day, and what routing saved")
    cost.add_argument("--session", metavar="ID", help="one session only")
    cost.add_argument("--since", metavar="DATE", help="sessions from this date on (YYYY-MM-DD)")
    cost.add_argument("--output", choices=["text", "json"], default="text")
    cost.add_argument("--html", metavar="FILE", help="write a self-contained cost dashboard (HTML, no network)")
    cost.add_argument("--explain", action="store_true", help="every call with the price row and hours that priced it")
    cost.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")

    trust = sub.add_parser("trust", help="trust this project's .duet/config.toml (as it is now)")
    trust.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")

    doctor = sub.add_parser("doctor", help="what protects this machine: sandbox, network, keys, config, trust")
    doctor.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")
    init = sub.add_parser("init", help="propose a starter AGENTS.md from the repository; write it on confirmation")
    init.add_argument("--yes", action="store_true", help="write it without asking")
    init.add_argument("--force", action="store_true", help="replace an existing AGENTS.md")
    init.add_argument("-C", "--workspace", default=".", help="repository (default: current directory)")

    demo = sub.add_parser("demo", help="watch a scripted fix-tests run on a sample repo (no API key needed)")
    demo.add_argument("--output", choices=["text", "json", "stream-json"], default="text")
    demo.add_argument("--keep", action="store_true", help="keep the temporary sample repository")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("agent: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from agent.errors import DuetError

        if isinstance(exc, DuetError):
            print(f"agent: {exc}", file=sys.stderr)
            return exc.exit_code
        if os.environ.get("DUET_DEBUG"):
            raise
        print(f"agent: internal error: {type(exc).__name__}: {exc} (set DUET_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _dispatch(args: argparse.Namespace) -> int:
    import asyncio

    if args.command is None or (args.command == "resume" and not args.message and _interactive()):
        if not _interactive():
            build_parser().print_help()
            return 0
        return _tui(args)
    if args.command in ("run", "fix-tests", "resume"):
        from agent.cli.headless import run_headless

        return asyncio.run(run_headless(args))
    if args.command == "undo":
        from agent.cli.undo import run_undo

        return run_undo(args)
    if args.command == "context":
        from agent.cli.context import run_context

        return run_context(args)
    if args.command == "cost":
        from agent.cli.cost import run_cost

        return run_cost(args)
    if args.command == "trust":
        from agent.cli.safety import run_trust

        return run_trust(args)
    if args.command == "doctor":
        from agent.cli.safety import run_doctor

        return run_doctor(args)
    if args.command == "init":
        from agent.cli.init import run_init

        return run_init(args)
    if args.command == "demo":
        from agent.cli.demo import run_demo

        return asyncio.run(run_demo(args))
    raise AssertionError(args.command)


def _tui(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.errors import ConfigError
    from agent.transcript import find_session
    from tui.app import run_tui

    workspace = Path(getattr(args, "workspace", ".")).resolve()
    resume = None
    if args.command == "resume":
        resume = find_session(workspace, None if args.last else args.session)
        if resume is None:
            raise ConfigError("no session to resume in this workspace")
    return run_tui(workspace, resume)


if __name__ == "__main__":
    sys.exit(main())
