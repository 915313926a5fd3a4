"""The courtesy denylist: shell commands refused before they run, read with a shell tokenizer.

The OS sandbox is the boundary; this list only spares the user the obvious disasters (and the model a wasted
turn) in every mode, including `--sandbox off`. Commands are split with shlex into simple commands at
`; && || | &` and parentheses, then each is judged by its program and arguments, so quoted text
(`git commit -m "handle reboot"`, `grep "rm -rf /"`) is never mistaken for a command.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from agent.approval_rules import simple_argv

SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "\n", ";;", "|&"}
REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<>"}
WRAPPERS = {"sudo", "doas", "command", "exec", "nohup", "env", "time", "nice", "ionice", "timeout", "xargs",
            "builtin", "stdbuf"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash"}
DOWNLOADERS = {"curl", "wget", "fetch", "aria2c"}
INTERPRETERS = {"python", "python3", "python2", "perl", "ruby", "node", "deno", "php"}
POWER = {"shutdown", "reboot", "halt", "poweroff"}
WRITERS = {"touch", "mkdir", "rmdir", "truncate", "shred", "unlink", "chmod", "chown", "chgrp", "ln", "install"}
TOPLEVEL = re.compile(r"^/[^/]*/?\*?$")  # /, /*, /usr, /etc/
FORK_BOMB = re.compile(r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:")
PROCESS_SUBSTITUTION = re.compile(r"\b(ba|z|da|k)?sh\s+<\(\s*(curl|wget|fetch)\b")
SUBSTITUTED_DOWNLOAD = re.compile(r"(\$\(|`)\s*(curl|wget|fetch)\b")
INLINE_DELETES = re.compile(r"rmtree|os\.remove|os\.unlink|\.unlink\(|os\.rmdir|removedirs|unlinkSync|rmSync|"
                            r"rm_rf|open\([^)]*['\"][wa]|write_text|write_bytes|writeFileSync")
INLINE_OUTSIDE = re.compile(r"['\"](/|~|\.\./|\.\.['\"])|expanduser|Path\.home|environ\[.HOME|getenv\(.HOME|homedir")


def tokenize(command: str) -> list[list[str]] | None:
    """Simple commands (lists of words), or None when the shell text cannot be split (unbalanced quotes)."""
    # A newline ends a command as `;` does: it is punctuation here, not whitespace (else `echo hi⏎rm -rf ~`
    # would read as one `echo`).
    lexer = shlex.shlex(command, posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in SEPARATORS or (set(token) <= set(";&|()\n") and token):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a simple command runs (past env assignments and wrappers like sudo), and its arguments."""
    i = 0
    while i < len(words):
        word = words[i]
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            i += 1
            continue
        name = os.path.basename(word)
        if name in WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 1
            if name == "timeout" and i < len(words):
                i += 1  # the duration
            continue
        return name, words[i + 1:]
    return "", []


def _expand_home(path: str) -> str:
    home = str(Path.home())
    for prefix in ("~", "$HOME", "${HOME}"):
        if path == prefix or path.startswith(prefix + "/"):
            return home + path[len(prefix):]
    return path


