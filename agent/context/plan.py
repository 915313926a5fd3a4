"""The decision: pack the whole workspace for the long-context model, or build a ranked repo map."""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent.catalog import Tokenizer
from agent.config import Config
from agent.context.inplay import files_named_in, names_mentioned, recently_changed_soon
from agent.context.packrender import export_pack, pack_frame_chars
from agent.context.plancache import PlanCache, plan_key, workspace_fingerprint
from agent.context.render import render_pack
from agent.context.scan import Scan, Skipped, scan_workspace
from agent.context.sealed import CacheFiles
from agent.context.tokencount import TokenCounter
from agent.redact import Redactor
from agent.tokens import count_exact, scale_o200k
from agent.window import repo_budget
from tools.atomic import TMP_SUFFIX
from tools.symbols import Definition

if TYPE_CHECKING:
    from agent.context.tags import TagCache

FRAME_CHARS_PER_TOKEN = 3  # the pack's tree and file headers (paths, tags): counted high, never tokenized
MIN_MAP_TOKENS = 128  # below this a map says too little to be worth its tokens
# A workspace whose guessed size (bytes / 4) is over this many times the pack budget gets the map without a
# count: code would need over 8 bytes per token to fit after all.
CLEARLY_TOO_BIG = 2.0


@dataclass
class ContextPlan:
    """The context for one model. A pack's text is rendered on first use: `agent context` reports a pack's
    size from its counts without redacting megabytes it would not show."""

    kind: Literal["pack", "map", "none"]
    model: str
    rendered: str | None
    tokens: int
    workspace_tokens: int
    budget: int
    packed: list[str] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    in_play: list[str] = field(default_factory=list)
    workspace_estimated: bool = False  # the map needs no full count: cached counts plus bytes / 4
    exact: bool = True  # figures counted with the model's own tokenizer (False: DeepSeek estimated high)
    pack_budget: int = 0  # what a pack could have taken (0: the model's window is too small for packs)
    render: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        if self.rendered is None:
            self.rendered = self.render() if self.render is not None else ""
        return self.rendered


