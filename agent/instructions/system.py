"""The system prompt: Duet's instructions and the project's AGENTS.md files, then the session's facts.

Rendered once per session from `SessionFacts`, so the cache prefix stays byte-stable turn after turn. The
part that does not depend on the session (instructions, AGENTS.md) comes first and the session's facts (date,
git state, approval, sandbox) last, after the repository context: so the packed repository, by far the
largest part, is a prefix the provider's cache can serve across sessions, not only across turns. The loop
redacts both parts (secret values) before they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.instructions.facts import GitFacts, SandboxFacts, SessionFacts
from prompts import render


def _git_section(git: GitFacts) -> str:
    if git.branch is None:
        return render("system_git_none")
    if not git.dirty:
        dirty = " none (clean working tree)"
    else:
        more = f"\n  … and {git.dirty_total - len(git.dirty)} more" if git.dirty_total > len(git.dirty) else ""
        dirty = "\n" + "\n".join(f"  {line}" for line in git.dirty) + more
    return render("system_git", branch=git.branch, dirty=dirty)


def _sandbox_section(sandbox: SandboxFacts) -> str:
    if sandbox.mechanism == "none":
        return render("system_sandbox_none")
    roots = ", ".join(sandbox.writable_roots) or "none"
    network = "allowed" if sandbox.network else "blocked"
    protected = ", ".join(sandbox.read_only) or "none"
    return render("system_sandbox", mechanism=sandbox.mechanism, writable=roots, network=network,
                  read_only=protected)


@dataclass(frozen=True)
class SystemPrompt:
    """A session's system prompt in its two parts, around the repository context."""

    stable: str
    """Duet's instructions and the project's AGENTS.md: the same in every session of this repository."""
    session: str
    """The facts of this session: environment, permissions, git state."""

    def text(self, repository: str = "") -> str:
        """The whole system message: the stable part, the repository (pack or map), the session's facts."""
        return self.stable + repository + "\n\n" + self.session


def system_prompt(facts: SessionFacts, project_instructions: str = "") -> SystemPrompt:
    """The system prompt for a session."""
    approval = render(f"system_approval_{facts.approval.replace('-', '_')}")
    stable = render("system") + ("\n\n" + project_instructions if project_instructions else "")
    session = render("system_session", os_name=facts.os_name, shell=facts.shell, date=facts.date,
                     workspace=facts.workspace, cwd=facts.cwd, approval_mode=facts.approval, approval=approval,
                     sandbox=_sandbox_section(facts.sandbox), git=_git_section(facts.git))
    return SystemPrompt(stable=stable, session=session)
