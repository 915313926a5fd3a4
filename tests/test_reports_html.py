"""The reports a team lead reads: the cost dashboard rolled up over every workspace (`agent cost --all`), with
each session's task as text, and the eval report's matrix, failures and cost axis. Real `agent` processes and
real files; the pages are parsed, and rendered by headless Chromium when the machine has it."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.eval.report_html import render_html
from agent.eval.report_md import ended, render_markdown
from agent.eval.results import EvalRow
from fixtures.fakeapi import ScriptedUsage, Turn
from tests.e2e import run_agent
from tools.binaries import find_binary

HOSTILE = "<script>alert('owned')</script><img src=x onerror=alert(1)> fix the \"bug\" & ship"
USAGE = ScriptedUsage(prompt_tokens=120_000, cache_hit_tokens=100_000, completion_tokens=3_000)


class Page(HTMLParser):
    """Every element's attributes, and the text of each element with a class, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[str, str]] = []  # (class, text)
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        self.tags.append((tag, named))
        self._open.append(named.get("class", ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1]:
            self.texts.append((self._open[-1], data))

    def having(self, key: str, value: str | None = None) -> list[dict[str, str]]:
        return [a for _, a in self.tags if key in a and (value is None or a[key] == value)]

    def text_of(self, css_class: str) -> list[str]:
        return [text for cls, text in self.texts if cls == css_class]


def record_two_workspaces(tmp_path: Path, fake_api) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A plain directory (its sessions under the user's state directory) and a git repository (its sessions in
    its git directory), each with one real `agent run`."""
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    alpha.mkdir()
    beta.mkdir()
    subprocess.run(["git", "init", "-q", str(beta)], check=True)
    server = fake_api([Turn(content="done", usage=USAGE), Turn(content="done", usage=USAGE)])
    first = run_agent(["run", HOSTILE, "--model", "deepseek-v4-flash"], alpha, server.base_url)
    second = run_agent(["run", "second task", "--model", "deepseek-v4-pro"], beta, server.base_url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    return alpha, beta


def test_cost_all_rolls_up_every_workspace(tmp_path: Path, fake_api) -> None:
    alpha, beta = record_two_workspaces(tmp_path, fake_api)
    assert list((beta / ".git" / "duet" / "sessions").glob("*.jsonl"))  # the git one keeps them in .git
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    one = json.loads(run_agent(["cost", "--output", "json"], alpha).stdout)
    assert one["sessions"] == 1 and one["workspaces"] is None
    rolled = json.loads(run_agent(["cost", "--all", "--output", "json"], elsewhere).stdout)
    assert rolled["sessions"] == 2 and set(rolled["models"]) == {"deepseek-v4-flash", "deepseek-v4-pro"}
    assert {name: (w["sessions"], w["calls"]) for name, w in rolled["workspaces"].items()} == {
        "alpha": (1, 1), "beta": (1, 1)}
    assert sum(Decimal(w["usd"]) for w in rolled["workspaces"].values()) == Decimal(rolled["total_usd"]) > 0
    saved = Decimal(rolled["saved_usd"]) / Decimal(rolled["all_on_reference_usd"]) * 100
    assert abs(rolled["saved_percent"] - float(saved)) < 1e-9 and rolled["saved_percent"] > 50
    text = run_agent(["cost", "--all"], elsewhere).stdout
    assert "Spend per workspace" in text and "alpha" in text and "beta" in text
    assert f"({rolled['saved_percent']:.1f}%)" in text


def test_cost_dashboard_shows_tasks_as_text_and_shares_safely(tmp_path: Path, fake_api) -> None:
    alpha, _beta = record_two_workspaces(tmp_path, fake_api)
    page_path = tmp_path / "cost.html"
    done = run_agent(["cost", "--all", "--html", str(page_path)], alpha)
    assert done.returncode == 0, done.stderr
    html = page_path.read_text()
    page = Page(html)
    # The task is the user's (or a model's) text: it renders as text, never as markup
    assert not [t for t, _ in page.tags if t in ("script", "img", "link", "iframe")]
    assert "<script>" not in html and "&lt;script&gt;alert(" in html
    assert HOSTILE in page.text_of("task") and "second task" in page.text_of("task")
    sessions = {s["data-session"] for s in page.having("class", "session")}
    assert len(sessions) == 2
    # Nothing that dies when the file is shared: no file:// link, no path of this machine's state or workspaces
    assert not page.having("href") and not page.having("src") and "file://" not in html
    assert str(tmp_path) not in html and str(Path.home()) not in html
    assert {w["data-workspace"] for w in page.having("class", "workspace")} == {"alpha", "beta"}
    models = {m["data-model"]: Decimal(m["data-usd"]) for m in page.having("class", "model")}
    assert set(models) == {"deepseek-v4-flash", "deepseek-v4-pro"} and sum(models.values()) == Decimal(
        page.having("id", "total")[0]["data-usd"])
    assert page.having("class", "role")[0]["data-role"] == "execute"
    assert float(page.having("id", "savings")[0]["data-percent"]) > 50


def row(task: str, config: str, passed: bool, usd: str, *, subtype: str = "success", exit_code: int = 0,
        check: int | None = 1) -> EvalRow:
    return EvalRow(task=task, config=config, repeat=1, passed=passed, exit_code=exit_code, subtype=subtype,
                   cost_usd=float(usd), cost_usd_exact=usd, num_turns=2, duration_ms=1000, wall_ms=1100,
                   session_id="s", check_exit_code=0 if passed else check)


def test_a_run_that_did_not_pass_is_tests_still_failing_and_errors_stay_errors() -> None:
    assert ended(row("a", "m", False, "0.01")) == "tests still failing"
    assert ended(row("a", "m", False, "0.01", subtype="error_during_execution", exit_code=1)) == \
        "stopped with tests still failing"
    assert ended(row("a", "m", False, "0.01", subtype="error_during_execution", exit_code=2)) == \
        "error: configuration (exit 2)"
    assert ended(row("a", "m", False, "0.01", subtype="error_during_execution", exit_code=130)) == \
        "error: interrupted (exit 130)"
    assert ended(row("a", "m", False, "0.01", subtype="error_provider", exit_code=5)) == \
        "error: provider unavailable (exit 5)"
    assert ended(row("a", "m", False, "0.01", subtype="error_max_turns", exit_code=4)) == "turn limit (exit 4)"
    report = render_markdown([row("a", "m", False, "0.01"), row("b", "m", True, "0.01")])
    assert "| a | m | 1 | tests still failing | 1 |" in report and "error_during_execution" not in report


def test_the_cost_axis_is_log_scale_so_the_deepseek_models_do_not_share_a_pixel() -> None:
    # Launch-price-like means per run: flash is ~a quarter of pro, and GPT-5.5 ~30x pro.
    rows = [row("t", "deepseek-v4-flash", True, "0.0009"), row("t", "deepseek-v4-pro", True, "0.0036"),
            row("t", "gpt-5.5", True, "0.1100")]
    page = Page(render_html(rows))
    x = {p["data-series"]: float(p["cx"]) for p in page.having("class", "point")}
    assert x["deepseek-v4-pro"] - x["deepseek-v4-flash"] > 60  # a linear axis to $0.12 puts them 9 px apart
    assert x["gpt-5.5"] > x["deepseek-v4-pro"]
    assert set(page.text_of("dot-label")) == {"$0.000900", "$0.0036", "$0.1100"}
    assert "(log scale)" in render_html(rows)


def test_eval_page_escapes_everything_it_did_not_write(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    rows = [EvalRow(task="t1", config=evil, repeat=1, passed=False, exit_code=0, subtype="success",
                    cost_usd=0.01, cost_usd_exact="0.01", num_turns=1, duration_ms=1, wall_ms=1, session_id="s",
                    tags=[f"<b>{evil}</b>"], check_exit_code=1, check_output=evil)]
    html = render_html(rows, tmp_path)
    assert "<script>" not in html and "<b>&lt;" not in html and "&lt;script&gt;" in html
    page = Page(html)
    assert not [t for t, _ in page.tags if t == "script"]
    runs = [a for _, a in page.tags if "run" in a.get("class", "").split()]
    assert [r["data-config"] for r in runs] == [evil]  # the attribute holds the name, as text


def _png_colours(png: bytes) -> int:
    """How many distinct colours an 8-bit RGB(A) PNG holds (enough to tell a drawn page from a blank one)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, kind = 8, b"", 0, 0, 0
    while pos < len(png):
        size, name = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + size]
        if name == b"IHDR":
            width, height, _depth, kind = struct.unpack(">IIBB", body[:10])
        elif name == b"IDAT":
            idat += body
        pos += 12 + size
    raw = zlib.decompress(idat)
    channels = {2: 3, 6: 4}[kind]
    stride = width * channels
    colours: set[bytes] = set()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        if y % 7 == 0:
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, channels * 3))
        previous = line
    return len(colours)


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        corner = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF


