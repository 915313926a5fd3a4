"""The system prompt: Duet's instructions with the session's facts, then the project's AGENTS.md files.

Rendered once per session from `SessionFacts`, so the cache prefix stays byte-stable turn after turn. The
loop redacts the assembled text (secret values) before it is sent.
"""

from __future__ import annotations

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


def system_prompt(facts: SessionFacts, project_instructions: str = "") -> str:
    """The whole system prompt for a session."""
    approval = render(f"system_approval_{facts.approval.replace('-', '_')}")
    text = render("system", os_name=facts.os_name, shell=facts.shell, date=facts.date, workspace=facts.workspace,
                  cwd=facts.cwd, approval_mode=facts.approval, approval=approval,
                  sandbox=_sandbox_section(facts.sandbox), git=_git_section(facts.git))
    return text + ("\n\n" + project_instructions if project_instructions else "")
