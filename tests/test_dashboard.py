"""`agent cost --html`: the dashboard rendered from recorded sessions shows exactly the ledgers' figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from agent.spend.ledger import Ledger
from agent.spend.prices import PriceTable
from agent.spend.report import reference_cost
from fixtures.fakeapi import ScriptedUsage, Turn
from tests.e2e import run_agent
from tests.helpers import make_agent, trust_project
from tests.pinned_prices import UNPRICED_MODEL


class Marks(HTMLParser):
    """Every element with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def having(self, key: str, value: str | None = None) -> list[dict[str, str]]:
        return [a for _, a in self.tags if key in a and (value is None or a[key] == value)]


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 30, tzinfo=dt.UTC)


async def record_sessions(repo: Path, fake_api) -> list[Ledger]:  # type: ignore[no-untyped-def]
    """Three real sessions over three days: peak and off-peak DeepSeek, GPT-5.5, and an unpriced model."""
    (repo / ".duet").mkdir(exist_ok=True)
    (repo / ".duet/config.toml").write_text(UNPRICED_MODEL)
    trust_project(repo)  # a new model entry applies only from a trusted project config
    plan = [(at(22, 7), "deepseek-v4-pro", 120_000, 100_000, 3_000), (at(22, 20), "gpt-5.5", 50_000, 40_000, 2_000),
            (at(23, 2), "deepseek-v4-flash", 400_000, 390_000, 9_000),
            (at(24, 21), "deepseek-v4-pro", 80_000, 10_000, 1_000), (at(24, 22), "local-coder", 30_000, 0, 500)]
    ledgers = []
    for day in (22, 23, 24):
        calls = [p for p in plan if p[0].day == day]
        server = fake_api([Turn(content="ok", usage=ScriptedUsage(prompt_tokens=n, cache_hit_tokens=hit,
                                                                  completion_tokens=out))
                           for _, _, n, hit, out in calls])
        agent, pool, _ = make_agent(repo, server.base_url)
        for moment, model, *_ in calls:
            agent.clock = lambda moment=moment: moment
            agent.session.config.model = model
            await agent.run(f"task on {model}")
        await pool.aclose()
        agent.session.transcript.close()
        ledgers.append(agent.session.ledger)
    return ledgers


async def test_dashboard_figures_match_the_ledgers(repo: Path, fake_api, tmp_path: Path) -> None:
    ledgers = await record_sessions(repo, fake_api)
    page = tmp_path / "cost.html"
    result = run_agent(["cost", "--html", str(page)], repo)
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    marks = Marks()
    marks.feed(html)

    # Self-contained and shareable: no scripts, stylesheets or images fetched, and no link into this machine's
    # state directory (a file:// link to a transcript would be dead, and leak a path, on anyone else's machine).
    assert not marks.having("src") and not [t for t, _ in marks.tags if t in ("script", "link", "img")]
    assert not marks.having("href") and "file://" not in html and str(repo) not in html

    records = [r for ledger in ledgers for r in ledger.records]
    spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in records:
        if r.priced:
            spend[(r.day.isoformat(), r.model)] += r.cost_usd
    bars = {(b["data-column"], b["data-series"]): Decimal(b["data-usd"]) for b in marks.having("class", "bar")}
    assert bars == spend and ("2026-11-24", "local-coder") not in bars  # 5 calls, 4 priced bars

    everything = Ledger.of(records)
    shares = {s["data-series"]: (int(s["data-part"]), int(s["data-whole"])) for s in marks.having("class", "share")}
    assert shares == {m: (s.cache_hit_tokens, s.input_tokens) for m, s in everything.by_model().items()}

    total = marks.having("id", "total")[0]
    assert Decimal(total["data-usd"]) == sum((ledger.total_usd for ledger in ledgers), Decimal(0))
    points = [p for p in marks.having("class", "point") if p["data-series"] == "all on gpt-5.5"]
    prices = PriceTable.builtin()
    on_gpt = sum((reference_cost(r, prices) or Decimal(0) for r in records if r.priced), Decimal(0))
    assert Decimal(points[-1]["data-usd"]) == on_gpt and points[-1]["data-column"] == "2026-11-24"

    roles = {r["data-role"]: Decimal(r["data-usd"]) for r in marks.having("class", "role")}
    assert roles == {"execute": everything.total_usd}  # every call drove the conversation (priced ones summed)

    sessions = marks.having("class", "session")
    assert [Decimal(s["data-usd"]) for s in sessions] == sorted((ledger.total_usd for ledger in ledgers), reverse=True)
    assert "Transcripts are not linked" in html

    models = {m["data-model"]: m["data-usd"] for m in marks.having("class", "model")}
    assert {m: Decimal(u) for m, u in models.items() if u} == {m: s.cost_usd for m, s in everything.by_model().items()
                                                              if s.priced}
    assert models["local-coder"] == "" and ">no price<" in html  # unknown, never $0
    savings = marks.having("id", "savings")[0]
    percent = (on_gpt - everything.total_usd) / on_gpt * 100
    assert abs(float(savings["data-percent"]) - float(percent)) < 1e-9 and f"{percent:.1f}%" in html

    assert "No price known for local-coder (30,000 tokens in, 500 out)" in html
    in_force = {p["data-model"] for p in marks.having("class", "price")}
    assert {"deepseek-v4-pro", "deepseek-v4-flash", "gpt-5.5"} <= in_force
    assert "01:00-04:00, 06:00-10:00" in html and "(unconfirmed)" in html


def test_unwritable_dashboard_path_is_one_clear_error(tmp_path: Path) -> None:
    result = run_agent(["cost", "--html", str(tmp_path / "missing" / "cost.html")], tmp_path)
    assert result.returncode == 2 and "cannot write the dashboard" in result.stderr
    assert "Traceback" not in result.stderr
