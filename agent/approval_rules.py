"""What an "always" answer remembers, and what it lets run later without asking.

A rule is either the exact text of one command (or one tool, for tools other than the shell), or an argv prefix
of a single simple command: `pytest` with any arguments. A prefix rule only ever matches a command that
`simple_argv` reads as one simple command whose words the shell takes literally: no control operators
(`&& || ; | &`, newlines), substitutions (`$(…)`, backticks, `<(…)`), redirections, variables, globs, braces,
tildes, comments or escapes — quoted or not — and no control, format or odd space characters. Anything else
needs its own exact rule, so `git status && rm -rf calc` is never run by a rule made for `git status`.

This is an allowlist reader, not a shell parser: it recognises a small subset that bash reads one way only and
turns everything else away (the user is asked). A full parser (`bashlex`, a GPL port of an old bash grammar)
would have to agree with bash on everything it accepts; this one accepts so little that it cannot disagree.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class ApprovalRequest(Protocol):
    """What a rule looks at in a request (agent.approval.ApprovalRequest): named here, so neither module needs
    the other's (no import cycle)."""

    @property
    def tool(self) -> str: ...

    @property
    def command(self) -> str | None: ...

# Every character the shell may give a meaning to, beyond separating words.
SHELL_SPECIAL = frozenset(";&|<>()$`\\*?[]{}~!#\n\r")
# Programs whose arguments are themselves a program: "with any arguments" would mean "anything at all".
NO_PREFIX = frozenset({
    "sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "python", "python3", "python2", "perl", "ruby", "node",
    "deno", "php", "sudo", "doas", "command", "exec", "nohup", "env", "time", "nice", "ionice", "timeout",
    "xargs", "builtin", "stdbuf", "eval", "source", ".", "coproc", "trap", "alias", "if", "then", "while",
    "until", "for", "case", "function", "select", "[[", "[", "test", "!", "{", "}", "watch", "su", "setsid",
    "chroot", "unshare", "nsenter", "strace", "ltrace", "gdb", "busybox", "find", "parallel", "ssh"})


def _odd(ch: str) -> bool:
    """A character that is invisible, moves text, or is a space the shell does not split on."""
    category = unicodedata.category(ch)
    if ch in " \t":
        return False
    return category[0] == "C" or category in ("Zl", "Zp", "Zs")


def simple_argv(command: str) -> list[str] | None:
    """The argv of `command` when it is one simple command the shell reads literally, else None.

    Words are split at spaces and tabs; single and double quotes only group words (what they may contain is as
    restricted as the rest). The first word is not an assignment (`PATH=. git status`).
    """
    if any(ch in SHELL_SPECIAL or _odd(ch) for ch in command):
        return None
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    for ch in command:
        if quote:
            if ch == quote:
                quote = ""
            else:
                word.append(ch)
        elif ch in "'\"":
            quote, in_word = ch, True
        elif ch in " \t":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        else:
            word.append(ch)
            in_word = True
    if quote:
        return None
    if in_word:
        words.append("".join(word))
    if not words or not words[0] or "=" in words[0]:
        return None
    return words


def _prefix_of(argv: list[str]) -> tuple[str, ...] | None:
    """The program and its subcommand (`git status`, `python -m pytest`, `npm test`), or None when a prefix rule
    would be a blank cheque (shells, interpreters, wrappers)."""
    program = argv[0]
    if len(argv) > 2 and program in ("python", "python3") and argv[1] == "-m":
        return tuple(argv[:3])
    if program in NO_PREFIX or os.path.basename(program) != program:
        return None  # a path (./run, /tmp/git) is only ever approved exactly
    if len(argv) > 1 and not argv[1].startswith("-"):
        return tuple(argv[:2])
    if program == "git":
        return None  # `git -c core.pager=…` runs a program: only `git <subcommand>` may take any arguments
    return (program,)


@dataclass(frozen=True)
class AlwaysRule:
    """One remembered "always": a tool; or an exact shell command; or an argv prefix of a simple command."""

    tool: str
    command: str | None = None
    prefix: tuple[str, ...] | None = None

    def matches(self, request: ApprovalRequest) -> bool:
        if request.tool != self.tool:
            return False
        if self.prefix is not None:
            argv = simple_argv(request.command) if request.command is not None else None
            return argv is not None and tuple(argv[:len(self.prefix)]) == self.prefix
        if self.command is not None:
            return request.command == self.command
        return request.command is None

    @property
    def label(self) -> str:
        """What the rule matches, in words, for the button that makes it."""
        if self.prefix is not None:
            return f"always allow `{' '.join(self.prefix)}` with any arguments"
        if self.command is not None:
            return f"always allow exactly `{self.command}`"
        return f"always allow {self.tool}"


def offered_rules(request: ApprovalRequest) -> list[AlwaysRule]:
    """The rules an "always" answer to `request` may make: the exact one first, then a prefix rule when the
    command is a simple one whose program may safely take any arguments."""
    if request.command is None:
        return [AlwaysRule(request.tool)]
    rules = [AlwaysRule(request.tool, command=request.command)]
    argv = simple_argv(request.command)
    prefix = _prefix_of(argv) if argv is not None else None
    if prefix is not None:
        rules.append(AlwaysRule(request.tool, prefix=prefix))
    return rules


class AlwaysRules:
    """The "always" answers of one session."""

    def __init__(self, rules: Iterable[AlwaysRule] = ()) -> None:
        self._rules: list[AlwaysRule] = list(rules)

    def add(self, rule: AlwaysRule) -> None:
        if rule not in self._rules:
            self._rules.append(rule)

    def allowing(self, request: ApprovalRequest) -> AlwaysRule | None:
        """The rule that lets `request` run without asking, if any."""
        return next((rule for rule in self._rules if rule.matches(request)), None)
