"""Every word a model reads comes from prompts/: each template renders, and the system prompt is snapshotted."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import get_args

import pytest

import prompts
from agent.catalog import PromptSet
from agent.config import Approval
from agent.instructions.agents_md import AgentsFile, agents_section, discover
from agent.instructions.facts import GitFacts, SandboxFacts, SessionFacts, git_facts
from agent.instructions.system import system_prompt
from agent.instructions.toolset import FREEFORM
from agent.runtime import system_prompt as session_system_prompt
from tests.conftest import git
from tools.registry import default_tools

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots" / "system_prompt"
MODES = ("read-only", "ask", "auto-edit", "full-auto")


def rendered_by_code() -> set[str]:
    """Template names the code renders: literal names, plus those built from tool names and approval modes."""
    code = "\n".join(p.read_text(encoding="utf-8") for folder in ("agent", "tools", "tui")
                     for p in (ROOT / folder).rglob("*.py"))
    names = set(re.findall(r'render\(\s*"([a-z_]+)"', code))
    names |= {f"tool_{tool.name}" for tool in default_tools()}
    names |= {f"system_approval_{mode.replace('-', '_')}" for mode in get_args(Approval)}
    names |= {f"system_set_{prompt_set}" for prompt_set in get_args(PromptSet)}
    names |= {f"tool_{name}_{part}" for name in FREEFORM for part in ("freeform", "grammar")}
    return names


@pytest.mark.parametrize("name", prompts.names())
def test_every_template_renders_and_is_used_by_code(name: str) -> None:
    values = {blank: f"<{blank}>" for blank in prompts.blanks(name)}
    text = prompts.render(name, **values)
    assert text.strip() and "{{" not in text and all(v in text for v in values.values())
    assert name in rendered_by_code(), f"no code renders prompts/{name}.md"


def test_every_template_the_code_renders_exists() -> None:
    assert rendered_by_code() <= set(prompts.names())


def test_render_refuses_missing_and_unused_blanks() -> None:
    with pytest.raises(prompts.PromptError, match="missing"):
        prompts.render("fix_tests", command="make test", exit_code=2)
    with pytest.raises(prompts.PromptError, match="unused"):
        prompts.render("vision_system", extra="x")


def fixed_facts(mode: str) -> SessionFacts:
    return SessionFacts(workspace="/home/dev/shop", cwd="/home/dev/shop/api", approval=mode,  # type: ignore[arg-type]
                        os_name="Linux 6.8.0", shell="zsh", date="2026-05-04",
                        git=GitFacts(branch="feature/cart", dirty=(" M api/cart.py", "?? notes.txt"), dirty_total=2),
                        sandbox=SandboxFacts())


@pytest.mark.parametrize("mode", MODES)
def test_system_prompt_snapshot_per_approval_mode(mode: str) -> None:
    agents = agents_section([AgentsFile(".", "Run `make test` before finishing."),
                             AgentsFile("api", "Use type hints everywhere in api/.")])
    text = system_prompt(fixed_facts(mode), agents).text() + "\n"
    snapshot = SNAPSHOTS / f"{mode}.md"
    if os.environ.get("DUET_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert text == snapshot.read_text(encoding="utf-8"), "rerun with DUET_UPDATE_SNAPSHOTS=1 if the change is meant"


def test_system_prompt_states_sandbox_and_clean_or_missing_git() -> None:
    facts = fixed_facts("ask")
    boxed = SessionFacts(**{**facts.__dict__, "git": GitFacts(),
                            "sandbox": SandboxFacts("landlock", ("/home/dev/shop", "/tmp"), network=False)})
    text = system_prompt(boxed).text()
    assert "Sandbox: landlock" in text and "/home/dev/shop, /tmp" in text and "network is blocked" in text
    assert "not a git repository" in text


def test_git_facts_from_a_real_repository(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    (repo / "new.txt").write_text("n\n")
    facts = git_facts(repo)
    assert facts.branch and facts.dirty_total == 2
    assert any("README.md" in line for line in facts.dirty) and any("new.txt" in line for line in facts.dirty)
    git(repo, "checkout", "-q", "-b", "topic")
    assert git_facts(repo).branch == "topic"


def test_agents_md_from_root_down_to_cwd_deeper_last(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("root rule\n")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "AGENTS.md").write_text("pkg rule\n")
    (tmp_path / "pkg" / "sub" / "AGENTS.md").write_text("sub rule\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "AGENTS.md").write_text("not on the path\n")
    found = discover(tmp_path, tmp_path / "pkg" / "sub")
    assert [(f.scope, f.text) for f in found] == [(".", "root rule"), ("pkg", "pkg rule"), ("pkg/sub", "sub rule")]
    assert [f.scope for f in discover(tmp_path, tmp_path)] == ["."]
    text = agents_section(found)
    assert text.index("root rule") < text.index("pkg rule") < text.index("sub rule")
    assert "deeper (later) file wins" in text and "applies to pkg/sub/ and below" in text


def test_agents_md_cap_says_what_it_cut(tmp_path: Path) -> None:
    files = [AgentsFile(".", "r" * 300), AgentsFile("deep", "d" * 100)]
    text = agents_section(files, limit=250)
    assert "d" * 100 in text and "r" * 150 in text and "r" * 151 not in text
    assert "AGENTS.md in . was cut: its last 150 of 300 characters" in text


def test_session_prompt_reads_agents_md_but_never_a_linked_secret(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TOKEN=abc\n")
    (tmp_path / "AGENTS.md").symlink_to(tmp_path / ".env")
    assert "TOKEN" not in session_system_prompt(tmp_path, approval="ask", cwd=tmp_path).text()
    (tmp_path / "AGENTS.md").unlink()
    (tmp_path / "AGENTS.md").write_text("Use pnpm.\n")
    text = session_system_prompt(tmp_path, approval="full-auto", cwd=tmp_path).text()
    assert "Use pnpm." in text and "Approval mode: full-auto" in text
