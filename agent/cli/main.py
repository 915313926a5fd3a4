"""`agent`: the command-line entry point. Imports stay light here so `--help` answers at once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agent import __version__
from agent.cli.argtypes import positive_float, positive_int
from agent.cli.mcp import add_mcp_parser
from agent.outcome import BROKEN_PIPE_EXIT

EXIT_CODES_HELP = """exit codes:
  0    done (for fix-tests: the tests pass)
  1    not done (tests still failing, or the model gave up)
  2    usage or configuration error (bad flag, bad config, missing API key)
  3    budget exhausted (--max-cost)
  4    turn or time limit (--max-turns, --timeout)
  5    model provider unavailable after retries and fallback
  130  interrupted (Ctrl+C)
  141  output pipe closed by the reader (e.g. piped into head)
"""
WORKSPACE_HELP = "repository to work in (default: the git root of the current directory)"


def _add_session_options(p: argparse.ArgumentParser) -> None:
    """The settings of a session, the same for the TUI (`agent [PROMPT]`) and headless runs."""
    p.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)
    p.add_argument("--model", help="pin every step to this model (e.g. deepseek-v4-flash, gpt-5.5)")
    p.add_argument("--route", metavar="NAME", help="routing profile: cheap, balanced, duet, best, auto or a "
                   "[routes.NAME] of your config (default: balanced)")
    p.add_argument("--approval", choices=["read-only", "ask", "auto-edit", "full-auto"],
                   help="which tool calls need approval; headless runs refuse what would need asking")
    p.add_argument("--max-cost", type=positive_float, metavar="USD", help="budget in dollars for this run")
    p.add_argument("--image", action="append", default=[], metavar="PATH",
                   help="attach an image (a screenshot, a mock-up); may be repeated")
    p.add_argument("--sandbox", choices=["on", "off"],
                   help="confine the model's commands (default on; off runs them with your permissions)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    _add_session_options(p)
    p.add_argument("--max-turns", type=positive_int, metavar="N", help="most model calls in this run")
    p.add_argument("--timeout", type=positive_float, metavar="SECONDS", help="wall-clock limit for this run")
    p.add_argument("--output", choices=["text", "json", "stream-json"], default="text",
                   help="text (default), json (one summary at the end), stream-json (one event per line)")
    p.add_argument("--commit", action="store_true", help="commit Duet's changes when the run succeeds")
    p.add_argument("--network", action="store_true", default=None,
                   help="let the model's commands use the network (default: off)")
    p.add_argument("--routing", type=Path, metavar="FILE", help="the routing policy --route auto follows "
                   "(default: the trusted project's .duet/routing.toml, else your own)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="the task's kind for --route auto (else one cheap classification call decides)")
    p.add_argument("--no-fallback", dest="fallback", action="store_false", default=None,
                   help="when a model stays unavailable, end the run (exit 5) instead of moving to another")
    p.add_argument("--no-mcp", dest="mcp", action="store_false", default=None,
                   help="start none of the configured MCP servers (agent eval's runs, unless the suite opts in)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        line = f"{self.prog}: {message} (see `{self.prog} --help`)"
        sys.stderr.write(line + "\n")
        raise UsageExit(line)


class UsageExit(SystemExit):
    """A usage error already reported on stderr; exit code 2. Carries the line for JSON modes."""

    def __init__(self, line: str) -> None:
        super().__init__(2)
        self.line = line


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="agent",
        usage="agent [options] [PROMPT]  |  agent COMMAND ...",
        description="Duet: a coding agent that routes each step to DeepSeek V4 or GPT-5.5 and shows what "
                    "each model costs. `agent` opens the TUI (given a PROMPT, it starts on it); the options "
                    "below set the TUI's session. Try `agent demo` (no API key needed).",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"duet {__version__}")
    _add_session_options(parser)  # `agent [PROMPT] [options]` opens the TUI with these settings
    parser.set_defaults(prompt=None, max_turns=None, timeout=None, network=None)
    # prog given: otherwise argparse prefixes every subcommand's messages with the whole custom usage line
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, prog="agent")

    run = sub.add_parser("run", help="do a task headlessly", epilog=EXIT_CODES_HELP,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("task", help="what to do, or '-' to read it from stdin")
    _add_run_options(run)

    fix = sub.add_parser("fix-tests", help="make the failing tests pass, verified by running them",
                         epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    fix.add_argument("--test-cmd", metavar="CMD", help="test command (default: detected)")
    fix.add_argument("--rounds", type=positive_int, default=3, metavar="N",
                     help="times the model may stop with the tests still failing (default 3)")
    _add_run_options(fix)

    resume = sub.add_parser("resume", help="continue a session: in the TUI, or headlessly given a message")
    resume.add_argument("session", nargs="?",
                        help="session id (default: the latest); with --last, what to say to the model next")
    resume.add_argument("--last", action="store_true", help="the most recent session")
    resume.add_argument("text", nargs="?", metavar="MESSAGE", help="what to say to the model next (as -m)")
    resume.add_argument("-m", "--message", help="what to say to the model next")
    _add_run_options(resume)

    undo = sub.add_parser("undo", help="restore the files a session changed (never later edits unless --force)",
                          epilog="exit codes: 0 all restored; 1 something not restored (listed); 2 no such session",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    undo.add_argument("session", nargs="?", help="session id (default: the latest)")
    undo.add_argument("--last", action="store_true", help="the most recent session")
    undo.add_argument("--force", action="store_true",
                      help="also restore files changed since the session (their diff is shown first)")
    undo.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    context = sub.add_parser("context", help="what goes into the prompt (pack or repo map) and its cost per turn")
    context.add_argument("--model", help="the model to plan for (default: the routed main model)")
    context.add_argument("--explain", action="store_true", help="list every file packed, mapped and skipped, and why")
    context.add_argument("--hint", action="append", metavar="TEXT",
                         help="text naming files in play (a task, a traceback); may be repeated")
    context.add_argument("--exact", action="store_true",
                         help="count DeepSeek V4 tokens with its own tokenizer (default: exact where cached, "
                              "else an upper estimate)")
    context.add_argument("--whole", action="store_true", help="pack the whole workspace, whatever the budget")
    context.add_argument("--out", metavar="FILE", help="also write the context text to FILE")
    context.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    cost = sub.add_parser("cost", help="what past sessions cost, per model and per day, and what routing saved")
    cost.add_argument("--session", metavar="ID", help="one session only")
    cost.add_argument("--since", metavar="DATE", help="sessions from this date on (YYYY-MM-DD)")
    cost.add_argument("--output", choices=["text", "json"], default="text")
    cost.add_argument("--html", metavar="FILE", help="write a self-contained cost dashboard (HTML, no network)")
    cost.add_argument("--all", action="store_true",
                      help="every workspace's sessions (read from the user's state directory), rolled up")
    cost.add_argument("--explain", action="store_true", help="every call with the price row and hours that priced it")
    cost.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    sessions = sub.add_parser("sessions", help="this workspace's sessions: id, started, task, models, spend, outcome")
    sessions.add_argument("--output", choices=["text", "json"], default="text")
    sessions.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    trust = sub.add_parser("trust", help="trust this project's .duet/config.toml (as it is now)")
    trust.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    doctor = sub.add_parser("doctor", help="what protects this machine: sandbox, network, keys, config, trust")
    doctor.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)
    init = sub.add_parser("init", help="propose a starter AGENTS.md from the repository; write it on confirmation")
    init.add_argument("--yes", action="store_true", help="write it without asking")
    init.add_argument("--force", action="store_true", help="replace an existing AGENTS.md")
    init.add_argument("-C", "--workspace", metavar="DIR", help=WORKSPACE_HELP)

    add_mcp_parser(sub, WORKSPACE_HELP)
    from agent.cli.eval import add_eval_parser

    add_eval_parser(sub)
    from agent.cli.review import add_review_parser

    add_review_parser(sub)
    demo = sub.add_parser("demo", help="watch a scripted fix-tests run on a sample repo (no API key needed)")
    demo.add_argument("--output", choices=["text", "json", "stream-json"], default="text")
    demo.add_argument("--keep", action="store_true", help="keep the temporary sample repository")
    return parser


# Top-level options that take a value: their value is not a prompt or a command name.
_VALUE_OPTIONS = {"-C", "--workspace", "--model", "--route", "--approval", "--max-cost", "--image", "--sandbox",
                  "--routing", "--tag"}


def split_prompt(argv: list[str], parser: argparse.ArgumentParser) -> tuple[list[str], str | None]:
    """`agent [options] PROMPT`: the first word that is not an option (or an option's value) is a command
    when it names one (`agent run ...`), otherwise the TUI's first prompt. Returns the rest and the prompt."""
    commands = _command_names(parser)
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest = argv[i + 1:]
            if len(rest) > 1:
                parser.error("give the prompt as one quoted argument: agent \"fix the tests\"")
            return argv[:i], rest[0] if rest else None
        if word.startswith("-") and word != "-":
            i += 2 if word in _VALUE_OPTIONS else 1
            continue
        if word in commands:
            if i > 0:  # `agent --model X run ...`: the command's own options would silently win
                parser.error(f"options go after the command: agent {word} {' '.join(argv[:i])} ...")
            return argv, None
        rest = argv[:i] + argv[i + 1:]
        if any(not w.startswith("-") and not _is_value(rest, j) for j, w in enumerate(rest) if j >= i):
            parser.error("give the prompt as one quoted argument: agent \"fix the tests\"")
        return rest, word
    return argv, None


def _is_value(argv: list[str], index: int) -> bool:
    return index > 0 and argv[index - 1] in _VALUE_OPTIONS


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._subparsers._group_actions  # type: ignore[union-attr]
            for name in getattr(action, "choices", {}) or {}}


