"""Whole-process speed of `agent context` as behaviour: what a warm run does not load, what caches survive,
one plan per run, search output in ripgrep's path order; and the sharper map (signatures, classes, budgets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import load_config
from agent.context.plan import ContextBuilder
from agent.context.sealed import CacheFiles, workspace_cache_dir
from agent.context.tokencount import TokenCounter
from agent.tokens import count_deepseek, count_o200k, o200k_counter
from tests.conftest import git

# A subprocess runs `agent context` in-process and reports which heavy modules that run imported.
PROBE = """
import json, sys
from agent.cli.main import main
code = main(sys.argv[1:])
from agent.tokens import o200k_counter, deepseek_tokenizer
print(json.dumps({"code": code, "modules": sorted(m for m in ("bpe_openai", "bpe_openai._bindings", "tokenizers",
    "tree_sitter", "numpy") if m in sys.modules), "o200k_loaded": o200k_counter.cache_info().currsize,
    "deepseek_loaded": deepseek_tokenizer.cache_info().currsize}), file=sys.stderr)
"""


def probe(root: Path, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, "context", "-C", str(root), *args], capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, HOME=str(root.parent / "probe-home")))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


def config(root: Path, **overrides: object):
    return load_config(root, overrides, {"HOME": str(root / ".home")})


@pytest.fixture
def shop(repo: Path) -> Path:
    """A small project with classes, decorated methods and annotated signatures."""
    (repo / "shop").mkdir()
    (repo / "shop/billing.py").write_text(
        "import functools\n\n\nclass Invoice:\n    \"\"\"An invoice.\"\"\"\n\n"
        "    def __init__(self, lines: list[int], tax_rate: float = 0.2) -> None:\n        self.lines = lines\n\n"
        "    @functools.cached_property\n    def total_with_tax(self) -> float:\n"
        "        return sum_lines(self.lines) * (1 + 0.2)\n\n"
        "    def add_line(\n        self,\n        amount: int,\n        *,\n"
        "        note: str = \"\",\n    ) -> None:\n"
        "        self.lines.append(amount)\n\n\n"
        "def sum_lines(lines: list[int]) -> int:\n    return sum(lines)\n")
    (repo / "shop/views.py").write_text("from shop.billing import Invoice, sum_lines\n\n\n"
                                        "def show_invoice(request):\n    return Invoice([1]).total_with_tax\n")
    git(repo, "add", "shop")
    git(repo, "commit", "-qm", "shop")
    return repo


def test_native_o200k_counts_equal_the_wrapper() -> None:
    import bpe_openai

    wrapper = bpe_openai.get_encoding("o200k_base")
    texts = ["hello world", "def f(x):\n    return x  # ünïcode 中文\n", "<|endoftext|> is plain text here",
             "x" * 10_000, Path(__file__).read_text() * 3]
    for text in texts:
        assert count_o200k(text) == len(wrapper.encode_ordinary(text))
    assert o200k_counter.cache_info().currsize == 1


def test_a_warm_run_loads_no_tokenizer_and_a_pack_run_no_parser(shop: Path) -> None:
    cold = probe(shop, "--model", "gpt-5.5")
    assert cold["code"] == 0 and cold["o200k_loaded"] == 1  # the cold map counted its text and files
    warm = probe(shop, "--model", "gpt-5.5")
    assert warm["o200k_loaded"] == 0 and warm["deepseek_loaded"] == 0
    assert not {"bpe_openai", "bpe_openai._bindings", "tokenizers"} & set(warm["modules"])
    # the default model packs this workspace: one plan, so no map (no parser, no numpy) for the cost table
    packed = probe(shop)
    assert "tree_sitter" not in packed["modules"] and "numpy" not in packed["modules"]
    assert "bpe_openai" not in packed["modules"]  # the package's __init__ decodes three vocabularies: never run
    again = probe(shop)
    assert again["o200k_loaded"] == 0 and again["deepseek_loaded"] == 0


def test_counts_are_cached_by_content_a_touch_keeps_them_an_edit_does_not(shop: Path) -> None:
    cfg = config(shop)
    first = ContextBuilder(shop, cfg)
    first.plan("deepseek-v4-pro", exact=True)
    first.wait()
    assert first.counter.counted > 0
    target = shop / "shop/views.py"
    os.utime(target, (1_000_000_000, 1_000_000_000))  # touched: new mtime, same content
    touched = ContextBuilder(shop, cfg)
    plan = touched.plan("deepseek-v4-pro", exact=True)
    touched.wait()
    assert touched.counter.counted == 0 and plan.kind == "pack" and plan.exact
    target.write_text(target.read_text() + "# edited\n")
    edited = ContextBuilder(shop, cfg)
    edited.plan("deepseek-v4-pro", exact=True)
    assert edited.counter.counted == 1  # the edited file, in DeepSeek's own tokens
    exact = count_deepseek(target.read_text())
    assert exact is not None and edited.counter.deepseek(edited.scan.files, edited.scan.digests,
                                                         ["shop/views.py"]) == {"shop/views.py": exact}


def test_deepseek_counts_without_exact_are_upper_estimates_and_exact_when_cached(shop: Path) -> None:
    scan_builder = ContextBuilder(shop, config(shop), cache=False)
    scan = scan_builder.scan
    counter = TokenCounter()
    estimated = counter.count(scan.files, "deepseek-v4", scan.digests, exact=False)
    exact = counter.count(scan.files, "deepseek-v4", scan.digests, exact=True)
    assert all(estimated[p] >= exact[p] for p in exact)
    assert counter.count(scan.files, "deepseek-v4", scan.digests, exact=False) == exact


def test_the_map_shows_full_signatures_with_methods_under_their_class(shop: Path) -> None:
    plan = ContextBuilder(shop, config(shop, context={"map_files_tokens": 0}), cache=False).plan("gpt-5.5")
    assert plan.kind == "map"
    text = plan.text
    assert "│class Invoice:" in text
    assert "│    def __init__(self, lines: list[int], tax_rate: float = 0.2) -> None:" in text
    assert "│    @functools.cached_property\n" in text
    assert "│    def total_with_tax(self) -> float:" in text
    assert "│    def add_line(self, amount: int, *, note: str = \"\") -> None:" in text
    assert "│def sum_lines(lines: list[int]) -> int:" in text
    # methods come after their class line, in line order
    assert text.index("class Invoice:") < text.index("def __init__") < text.index("def add_line")


@pytest.mark.parametrize(("model", "tokenizer_count"), [("gpt-5.5", count_o200k), ("deepseek-v4-pro", None)])
def test_the_map_never_exceeds_the_budget_in_the_models_own_tokens(shop: Path, model: str, tokenizer_count) -> None:
    for i in range(30):
        (shop / f"shop/mod_{i}.py").write_text("".join(
            f"class Thing{i}_{j}:\n    def method_{j}(self, alpha: int, beta: str = 'b') -> dict:\n"
            f"        return {{'v': Invoice_{j}}}\n\n" for j in range(30)))
    cfg = config(shop, context={"map_tokens": 600, "map_files_tokens": 900, "max_uncached_turn_usd": 0.00001})
    plan = ContextBuilder(shop, cfg, cache=False).plan(model, ["shop/billing.py is wrong"], exact=True)
    assert plan.kind == "map" and plan.exact
    counted = tokenizer_count(plan.text) if tokenizer_count else count_deepseek(plan.text)
    assert counted is not None and counted <= plan.budget == 1500
    assert plan.tokens == counted  # the figure shown is the model's own count of exactly this text


def test_a_large_relevant_file_gives_its_definitions_not_an_unrelated_whole_file(shop: Path) -> None:
    big = "".join(f"def helper_{i}(value: int) -> int:\n" + "    value += 1\n" * 40 + "    return value\n\n"
                  for i in range(60))
    (shop / "zzz_unrelated.py").write_text("print('unrelated')\n")
    git(shop, "add", "-A")
    git(shop, "commit", "-qm", "unrelated")
    (shop / "shop/billing.py").write_text((shop / "shop/billing.py").read_text() + big)
    git(shop, "commit", "-qam", "big")  # the last commit touches billing.py only: the one file in play
    cfg = config(shop, context={"map_tokens": 800, "map_files_tokens": 1200})
    plan = ContextBuilder(shop, cfg, cache=False).plan("gpt-5.5", ["sum_lines in shop/billing.py fails"])
    assert '<file path="shop/billing.py" part="the most relevant definitions">' in plan.text
    assert "zzz_unrelated.py" not in plan.packed
    assert plan.tokens <= plan.budget


def test_an_unchanged_workspace_reuses_its_map_and_an_edit_rebuilds_it(shop: Path) -> None:
    cfg = config(shop)
    first = ContextBuilder(shop, cfg)
    plan = first.plan("gpt-5.5")
    first.wait()
    again = ContextBuilder(shop, cfg)
    assert again.plan("gpt-5.5").text == plan.text
    assert again._tags is None  # nothing was parsed or even loaded
    (shop / "shop/views.py").write_text("def show_receipt(request, receipt_id: int) -> str:\n    return ''\n")
    edited = ContextBuilder(shop, cfg)
    assert "show_receipt(request, receipt_id: int) -> str" in edited.plan("gpt-5.5").text


@pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep is not installed")
async def test_search_output_is_in_ripgreps_path_order(tmp_path: Path) -> None:
    from tools.base import ToolContext
    from tools.search import SearchArgs, SearchTool

    for name in ("a-b.py", "a/b.py", "a/c/d.py", "a.b.py", "A.py", "b.py", "a/b-c.py", "z/y/x.py", "ä.py"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def get_{i}():\n    pass\n" for i in range(3)))
    ctx = ToolContext(root=tmp_path)
    result = await SearchTool().run(SearchArgs(pattern=r"def get_"), ctx)
    sorted_rg = subprocess.run(["rg", "--no-require-git", "--sort=path", "--color=never", "--with-filename",
                                "--line-number", "--no-heading", "-e", "def get_", "--", "."], cwd=tmp_path,
                               capture_output=True, text=True).stdout
    expected = "\n".join(f"{line.removeprefix('./').split(':', 2)[0]}:{line.split(':', 2)[1]}: "
                         f"{line.split(':', 2)[2]}" for line in sorted_rg.splitlines())
    assert result.output == expected
    assert result.data["hits"] == 27


def test_large_strings_are_encoded_once_and_bodies_stay_byte_identical() -> None:
    from openai._utils._json import openapi_dumps

    from agent.providers.fastbody import LARGE, EncodedStrings

    pack = "<file path=\"ü.py\">\n" + "def f(x):\n    return \"é\\u2028\" + x  # 中文\n" * (LARGE // 20) + "</file>"
    body = {"model": "m", "messages": [{"role": "system", "content": pack}, {"role": "user", "content": "hi"},
                                       {"role": "user", "content": [{"type": "text", "text": pack}]}],
            "stream": True, "temperature": 0.5, "stop": None}
    strings = EncodedStrings()
    assert strings.dumps(body) == openapi_dumps(body)
    first = strings.encoded(pack)
    assert strings.encoded(pack) is first  # the same string object: not encoded again
    assert strings.dumps(body) == openapi_dumps(body)
    small = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert strings.dumps(small) == openapi_dumps(small)


async def test_a_pack_larger_than_its_characters_suggest_stays_in_the_prompt(repo: Path, fake_api) -> None:
    """A pack's characters / 3 exceed the window while its real tokens fit: it is sent, not dropped."""
    from fixtures.fakeapi import Turn
    from tests.helpers import make_agent

    text = "".join(f"value_{i} = compute_total(alpha={i}, beta='{i}')\n" for i in range(3000))
    (repo / "big.py").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "big")
    chars = len(text)
    tokens = count_o200k(text)
    window = (chars // 3 + tokens) // 2 + 40_000  # between the real count and the character guess
    assert tokens + 40_000 < window < chars // 3 + 40_000
    server = fake_api([Turn(content="done")])
    overrides = {"models": {"deepseek-v4-flash": {"context_window": window}},
                 "context": {"pack_min_window": 1_000, "reserve_tokens": 1_000}}
    agent, pool, _ = make_agent(repo, server.base_url, model="deepseek-v4-flash", **overrides)
    await agent.run("look")
    await pool.aclose()
    assert '<file path="big.py">' in server.requests[0]["messages"][0]["content"]


def test_python_definitions_read_lexically_match_the_parser() -> None:
    from tools.pysymbols import python_definitions
    from tools.symbols import definitions

    source = (b"import x\n\n\n@decorate(name='a (b)')\n@other\nclass Shop(Base, metaclass=Meta):\n"
              b"    \"\"\"def not_a_def(): inside a docstring line that does not start the line\"\"\"\n\n"
              b"    def __init__(self, items: list[str] = (), *, label: str = \"(x)\",  # a comment\n"
              b"                 other=None) -> None:\n"
              b"        def helper(y):\n            return y\n        self.items = items\n\n"
              b"    @property\n    async def total(self) -> int:\n        return 1\n\n\n"
              b"def top_level(a, b={'k': (1, 2)}) -> dict[str, int]:\n    return {}\n")
    lexical = python_definitions(source)
    parsed = definitions(source, "python")
    assert [(d.name, d.parent, d.line, d.start_line, d.end_line) for d in lexical] == [
        (d.name, d.parent, d.line, d.start_line, d.end_line) for d in parsed]
    by_name = {d.name: d for d in lexical}
    assert by_name["Shop"].signature == "@decorate(name='a (b)')\n@other\nclass Shop(Base, metaclass=Meta):"
    assert by_name["__init__"].signature == ("def __init__(self, items: list[str] = (), *, label: str = \"(x)\", "
                                             "other=None) -> None:")
    assert by_name["total"].signature == "@property\nasync def total(self) -> int:"
    assert by_name["top_level"].signature == "def top_level(a, b={'k': (1, 2)}) -> dict[str, int]:"
    assert "helper" not in by_name  # a helper inside a function is not part of the interface


def test_a_secret_pattern_added_later_hides_a_file_already_indexed(shop: Path) -> None:
    (shop / "shop/vault.data").write_text("token = 1\n")
    os.utime(shop / "shop/vault.data", (1_000_000_000, 1_000_000_000))  # old enough to be indexed
    first = ContextBuilder(shop, config(shop))
    assert "shop/vault.data" in first.scan.files
    assert "shop/vault.data" in CacheFiles.for_workspace(shop).index.load()[2]  # type: ignore[union-attr,index]
    stricter = ContextBuilder(shop, config(shop, secret_files=["*.data"]))
    assert "shop/vault.data" not in stricter.scan.files
    assert ("shop/vault.data", "secret file (never sent)") in {(s.path, s.reason) for s in stricter.scan.skipped}


EXPORT_SCRIPT = """
import os, sys, time
from pathlib import Path
from agent.context import forkwork, packrender
from agent.context.render import render_pack
from agent.redact import Redactor
from agent.tokens import count_o200k

packrender.FORK_ABOVE_BYTES = 0  # fork even for this small tree
tmp, mode = Path(sys.argv[1]), sys.argv[2]
files = {f"pkg/m_{i:04}.py": (f"SECRET_TOKEN = 'sk-live-{i:024d}'\\n" if i % 97 == 0 else "")
         .encode() + f"def f_{i}(x):\\n    return 'é' * {i}".encode() + (b"\\n" if i % 2 else b"")
         for i in range(450)}
sizes = {p: len(d) for p, d in files.items()}
redactor, parent = Redactor(), os.getpid()

def redact(text):
    (tmp / f"pid-{os.getpid()}").touch()
    time.sleep(0.002)  # slow enough that both processes get chunks to do
    if mode == "child dies" and os.getpid() != parent:
        os._exit(3)  # the child dies half-way, as if killed
    if mode == "fails":
        raise RuntimeError("disk full")
    return redactor(text)

out = tmp / "pack.xml"
beside = lambda: [p for p in tmp.iterdir() if "pack.xml" in p.name and p != out]  # temporary files left
assert forkwork.can_fork()
if mode == "fails":
    out.write_text("the user's old export\\n")
    try:
        packrender.export_pack("proj", files, sizes, redact, out)
    except RuntimeError:
        pass
    assert out.read_text() == "the user's old export\\n" and not beside()
    raise SystemExit(0)
counts = packrender.export_pack("proj", files, sizes, redact, out, fork=mode != "one process")
text = out.read_text(encoding="utf-8")
assert text == render_pack("proj", files, redactor)
assert "sk-live-" not in text and not beside()
assert counts == {p: count_o200k(d.decode()) for p, d in files.items()}
assert packrender.export_pack("proj", files, sizes, redact, None) == counts  # counting only
frame = len(text) - sum(len(redactor(d.decode())) for d in files.values())
assert frame <= packrender.pack_frame_chars("proj", list(files)) <= frame + len(files)
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: the export never forks")
@pytest.mark.parametrize("mode,processes", [("forked", 2), ("one process", 1), ("child dies", 2), ("fails", None)])
def test_the_export_writes_the_pack_whole_or_not_at_all(tmp_path: Path, mode: str, processes: int | None) -> None:
    """Streamed to the file, in two processes (a forked child does the second half) or one: the bytes of
    `render_pack` and every file's o200k count. A child that dies leaves its half to the parent; a failed
    export leaves the user's old file as it was. (In a fresh interpreter: forking needs a single thread.)"""
    done = subprocess.run([sys.executable, "-c", EXPORT_SCRIPT, str(tmp_path), mode], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert processes is None or len(list(tmp_path.glob("pid-*"))) == processes  # (the failing one kills its child)


def test_a_pack_is_sized_without_rendering_and_rendered_when_read(shop: Path) -> None:
    plan = ContextBuilder(shop, config(shop), cache=False).plan("deepseek-v4-pro")
    assert plan.kind == "pack" and plan.rendered is None  # `agent context` never needs the text
    assert '<file path="shop/billing.py">' in plan.text and plan.rendered is not None
    assert plan.tokens >= count_o200k(plan.text)  # o200k × 1.12 plus a generous frame: an upper bound


def test_a_one_file_change_writes_a_small_delta_not_the_whole_names_cache(shop: Path) -> None:
    cfg = config(shop)
    first = ContextBuilder(shop, cfg)
    first.plan("gpt-5.5")
    first.wait()
    base = workspace_cache_dir(shop) / "tags.bin"  # type: ignore[operator]
    before = base.read_bytes()
    (shop / "shop/views.py").write_text("def show_receipt(request, receipt_id: int) -> str:\n    return ''\n")
    edited = ContextBuilder(shop, cfg)
    edited.plan("gpt-5.5")
    edited.wait()
    assert edited.tags.parsed == 1
    assert base.read_bytes() == before and base.with_suffix(".delta").is_file()
    again = ContextBuilder(shop, cfg)
    assert "show_receipt(request, receipt_id: int) -> str" in again.plan("gpt-5.5", ["receipt"]).text
    assert again.tags.parsed == 0 and again.tags.parsed_defs == 0  # base and delta together: nothing re-read