def screenshot(chromium: str, page: Path, out: Path, height: int = 2400) -> bytes:
    """A real browser's rendering of `page` (headless Chromium, no network, no GPU)."""
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--hide-scrollbars", f"--window-size=1000,{height}",
                           f"--screenshot={out}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    return out.read_bytes()


@pytest.mark.skipif(find_binary("chromium") is None, reason="no chromium on this machine (apt-get install chromium)")
def test_both_reports_render_in_headless_chromium(tmp_path: Path, fake_api) -> None:
    chromium = find_binary("chromium")
    assert chromium is not None
    alpha, _beta = record_two_workspaces(tmp_path, fake_api)
    cost = tmp_path / "cost.html"
    assert run_agent(["cost", "--all", "--html", str(cost)], alpha).returncode == 0
    (tmp_path / "eval" / "runs").mkdir(parents=True)
    (tmp_path / "eval" / "runs" / "t.deepseek-v4-pro.1.log").write_text("log")
    evald = tmp_path / "eval" / "report.html"
    evald.write_text(render_html([row("t", "deepseek-v4-flash", True, "0.0009"),
                                  row("t", "deepseek-v4-pro", False, "0.0036"),
                                  row("u", "deepseek-v4-pro", True, "0.0040")], tmp_path / "eval"))
    for page in (cost, evald):
        png = screenshot(chromium, page, page.with_suffix(".png"))
        assert _png_colours(png) > 8, page  # drawn: text, bars, dots in several colours, not a blank page
    # The browser ran no script from the task: the page's title is what Duet wrote, and no alert text was drawn
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--dump-dom", cost.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert re.search(r"<td class=\"task\"[^>]*>&lt;script&gt;alert", dom) and "<script>alert" not in dom