class Judge:
    """Judges commands run in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.normpath(str(root.resolve()))

    def outside(self, path: str) -> bool:
        """Does `path` (as the shell would see it from the root) lead outside the workspace and scratch space?"""
        if not path or "$" in path.replace("$HOME", "").replace("${HOME}", ""):
            return False  # unknown variables: the sandbox decides
        full = os.path.normpath(os.path.join(self.root, _expand_home(path)))
        if full == self.root or full.startswith(self.root + "/"):
            return False
        if full in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return False
        home = os.path.normpath(str(Path.home()))
        if full == home or full.startswith(home + "/"):
            return True  # even when HOME lives in /tmp
        scratch = full.startswith(("/tmp/", "/var/tmp/")) or full in ("/tmp", "/var/tmp")
        return not (scratch and not self.root.startswith(("/tmp/", "/var/tmp/")))

    def dangerous(self, command: str) -> str | None:
        if FORK_BOMB.search(command):
            return "is a fork bomb"
        if PROCESS_SUBSTITUTION.search(command):
            return "pipes a download into a shell"
        commands = tokenize(command)
        if commands is None:
            return None
        programs = [_program(words) for words in commands]
        for index, words in enumerate(commands):
            if os.path.basename(words[0]) in ("sudo", "doas"):
                return "runs as root through sudo"
            reason = self._simple(*programs[index], words)
            if reason:
                return reason
        names = [name for name, _ in programs]
        for i, name in enumerate(names):
            runs_it = any(later in SHELLS or later in INTERPRETERS for later in names[i + 1:])
            if name in DOWNLOADERS and runs_it and "|" in command:
                return "pipes a download into a shell"
        return None

    def _simple(self, name: str, args: list[str], words: list[str]) -> str | None:
        for i, word in enumerate(words[:-1]):
            if word in REDIRECTS and self.outside(words[i + 1]):
                return f"writes outside the workspace ({words[i + 1]})"
        args = [a for i, a in enumerate(args) if a not in REDIRECTS and (i == 0 or args[i - 1] not in REDIRECTS)]
        operands = [a for a in args if not a.startswith("-")]
        short = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))
        if name in POWER:
            return "shuts the machine down"
        if name.startswith("mkfs") or (name == "dd" and any(a.startswith("of=/dev/") for a in args)):
            return "formats or overwrites a disk"
        if name in SHELLS and "-c" in args and any(SUBSTITUTED_DOWNLOAD.search(a) for a in args):
            return "runs a downloaded script"
        if name in SHELLS and "-c" in args:
            script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
            return self.dangerous(script)
        if name == "eval":
            return self.dangerous(" ".join(args))
        if name == "rm":
            recursive = "r" in short.lower() or "--recursive" in args
            if recursive and any(TOPLEVEL.match(_expand_home(a)) or _expand_home(a).rstrip("/*") == str(Path.home())
                                 for a in operands):
                return "deletes the root, home or a top-level directory"
            if any(self.outside(a) for a in operands):
                return "deletes outside the workspace"
        if name == "find":
            starts = [a for a in args[:next((i for i, a in enumerate(args) if a.startswith(("-", "(", "!"))),
                                            len(args))]]
            deletes = "-delete" in args or any(a in ("-exec", "-execdir", "-ok") and j + 1 < len(args) and
                                               os.path.basename(args[j + 1]) in ("rm", "shred", "unlink")
                                               for j, a in enumerate(args))
            if deletes and any(self.outside(s) for s in starts):
                return "deletes files outside the workspace (find)"
        recursive = "R" in short or "--recursive" in args
        if name in ("chmod", "chown", "chgrp") and recursive and any(
                TOPLEVEL.match(_expand_home(a)) or self.outside(a) for a in operands[1:]):
            return "changes permissions recursively outside the workspace"
        if name == "git":
            return self._git(args)
        if name in INTERPRETERS:
            code = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-c", "-e", "--eval")), None)
            if code and INLINE_DELETES.search(code) and INLINE_OUTSIDE.search(code):
                return "deletes or writes outside the workspace (inline script)"
        if name == "tee" and any(self.outside(a) for a in operands):
            return f"writes outside the workspace ({next(a for a in operands if self.outside(a))})"
        if name in ("cp", "mv", "rsync", "scp") and len(operands) >= 2:
            target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")),
                          operands[-1])
            if self.outside(target):
                return f"writes outside the workspace ({target})"
        in_place = "i" in short or any(a.startswith("--in-place") for a in args)
        if name == "sed" and in_place and any(self.outside(a) for a in operands[1:]):
            return "edits files outside the workspace (sed -i)"
        if name in WRITERS and any(self.outside(a) for a in operands):
            return f"writes outside the workspace ({next(a for a in operands if self.outside(a))})"
        if name == "dd" and any(a.startswith("of=") and self.outside(a[3:]) for a in args):
            return "writes outside the workspace (dd)"
        return None

    def _git(self, args: list[str]) -> str | None:
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in ("-C", "-c", "--git-dir", "--work-tree") else 1
        if i >= len(args):
            return None
        sub, rest = args[i], args[i + 1:]
        short = "".join(a[1:] for a in rest if a.startswith("-") and not a.startswith("--"))
        if sub == "push":
            refs = [a for a in rest if not a.startswith("-")]
            if ("f" in short or "d" in short or any(a in ("--force", "--mirror", "--delete", "--prune") or
                                                    a.startswith(("--force-with-lease", "--force-if-includes"))
                                                    for a in rest) or any(r.startswith(("+", ":")) for r in refs)):
                return "force-pushes or deletes remote history"
        if sub == "clean" and ("f" in short or "--force" in rest):
            return "deletes untracked files (git clean)"
        if sub == "reset" and "--hard" in rest:
            return "discards uncommitted work (git reset --hard)"
        if sub == "checkout" and ("--" in rest or "." in rest or "f" in short or "--force" in rest):
            return "discards uncommitted changes (git checkout)"
        if sub == "restore" and not any(a in ("--staged", "-S") for a in rest):
            return "discards uncommitted changes (git restore)"
        if sub == "stash" and rest[:1] in (["clear"], ["drop"]):
            return "deletes stashed work (git stash clear/drop)"
        return None


def _allowed_by(pattern: str, command: str) -> bool:
    try:
        return re.fullmatch(pattern, command) is not None
    except re.error:
        return False  # a broken pattern allows nothing (config loading reports what it can)


def dangerous_reason(command: str, root: Path, allowed: list[str]) -> str | None:
    """Why `command` is refused, or None.

    A pattern of `allowed` (config's `allow_commands`) lifts a refusal only for a single simple command that it
    matches whole (`re.fullmatch`): never for a command with control operators, substitutions, redirections,
    variables or globs (see agent.approval_rules.simple_argv), so a rule made for `git push --force origin wip`
    cannot carry `; rm -rf ~` along with it.
    """
    reason = Judge(root).dangerous(command)
    if reason is None:
        return None
    stripped = command.strip(" \t")
    if simple_argv(stripped) is not None and any(_allowed_by(pattern, stripped) for pattern in allowed):
        return None
    return reason