def _resume_message(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """`agent resume --last "next step"`: with --last, the positional is the next message, not a session id;
    `agent resume ID "next step"`: the second positional is the message."""
    if args.command != "resume":
        return
    if args.text is not None:
        if args.message:
            parser.error("resume: give the message once (positionally or with -m)")
        if args.last:
            parser.error("resume: with --last, give only the message")
        args.message, args.text = args.text, None
    if not args.last or args.session is None:
        return
    if args.message:
        parser.error("resume: give a session id or --last, not both")
    args.message, args.session = args.session, None


def _usage_error_result(argv: list[str], line: str) -> None:
    """A bad flag in a JSON mode still ends with a result object on stdout (the one-line error is on stderr)."""
    output = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--output"), None)
    output = next((a.split("=", 1)[1] for a in argv if a.startswith("--output=")), output)
    if output not in ("json", "stream-json"):
        return
    from agent.outcome import Outcome
    from agent.result import error_result
    from agent.transcript import new_session_id

    result = error_result(Outcome.CONFIG_ERROR, line, new_session_id())
    print(result.model_dump_json(indent=2 if output == "json" else None))


def _quiet_broken_pipe() -> int:
    """The reader went away (`agent ... | head`): stop quietly, and keep Python from complaining at exit."""
    from agent.cli.headless import silence_stdout

    silence_stdout()
    return BROKEN_PIPE_EXIT


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        rest, prompt = split_prompt(sys.argv[1:] if argv is None else list(argv), parser)
        args = parser.parse_args(rest)
        args.prompt = prompt
        _resume_message(args, parser)
    except UsageExit as exc:
        _usage_error_result(sys.argv[1:] if argv is None else list(argv), exc.line)
        raise
    try:
        if hasattr(args, "workspace"):
            from pathlib import Path

            from agent.workspace import find_workspace

            args.workspace = str(find_workspace(args.workspace, Path.cwd()))
        return _dispatch(args)
    except BrokenPipeError:
        return _quiet_broken_pipe()
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
    if args.command is None or (args.command == "resume" and not args.message and _interactive()):
        if not _interactive():
            if args.prompt is None:
                build_parser().print_help()
                return 0
            from agent.errors import ConfigError

            raise ConfigError("the TUI needs a terminal; for scripts use: agent run \"...\"")
        return _tui(args)
    if args.command in ("run", "fix-tests", "resume"):
        import asyncio  # only the commands that run a loop pay for importing it

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
    if args.command == "sessions":
        from agent.cli.sessions import run_sessions

        return run_sessions(args)
    if args.command == "trust":
        from agent.cli.safety import run_trust

        return run_trust(args)
    if args.command == "doctor":
        from agent.cli.safety import run_doctor

        return run_doctor(args)
    if args.command == "init":
        from agent.cli.init import run_init

        return run_init(args)
    if args.command == "mcp":
        from agent.cli.mcp import run_mcp

        return run_mcp(args)
    if args.command == "eval":
        from agent.cli.eval import run_eval

        return run_eval(args)
    if args.command == "review":
        from agent.cli.review import run_review

        return run_review(args)
    if args.command == "demo":
        import asyncio

        from agent.cli.demo import run_demo

        return asyncio.run(run_demo(args))
    raise AssertionError(args.command)


def _tui(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.cli.headless import config_overrides
    from agent.errors import ConfigError
    from agent.interactive import Launch
    from agent.transcript import find_session
    from agent.workspace import find_workspace, start_dir_in
    from tui.app import run_tui

    cwd = Path.cwd()
    workspace = find_workspace(getattr(args, "workspace", None), cwd)
    if not workspace.is_dir():
        raise ConfigError(f"workspace {workspace} is not a directory (-C)")
    resume = None
    if args.command == "resume":
        resume = find_session(workspace, None if args.last else args.session)
        if resume is None:
            raise ConfigError("no such session" if args.session else "no session to resume in this workspace")
    launch = Launch(prompt=args.prompt, images=tuple(args.image), start_dir=start_dir_in(workspace, cwd))
    return run_tui(workspace, resume, config_overrides(args), launch)


if __name__ == "__main__":
    sys.exit(main())
