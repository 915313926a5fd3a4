"""Every word a model reads comes from prompts/: each template renders, and the system prompt is snapshotted."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import get_args

import pytest

import prompts
from agent.catalog import ModelConfig, PromptSet
from agent.config import Approval, Config, load_config
from agent.errors import ConfigError
from agent.instructions.agents_md import AgentsFile, agents_section, discover
from agent.instructions.facts import GitFacts, SandboxFacts, SessionFacts, git_facts
from agent.instructions.system import system_prompt
from agent.instructions.toolset import FREEFORM, tool_schemas
from agent.runtime import system_prompt as session_system_prompt
from agent.tokens import count_tokens
from tests.conftest import git
from tools.registry import ToolBox, default_tools

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


# --- what the prompt says about the tools and the session ---------------------------------------------------

def model_facing_text(prompt_set: PromptSet = "edit") -> str:
    """Everything a model reads before the conversation: the system prompt and every tool's description."""
    tools = "\n".join(tool.description for tool in default_tools())
    freeform = "\n".join(prompts.render(f"tool_{name}_freeform") for name in FREEFORM)
    return system_prompt(fixed_facts("ask"), prompt_set=prompt_set).text() + "\n" + tools + "\n" + freeform


def test_the_line_number_rule_is_said_once() -> None:
    for prompt_set in get_args(PromptSet):
        text = model_facing_text(prompt_set)
        assert len(re.findall(r"prefix", text)) == 1, "say the read_file prefix rule once, where read_file is"
    assert "prefix is not part of the file" in default_tools()[1].description.split(". ")[0]


def test_parallel_calls_are_named_exactly_as_the_loop_runs_them() -> None:
    line = next(line for line in system_prompt(fixed_facts("ask")).stable.splitlines() if "at the same time" in line)
    named = set(re.findall(r"`([a-z_]+)`", line.split("in one answer")[0]))
    assert named == {tool.name for tool in default_tools() if tool.parallel_safe}
    assert "every other call runs alone" in line and "in parallel" not in model_facing_text()


