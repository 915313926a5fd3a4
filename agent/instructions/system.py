"""The system prompt: Duet's instructions and the project's AGENTS.md files, then the session's facts.

Rendered once per session from `SessionFacts`, so the cache prefix stays byte-stable turn after turn. The
part that does not depend on the session (instructions, AGENTS.md) comes first and the session's facts (date,
git state, approval, sandbox) last, after the repository context: so the packed repository, by far the
largest part, is a prefix the provider's cache can serve across sessions, not only across turns. The loop
redacts both parts (secret values) before they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from agent.catalog import PromptSet
from agent.config import Approval
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


def parallel_tools() -> list[str]:
    """The built-in tools whose calls of one answer run at the same time (`Tool.parallel_safe`)."""
    from tools.registry import default_tools  # the tools' classes, imported on use

    return [tool.name for tool in default_tools() if tool.parallel_safe]


def _stable(prompt_set: PromptSet, project_instructions: str) -> str:
    names = [f"`{name}`" for name in parallel_tools()]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    text = render("system", editing=render(f"system_set_{prompt_set}"), parallel_tools=listed)
    return text + ("\n\n" + project_instructions if project_instructions else "")


@lru_cache(maxsize=64)
def _session(facts: SessionFacts, approval: Approval) -> str:
    return render("system_session", os_name=facts.os_name, shell=facts.shell, date=facts.date,
                  workspace=facts.workspace, cwd=facts.cwd, approval_mode=approval,
                  approval=render(f"system_approval_{approval.replace('-', '_')}"),
                  sandbox=_sandbox_section(facts.sandbox), git=_git_section(facts.git))


@dataclass(frozen=True)
class SystemPrompt:
    """A session's system prompt in its two parts, around the repository context.

    It keeps the facts it was rendered from, so a different prompt set (`for_set`: each model's own) or the
    approval mode now in force (`with_approval`, after Shift+Tab) is a cheap re-render of one part: the other
    part stays byte-identical, and a repeated call returns the same text from a cache."""

    stable: str
    """Duet's instructions and the project's AGENTS.md: the same in every session of this repository."""
    session: str
    """The facts of this session: environment, permissions, git state."""
    facts: SessionFacts | None = None
    project_instructions: str = ""
    prompt_set: PromptSet = "edit"

    def text(self, repository: str = "") -> str:
        """The whole system message: the stable part, the repository (pack or map), the session's facts."""
        return self.stable + repository + "\n\n" + self.session

    def for_set(self, prompt_set: PromptSet) -> SystemPrompt:
        """This prompt with another model's editing instructions (its `prompt_set`)."""
        if prompt_set == self.prompt_set or self.facts is None:
            return self
        return replace(self, stable=_stable(prompt_set, self.project_instructions), prompt_set=prompt_set)

    def with_approval(self, approval: Approval) -> SystemPrompt:
        """This prompt stating `approval` as the mode in force (only the session part changes)."""
        if self.facts is None or approval == self.facts.approval:
            return self
        facts = replace(self.facts, approval=approval)
        return replace(self, session=_session(facts, approval), facts=facts)


def system_prompt(facts: SessionFacts, project_instructions: str = "", *,
                  prompt_set: PromptSet = "edit") -> SystemPrompt:
    """The system prompt for a session, with the editing instructions of `prompt_set`."""
    return SystemPrompt(stable=_stable(prompt_set, project_instructions), session=_session(facts, facts.approval),
                        facts=facts, project_instructions=project_instructions, prompt_set=prompt_set)
