"""The decision: pack the whole workspace for the long-context model, or build a ranked repo map."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from agent.config import Config
from agent.context.inplay import files_named_in, names_mentioned, recently_changed
from agent.context.rank import build_graph, pagerank, personalization_for, rank_definitions
from agent.context.render import fit, render_pack
from agent.context.scan import Scan, Skipped, scan_workspace
from agent.context.tags import TagCache
from agent.context.tokencount import TokenCounter
from agent.redact import Redactor
from agent.tokens import DEEPSEEK_OVER_O200K, count_o200k
from agent.transcript import duet_dir
from agent.window import repo_budget

PACK_OVERHEAD = 1.02  # tree and file headers on top of the files themselves
FILE_HEADER_TOKENS = 12  # <file path="..."> ... </file> around each whole file
MIN_MAP_TOKENS = 128  # below this a map says too little to be worth its tokens


@dataclass
class ContextPlan:
    kind: Literal["pack", "map", "none"]
    model: str
    text: str
    tokens: int
    workspace_tokens: int
    budget: int
    packed: list[str] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    in_play: list[str] = field(default_factory=list)
    workspace_estimated: bool = False  # the map needs no full count: cached counts plus bytes / 4


def pack_budget(config: Config, model: str) -> int:
    """Tokens the pack may take for `model`: window less the reserve, capped by the cost of one uncached turn."""
    spec = config.model_spec(model)
    ctx = config.context
    if spec.context_window < ctx.pack_min_window:
        return 0
    room = spec.context_window - ctx.reserve_tokens
    price = config.price_table().price_for(model)
    if price is None or price.input == 0:
        return max(room, 0)
    affordable = int(Decimal(str(ctx.max_uncached_turn_usd)) / price.input * 1_000_000)
    return max(min(room, affordable), 0)


def map_budgets(config: Config, model: str) -> tuple[int, int]:
    """(map signatures, whole files) token budgets for `model`: the configured ones, scaled down to the
    repository's share of the model's own window."""
    ctx = config.context
    wanted = ctx.map_tokens + ctx.map_files_tokens
    room = repo_budget(config.model_spec(model))
    if room >= wanted:
        return ctx.map_tokens, ctx.map_files_tokens
    if room < MIN_MAP_TOKENS:
        return 0, 0
    map_tokens = max(MIN_MAP_TOKENS, room * ctx.map_tokens // wanted)
    return map_tokens, max(room - map_tokens, 0)


class ContextBuilder:
    """Scans once, counts and tags with on-disk caches, and plans for any model on demand."""

    def __init__(self, root: Path, config: Config, redact: Redactor | None = None, *, cache: bool = True) -> None:
        self.root = root.resolve()
        self.config = config
        self._redact = redact or Redactor.from_environ()
        cache_dir = duet_dir(self.root) / "cache" if cache else None
        self._index = cache_dir / "index.json" if cache_dir else None
        self.counter = TokenCounter(cache_dir / "tokens.json" if cache_dir else None)
        self.tags = TagCache(cache_dir / "tags.pickle" if cache_dir else None)
        self._scan: Scan | None = None
        self._ratio: float | None = None
        self._writer: threading.Thread | None = None

    @property
    def scan(self) -> Scan:
        if self._scan is None:
            self._scan = scan_workspace(self.root, self._index, self.config.secret_file_list())
        return self._scan

    def plan(self, model: str, hints: Iterable[str] = ()) -> ContextPlan:
        """The context for `model`; `hints` are texts (task, test failures) that name files in play."""
        hints = list(hints)
        scan = self.scan
        budget = pack_budget(self.config, model)
        in_play = files_named_in(hints, scan.files) + [p for p in recently_changed(self.root) if p in scan.files]
        in_play = list(dict.fromkeys(in_play))
        if not budget:  # no pack possible: the map needs token counts only for the files it shows whole
            total = self._scale(self.counter.estimate_total(scan.files, scan.digests, scan.sizes), model,
                                self._ratio or DEEPSEEK_OVER_O200K)
            plan = self._map(model, total, in_play, names_mentioned(hints))
            plan.workspace_estimated = True
            self._persist()
            return plan
        o200k = self.counter.o200k(scan.files, scan.digests)
        upper = self._scale(sum(o200k.values()), model, DEEPSEEK_OVER_O200K)
        if upper * PACK_OVERHEAD > budget and self.config.model_spec(model).tokenizer == "deepseek-v4":
            upper = self._scale(sum(o200k.values()), model, self._calibrated())  # close call: measure
        if upper * PACK_OVERHEAD <= budget:
            text = render_pack(self.root.name, scan.files, self._redact)
            plan = ContextPlan("pack", model, text, self._tokens(text, model, o200k), upper, budget,
                               packed=sorted(scan.files), skipped=scan.skipped, in_play=in_play)
        else:
            plan = self._map(model, upper, in_play, names_mentioned(hints))
        self._persist()
        return plan

    def _persist(self) -> None:
        """Write the caches in the background: the plan is ready now, and the process still waits for the
        (non-daemon) writer before it exits, so nothing is lost."""
        if self._writer is not None:
            self._writer.join()
        self._writer = threading.Thread(target=self._save_caches, name="duet-context-cache")
        self._writer.start()

    def _save_caches(self) -> None:
        self.counter.save()
        self.tags.save()

    def wait(self) -> None:
        """Block until the caches are on disk (tests and benchmarks that read them)."""
        if self._writer is not None:
            self._writer.join()

    def _calibrated(self) -> float:
        if self._ratio is None:
            self._ratio = self.counter.deepseek_ratio(self.scan.files, self.scan.digests)
        return self._ratio

    def _scale(self, o200k: int, model: str, ratio: float) -> int:
        tokenizer = self.config.model_spec(model).tokenizer
        return int(o200k * ratio) + 1 if tokenizer == "deepseek-v4" else o200k

    def _tokens(self, text: str, model: str, o200k: dict[str, int]) -> int:
        """Tokens of a rendered context holding exactly the files in `o200k`: their cached counts plus the
        tree and headers around them."""
        body = sum(o200k.values())
        frame = len(text) - sum(len(self.scan.files[p]) for p in o200k)
        estimate = body + max(frame, 0) // 3  # headers and tree: short tokens, counted generously
        ratio = self._ratio or DEEPSEEK_OVER_O200K
        return self._scale(estimate, model, ratio)

    def _map(self, model: str, total: int, in_play: list[str], mentioned: set[str]) -> ContextPlan:
        scan = self.scan
        tags = self.tags.tags(scan.files, scan.digests)
        defined = {p: {d.name for d in t.defs} for p, t in tags.items()}
        graph = build_graph(defined, {p: t.mentions for p, t in tags.items()}, mentioned)
        ranks = pagerank(graph, personalization_for(graph.files, in_play))
        scored = rank_definitions(ranks, graph)
        by_name = {(p, d.name): d for p, t in tags.items() for d in t.defs}
        ranked = [(p, by_name[(p, n)]) for p, n, _ in scored if (p, n) in by_name]
        seen = {(p, n) for p, n, _ in scored}
        for path in sorted(tags, key=lambda p: -ranks.get(p, 0.0)):  # files nobody references still appear
            ranked += [(path, d) for d in tags[path].defs if (path, d.name) not in seen]
        map_tokens, files_tokens = map_budgets(self.config, model)
        map_text, used_defs = fit(ranked, map_tokens, count_o200k) if map_tokens else ("", 0)
        map_text = self._redact(map_text)  # signatures hold default values: `connect(url="postgres://u:pw@h")`
        mapped = list(dict.fromkeys(p for p, _ in ranked[:used_defs]))
        whole: list[str] = []
        counts: dict[str, int] = {}
        used = 0
        order = list(dict.fromkeys([*in_play, *sorted(tags, key=lambda p: -ranks.get(p, 0.0))]))
        for path in order:
            if path not in scan.files or scan.sizes[path] // 5 > files_tokens - used:
                continue  # cannot fit: not worth counting
            body = self.counter.o200k({path: scan.files[path]}, {path: scan.digests[path]})[path]
            cost = body + len(path) // 3 + FILE_HEADER_TOKENS
            if body and used + cost <= files_tokens:
                whole.append(path)
                counts[path] = body
                used += cost
            if files_tokens - used < FILE_HEADER_TOKENS * 2:
                break
        files_text = render_pack(self.root.name, scan.files, self._redact, whole, tree=False) if whole else ""
        text = (f"<repo_map note=\"signatures of the most relevant definitions, ranked\">\n{map_text}</repo_map>\n"
                if map_text else "") + files_text
        tokens = self._scale(count_o200k(map_text), model, self._ratio or DEEPSEEK_OVER_O200K) + self._tokens(
            files_text, model, counts)
        return ContextPlan("map", model, text, tokens, total, map_tokens + files_tokens,
                           packed=whole, mapped=mapped, skipped=scan.skipped, in_play=in_play)