@dataclass(frozen=True)
class PlanEstimate:
    """What another model's context would cost, derived from the same scan without planning it."""

    model: str
    kind: Literal["pack", "map"]
    tokens: int
    upper_bound: bool  # a map's figure is its budget: the map itself comes in at or under it


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
    """Scans once, counts and tags with on-disk caches (by content hash), and plans for any model on demand."""

    def __init__(self, root: Path, config: Config, redact: Redactor | None = None, *, cache: bool = True) -> None:
        self.root = root.resolve()
        self.config = config
        self._redact = redact or Redactor.from_environ()
        files = CacheFiles.for_workspace(self.root) if cache else None
        self._index = files.index if files else None
        self.counter = TokenCounter(files.counts if files else None)
        self._tags_path = files.tags if files else None
        self._tags: TagCache | None = None
        self._tags_loading: threading.Thread | None = None
        self._map_likely = False
        self._assume_untracked = False  # set for the plan's own scan (checked before the plan is returned)
        self._untracked_held = True  # until an assumption about untracked files turns out wrong
        self.plans = PlanCache(files.maps if files else None)
        self._scan: Scan | None = None
        self._estimates: dict[str, int] = {}
        self._writer: threading.Thread | None = None

    @property
    def scan(self) -> Scan:
        if self._scan is None:
            self._scan = scan_workspace(self.root, self._index, self.config.secret_file_list(),
                                        on_change=self._workspace_changed, assume_untracked=self._assume_untracked)
            self._assume_untracked = False
        return self._scan

    @property
    def tags(self) -> TagCache:
        """The definitions cache, loaded only when a map is actually built (tree-sitter and all)."""
        if self._tags_loading is not None:
            self._tags_loading.join()
            self._tags_loading = None
        if self._tags is None:
            self._load_tags()
        assert self._tags is not None
        return self._tags

    def _workspace_changed(self) -> None:
        """The scan found a file changed since the last run: when this model got a map here before, its
        map must be rebuilt, so the names cache loads now, while the scan still waits for git."""
        if self._map_likely and self._tags is None and self._tags_loading is None:
            self._tags_loading = threading.Thread(target=self._load_tags, name="duet-tags", daemon=True)
            self._tags_loading.start()

    def _load_tags(self) -> None:
        from agent.context.tags import TagCache  # numpy and tree-sitter: only when a map is built

        self._tags = TagCache(self._tags_path)

    def plan(self, model: str, hints: Iterable[str] = (), *, exact: bool = False, whole: bool = False,
             out: Path | None = None) -> ContextPlan:
        """The context for `model`; `hints` are texts (task, test failures) that name files in play.

        `exact` counts DeepSeek V4 tokens with its own tokenizer even where an upper estimate would decide;
        `whole` packs the whole workspace whatever the budget (an export), written to `out` if given.
        """
        hints = list(hints)
        changed = recently_changed_soon(self.root)  # git answers while the workspace is scanned
        self._map_likely = not whole and self.plans.made_for(model)  # an export never needs the map
        # the scan may take the untracked files to be the last scan's instead of waiting for git's walk of the
        # whole tree; the plan is checked against git's answer before it is returned
        self._assume_untracked = self._scan is None and not whole and self._untracked_held
        scan = self.scan
        budget = pack_budget(self.config, model)
        tokenizer = self.config.model_spec(model).tokenizer
        in_play = files_named_in(hints, scan.files) + [p for p in changed(scan.dirty) if p in scan.files]
        in_play = list(dict.fromkeys(in_play))
        guess = self._estimate_total(tokenizer)
        if not whole and (not budget or guess > budget * CLEARLY_TOO_BIG):
            plan = self._map(model, guess, in_play, names_mentioned(hints), exact)
            plan.workspace_estimated = True
        else:
            paths = list(scan.files)
            if whole:  # an export: written out now, every file counted on the way (in two processes if big)
                own = _exports_of(out, self.root, paths) if out is not None else set()
                paths = [p for p in paths if p not in own]  # an earlier export (or a killed one's temporary file)
                o200k = export_pack(self.root.name, scan.files, scan.sizes, self._redact, out, leave_out=own)
                self.counter.remember_o200k(scan.digests, o200k)
            counts = self.counter.count(scan.files, tokenizer, scan.digests, paths, exact=exact)
            total = sum(counts.values())
            # The tree and a header per file: in a tree of many small files they outweigh the files themselves.
            frame = pack_frame_chars(self.root.name, paths) // FRAME_CHARS_PER_TOKEN
            close = tokenizer == "deepseek-v4" and total + frame > budget and not exact
            if close and not whole:  # o200k × 1.12 says no; the real count may say yes
                counts = self.counter.count(scan.files, tokenizer, scan.digests, paths, exact=True)
                total, exact = sum(counts.values()), True
            if whole or total + frame <= budget:
                plan = ContextPlan("pack", model, None, sum(counts.values()) + frame, total, budget,
                                   packed=sorted(paths), skipped=scan.skipped, in_play=in_play,
                                   exact=exact or tokenizer != "deepseek-v4",
                                   render=lambda: render_pack(self.root.name, scan.files, self._redact, paths))
            else:
                plan = self._map(model, total, in_play, names_mentioned(hints), exact)
        if not scan.confirmed():  # an untracked file came or went: never serve a plan that missed it
            self._scan, self._untracked_held = None, False
            self._estimates.clear()
            return self.plan(model, hints, exact=exact, whole=whole, out=out)
        self._persist()
        plan.pack_budget = budget
        return plan

    def estimate(self, model: str) -> PlanEstimate:
        """`model`'s context size from the cached counts of this scan (no counting, no ranking)."""
        budget = pack_budget(self.config, model)
        total = self._estimate_total(self.config.model_spec(model).tokenizer)
        frame = pack_frame_chars(self.root.name, list(self.scan.files)) // FRAME_CHARS_PER_TOKEN
        if budget and total + frame <= budget:
            return PlanEstimate(model, "pack", total + frame, upper_bound=False)
        # A map says less than the files it maps: never more than the whole workspace with its headers.
        return PlanEstimate(model, "map", min(sum(map_budgets(self.config, model)), total + frame), upper_bound=True)

    def _estimate_total(self, tokenizer: Tokenizer) -> int:
        if tokenizer not in self._estimates:
            self._estimates[tokenizer] = self.counter.estimate_total(self.scan.digests, self.scan.sizes, tokenizer)
        return self._estimates[tokenizer]

    def _persist(self) -> None:
        """Write the caches in the background: the plan is ready now, and the process still waits for the
        (non-daemon) writer before it exits, so nothing is lost."""
        if self._writer is not None:
            self._writer.join()
        self._writer = threading.Thread(target=self._save_caches, name="duet-context-cache")
        self._writer.start()

    def _save_caches(self) -> None:
        self.counter.save()
        self.plans.save()
        if self._tags is not None:
            self._tags.save()

    def wait(self) -> None:
        """Block until the caches are on disk (tests and benchmarks that read them)."""
        if self._writer is not None:
            self._writer.join()

    def _map(self, model: str, total: int, in_play: list[str], mentioned: set[str], exact: bool) -> ContextPlan:
        scan = self.scan
        tokenizer = self.config.model_spec(model).tokenizer
        budgets = map_budgets(self.config, model)
        key = plan_key(tokenizer, budgets, exact, in_play=in_play, mentioned=mentioned,
                       fingerprint=workspace_fingerprint(scan.digests))
        hit = self.plans.get(key)
        deepseek_exact = exact or tokenizer != "deepseek-v4"
        count_text = _text_counter(tokenizer, deepseek_exact)
        if hit is not None:
            text = self._redact(hit["text"])  # stored redacted; this run may know more secrets
            tokens = hit["tokens"] if text == hit["text"] else count_text(text)
            return ContextPlan("map", model, text, tokens, total, sum(budgets), packed=hit["packed"],
                               mapped=hit["mapped"], skipped=scan.skipped, in_play=in_play, exact=hit["exact"])
        from agent.context.mapbuild import build_map  # numpy and tree-sitter: not for a map served from cache

        def count_files(paths: list[str]) -> dict[str, int]:
            return self.counter.count(scan.files, tokenizer, scan.digests, paths, exact=exact)

        names = self.tags.names(scan.files, scan.digests)

        def define(paths: list[str]) -> Mapping[str, tuple[Definition, ...]]:
            return self.tags.definitions(scan.files, scan.digests, paths)

        result = build_map(self.root.name, scan.files, scan.sizes, names, self.tags.vocab, define, in_play,
                           mentioned, budgets,
                           count_text, count_files, self._redact, self.tags.traits)
        self.plans.put(key, {"model": model, "text": result.text, "tokens": result.tokens, "packed": result.packed,
                             "mapped": result.mapped, "exact": deepseek_exact})
        return ContextPlan("map", model, result.text, result.tokens, total, sum(budgets), packed=result.packed,
                           mapped=result.mapped, skipped=scan.skipped, in_play=in_play, exact=deepseek_exact)


def _exports_of(out: Path, root: Path, paths: list[str]) -> set[str]:
    """The workspace paths an export to `out` owns: `out` itself, and the temporary file of a killed export
    (named only where the file system has no unnamed files; earlier versions wrote `out` + ".tmp")."""
    try:
        own = out.parent.resolve().relative_to(root).as_posix()
    except ValueError:
        return set()
    prefix = "" if own == "." else own + "/"
    pattern = f"{prefix}.{out.name}.*{TMP_SUFFIX}"
    return {p for p in paths if p in (prefix + out.name, prefix + out.name + ".tmp") or fnmatch.fnmatchcase(p, pattern)}


def _text_counter(tokenizer: Tokenizer, exact: bool) -> Callable[[str], int]:
    """Counts text in `tokenizer`'s tokens: exactly, or (DeepSeek, not exact) as o200k × 1.12, an upper bound."""
    if exact:
        return lambda text: count_exact(text, tokenizer)
    return lambda text: scale_o200k(count_exact(text, "o200k"), tokenizer)