def test_one_regex_syntax_rust_and_the_prompt_examples_are_valid_for_ripgrep(tmp_path: Path) -> None:
    text = model_facing_text()
    assert "Python syntax" not in text and "Rust" in prompts.render("tool_search")
    schema = next(t for t in default_tools() if t.name == "search").Args.model_json_schema()
    assert "Rust regex syntax" in schema["properties"]["pattern"]["description"]
    from tools.ripgrep import ripgrep

    rg = ripgrep(tmp_path)
    assert rg, "ripgrep is a pinned dependency: it runs every search"
    examples = re.findall(r"`([^`]*\\[^`]*)`", prompts.render("tool_search"))
    assert examples
    (tmp_path / "a.rs").write_text("fn main() {}\nlet x = a.b;\n")
    for pattern in examples:  # exit 0: valid and found; ripgrep exits 2 on a pattern it cannot parse
        done = subprocess.run([rg, "-e", pattern, str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 0, (pattern, done.stderr)


async def test_a_pattern_ripgrep_cannot_parse_comes_back_as_rust_syntax_advice(tmp_path: Path) -> None:
    from tools.base import ToolContext
    from tools.search import SearchTool

    (tmp_path / "a.py").write_text("foo = 1\n")
    box = ToolBox([SearchTool()])
    tool, args = box.parse("search", json.dumps({"pattern": "(?=foo)f"}))
    result = await box.run(tool, args, ToolContext(root=tmp_path))
    text = result.output
    assert not result.ok and "invalid regex (Rust regex syntax" in text and "look-around" in text and "^^^" in text


def test_with_the_sandbox_off_the_prompt_says_commands_can_reach_outside() -> None:
    text = system_prompt(fixed_facts("full-auto")).text()
    assert "nothing outside it can be touched" not in text
    assert "Sandbox: none" in text and "outside the workspace too" in text
    assert "file tools reach nothing outside it" in text


@pytest.mark.parametrize("needle", [
    "answer it and change no file",  # ask vs act
    "Keep going until the task is done and verified",  # persistence
    "run the narrowest check first",  # narrow tests first ...
    "then the project's linter and type checker",  # ... then lint and typecheck
    "`path:line`",  # references
    "the lines of its output that show the result",  # relay key output
    "findings first, most severe first",  # reviews
    "stage the files of this task by name",  # committing when asked
])
def test_what_strong_agents_say_is_said(needle: str) -> None:
    assert needle in system_prompt(fixed_facts("ask")).stable


# --- each model its own prompt and tools -------------------------------------------------------------------

def builtin_config(tmp_path: Path) -> Config:
    return load_config(tmp_path, {}, {"HOME": str(tmp_path / "home")})


def test_each_builtin_model_gets_its_prompt_set_and_tool_order(tmp_path: Path) -> None:
    config = builtin_config(tmp_path)
    box = ToolBox(default_tools())
    deepseek, gpt = config.models["deepseek-v4-pro"], config.models["gpt-5.5"]
    assert (deepseek.prompt_set, gpt.prompt_set) == ("edit", "patch")
    ds_tools = tool_schemas(box, deepseek, config.api_of("deepseek-v4-pro"))
    assert ds_tools[0]["function"]["name"] == "edit_file"  # exact replace first (STYLE.md)
    assert all(t["type"] == "function" for t in ds_tools)
    gpt_tools = tool_schemas(box, gpt, config.api_of("gpt-5.5"))
    patch = gpt_tools[0]
    assert patch["type"] == "custom" and patch["name"] == "apply_patch"
    assert patch["format"] == {"type": "grammar", "syntax": "lark",
                               "definition": prompts.render("tool_apply_patch_grammar")}
    assert "FREEFORM" in patch["description"]
    assert len(gpt_tools) == len(ds_tools) == len(default_tools())
    edit = system_prompt(fixed_facts("ask"), prompt_set="edit").stable
    patch_first = system_prompt(fixed_facts("ask")).for_set("patch").stable
    assert "Change part of a file with `edit_file`" in edit and "Change files with `apply_patch`" in patch_first


def test_freeform_only_on_the_responses_wire_and_the_tool_list_is_config(tmp_path: Path) -> None:
    config = builtin_config(tmp_path)
    box = ToolBox(default_tools())
    on_chat = tool_schemas(box, config.models["gpt-5.5"], "chat")
    assert on_chat[0]["type"] == "function" and on_chat[0]["function"]["name"] == "apply_patch"
    mine = config.models["gpt-5.5"].model_copy(update={"tools": ["read_file", "search"]})
    assert [t["function"]["name"] for t in tool_schemas(box, mine, "responses")] == ["read_file", "search"]
    everything = config.models["gpt-5.5"].model_copy(update={"tools": None, "freeform_apply_patch": False})
    assert [t["function"]["name"] for t in tool_schemas(box, everything, "responses")] == [
        t.name for t in default_tools()]


def test_an_unknown_tool_in_a_model_entry_is_one_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / ".duet").mkdir()
    home = tmp_path / "home" / ".config" / "duet"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[models."gpt-5.5"]\ntools = ["read_file", "grep"]\n')
    with pytest.raises(ConfigError, match=r"unknown built-in tool.*grep"):
        load_config(tmp_path, {}, {"HOME": str(tmp_path / "home")})


def test_small_windows_get_first_sentences_that_still_say_the_rules(tmp_path: Path) -> None:
    small = builtin_config(tmp_path).models["deepseek-v4-flash"].model_copy(update={"context_window": 16_384})
    schemas = {t["function"]["name"]: t["function"]["description"]
               for t in tool_schemas(ToolBox(default_tools()), small, "chat")}
    assert all(text.count(". ") == 0 for text in schemas.values())  # one sentence each
    assert "prefix is not part of the file" in schemas["read_file"]
    assert "copied exactly" in schemas["edit_file"] and "read in this session" in schemas["edit_file"]
    assert "stdin closed" in schemas["shell"] and "Rust regex syntax" in schemas["search"]
    assert "all or nothing" in schemas["apply_patch"]


def test_the_grammar_accepts_the_patches_our_parser_applies() -> None:
    import lark  # a dev dependency

    from tools.patch_format import parse_patch

    # Lark itself refuses zero-width terminals; `/(.+)/?` is the same language as `/(.*)/`.
    grammar = lark.Lark(prompts.render("tool_apply_patch_grammar").replace("/(.*)/", "/(.+)/?"), start="start")
    cases = ROOT / "tests" / "patch_cases"
    core = {"add_file", "delete_file", "move", "multi_file", "multiple_hunks", "end_of_file_marker",
            "anchor_selects_the_place", "pure_addition_appends_at_end", "unicode_content", "deletion_only_hunk"}
    parsed = set()
    for case in sorted(p for p in cases.iterdir() if (p / "expected").is_dir() and not (p / "error").exists()):
        text = (case / "patch").read_text(encoding="utf-8")
        try:
            grammar.parse(text if text.endswith("\n") else text + "\n")
        except lark.exceptions.LarkError:
            continue  # our parser is more lenient than the grammar (heredocs, padding): fine
        parse_patch(text)  # what the grammar lets the model write, we apply
        parsed.add(case.name)
    assert core <= parsed
    # Codex's grammar lets an update have no hunks; our apply_patch refuses one ("has no hunks"), so ours asks
    # for a hunk: constrained sampling then never writes a patch that can only come back as an error.
    no_hunks = (cases / "update_without_hunks_rejected" / "patch").read_text(encoding="utf-8")
    with pytest.raises(lark.exceptions.LarkError):
        grammar.parse(no_hunks if no_hunks.endswith("\n") else no_hunks + "\n")


def test_rendering_follows_the_approval_mode_in_force_and_is_cheap_to_repeat() -> None:
    prompt = system_prompt(fixed_facts("ask"))
    auto = prompt.with_approval("full-auto")
    assert auto.stable is prompt.stable  # the cached prefix does not move
    assert auto.text() == system_prompt(fixed_facts("full-auto")).text()
    assert "Approval mode: full-auto" in auto.session and "Approval mode: ask" not in auto.session
    assert prompt.with_approval("full-auto").session is auto.session  # rendered once, then from the cache
    assert auto.with_approval("ask").text() == prompt.text()


# --- the token budget ----------------------------------------------------------------------------------------

PROMPT_BUDGET_TOKENS = 5_000
"""System prompt (no AGENTS.md, no repository) plus tool schemas, in each model's own tokenizer. Codex sends GPT-5
about 3K tokens of instructions and 1-2K of tool schemas; Claude Code about 3K of instructions and over 10K of tool
descriptions. We measured 3.5K (GPT-5.5, o200k) and 4K (DeepSeek, whose count runs ~12% higher) when this was set:
a Codex-sized budget with ~20% headroom. Every token here is paid on every call (at the cache-hit price, and in
full after each cache miss), so growth past it should be a decision, not drift."""
SMALL_WINDOW_BUDGET_TOKENS = 3_300
"""A 16K-window model with the short tool descriptions (measured 3.0K, most of it the argument schemas): at most a
fifth of the window, leaving 13K for the task, the files read and the answer."""


def budget_facts() -> SessionFacts:
    return SessionFacts(workspace="/home/dev/shop", cwd="/home/dev/shop", approval="ask", os_name="Linux 6.8.0",
                        shell="zsh", date="2026-05-04",
                        git=GitFacts(branch="main", dirty=tuple(f" M src/f{i}.py" for i in range(5)), dirty_total=5),
                        sandbox=SandboxFacts("landlock", ("/home/dev/shop", "/tmp"), network=False,
                                             read_only=("/home/dev/shop/.git",)))


def prompt_and_tools_tokens(config: Config, name: str, spec: ModelConfig) -> int:
    text = system_prompt(budget_facts(), prompt_set=spec.prompt_set).text()
    tools = json.dumps(tool_schemas(ToolBox(default_tools()), spec, config.api_of(name)), ensure_ascii=False)
    return count_tokens(text, spec.tokenizer) + count_tokens(tools, spec.tokenizer)


def test_system_prompt_and_tools_fit_the_budget_for_every_builtin_model(tmp_path: Path) -> None:
    config = builtin_config(tmp_path)
    spent = {name: prompt_and_tools_tokens(config, name, spec) for name, spec in config.models.items()}
    assert set(spent) >= {"deepseek-v4-flash", "deepseek-v4-pro", "gpt-5.5", "gpt-5.5-pro"}
    over = {name: n for name, n in spent.items() if n > PROMPT_BUDGET_TOKENS}
    assert not over, f"over the {PROMPT_BUDGET_TOKENS:,}-token budget: {over}"
    small = config.models["deepseek-v4-flash"].model_copy(update={"context_window": 16_384})
    assert prompt_and_tools_tokens(config, "deepseek-v4-flash", small) <= SMALL_WINDOW_BUDGET_TOKENS
