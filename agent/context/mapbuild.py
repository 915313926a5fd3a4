"""Building the ranked repo map for one model: signatures first, then the most relevant files whole.

Pure of I/O beyond reading file contents through the scan: ranking comes from rank.py, rendering from
render.py, token counts from the caller's counter (the model's own tokenizer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.context.rank import build_graph_ids, pagerank, personalization_for, rank_definitions
from agent.context.render import CHARS_PER_TOKEN_GUESS, CLASS_KINDS, class_index, fit, render_excerpts, render_pack
from agent.context.tags import FileNames
from agent.redact import Redactor
from tools.symbols import Definition

FILE_HEADER_TOKENS = 12  # <file path="..."> ... </file> around each whole file
RELEVANCE_FLOOR = 0.01  # a file shown whole (or in part) ranks at least this share of the best-ranked file
MAX_EXCERPT_DEFS = 12  # a large relevant file contributes at most this many definitions with their bodies
MAP_FRAME_TOKENS = 32  # the <repo_map> tags around the signatures
PAIRS_LIMIT = 20_000  # ranked names considered: far more than any map shows


@dataclass
class MapResult:
    text: str
    tokens: int
    mapped: list[str] = field(default_factory=list)
    packed: list[str] = field(default_factory=list)


def rank_names(names: Mapping[str, FileNames], vocab: list[str], in_play: list[str], mentioned: set[str],
               limit: int, traits: Callable[[Any], Any] | None = None
               ) -> tuple[list[tuple[str, str]], dict[str, float]]:
    """(file, defined name) pairs best first, at most `limit` (unreferenced files' names after the rest),
    and file ranks. `traits` gives rank.name_traits of vocabulary ids (kept by the names cache)."""
    files = sorted(names)
    graph = build_graph_ids(files, [names[p].defined for p in files], [names[p].mentioned for p in files],
                            [names[p].counts for p in files], vocab, mentioned, traits)
    ranks = pagerank(graph, personalization_for(graph.files, in_play))
    pairs = [(p, n) for p, n, _ in rank_definitions(ranks, graph)]
    seen = set(pairs)
    for path in by_rank(files, ranks):  # files nobody references still appear
        if len(pairs) >= limit:
            break
        pairs += [(path, vocab[int(i)]) for i in names[path].defined if (path, vocab[int(i)]) not in seen]
    return pairs, ranks


def by_rank(paths: list[str], ranks: Mapping[str, float]) -> list[str]:
    """`paths` (sorted) best-ranked first, ties in path order (a stable sort keeps them)."""
    return sorted(paths, key=lambda p: ranks.get(p, 0.0), reverse=True)


def realize(pairs: list[tuple[str, str]], define: Callable[[list[str]], Mapping[str, tuple[Definition, ...]]],
            limit_chars: int) -> tuple[list[tuple[str, Definition]], dict[str, tuple[Definition, ...]]]:
    """Ranked definitions for the best pairs, parsing files only as far down the ranking as a map of
    `limit_chars` can reach (batches that grow by half until the signatures' length passes the limit)."""
    parsed: dict[str, tuple[Definition, ...]] = {}
    by_name: dict[tuple[str, str], list[Definition]] = {}  # grows with the files parsed, round by round
    want = 192
    while True:
        head = pairs[:want]
        new = define(list(dict.fromkeys(p for p, _ in head if p not in parsed)))
        parsed.update(new)
        for path, defs in new.items():
            for d in defs:
                by_name.setdefault((path, d.name), []).append(d)
        ranked = [(p, d) for p, n in head for d in by_name.get((p, n), ())]
        if want >= len(pairs) or sum(len(d.signature) + 12 for _, d in ranked) > limit_chars:
            return ranked, parsed
        want = want * 5 // 4


def build_map(root_name: str, files: Mapping[str, bytes], sizes: Mapping[str, int], names: Mapping[str, FileNames],
              vocab: list[str],
              define: Callable[[list[str]], Mapping[str, tuple[Definition, ...]]],
              in_play: list[str], mentioned: set[str], budgets: tuple[int, int],
              count_text: Callable[[str], int], count_files: Callable[[list[str]], dict[str, int]],
              redact: Redactor, traits: Callable[[Any], Any] | None = None) -> MapResult:
    """The map text for `budgets` = (signatures, whole files) in the tokens `count_text` counts.

    Whole files go in while they rank above the relevance floor; a relevant file too big to go in whole
    gives its ranked definitions with their bodies instead (a part of the right file beats a whole wrong one).
    """
    pairs, ranks = rank_names(names, vocab, in_play, mentioned, PAIRS_LIMIT, traits)
    map_tokens, files_tokens = budgets
    ranked, parsed = realize(pairs, define, int(map_tokens * CHARS_PER_TOKEN_GUESS * 1.5))
    classes = class_index(parsed)
    map_text, used_defs = fit(ranked, map_tokens - MAP_FRAME_TOKENS, count_text, classes) \
        if map_tokens > MAP_FRAME_TOKENS else ("", 0)
    map_text = redact(map_text)  # signatures hold default values: `connect(url="postgres://u:pw@h")`
    mapped = list(dict.fromkeys(p for p, _ in ranked[:used_defs]))
    floor = max(ranks.values(), default=0.0) * RELEVANCE_FLOOR
    order = list(dict.fromkeys([*in_play, *by_rank(sorted(ranks), ranks)]))
    whole: list[str] = []
    parts: dict[str, list[Definition]] = {}
    added: list[str] = []
    used = 0
    for path in order:
        if path not in files or (path not in in_play and ranks.get(path, 0.0) < floor):
            if path in files:
                break  # the rest rank lower still
            continue
        room = files_tokens - used
        if room < FILE_HEADER_TOKENS * 2:
            break
        header = len(path) // 3 + FILE_HEADER_TOKENS
        if sizes[path] // 5 <= room:  # could fit whole (bytes / 5 under-guesses tokens): count it
            body = count_files([path])[path]
            if body and body + header <= room:
                whole.append(path)
                added.append(path)
                used += body + header
                continue
        chosen = _excerpt_defs(path, ranked)
        while chosen:
            text = render_excerpts(files[path], {path: chosen})
            cost = count_text(text) + header
            if cost <= room:
                parts[path] = chosen
                added.append(path)
                used += cost
                break
            chosen = chosen[:len(chosen) // 2]
    head = (f"<repo_map note=\"signatures of the most relevant definitions, ranked\">\n{map_text}</repo_map>\n"
            if map_text else "")
    text = head + _files_text(root_name, files, redact, whole, parts)
    tokens = count_text(text)
    while tokens > map_tokens + files_tokens and added:  # headers counted by guess: the total is exact
        last = added.pop()
        parts.pop(last, None)
        whole = [p for p in whole if p != last]
        text = head + _files_text(root_name, files, redact, whole, parts)
        tokens = count_text(text)
    return MapResult(text, tokens, mapped, whole)


def _files_text(root_name: str, files: Mapping[str, bytes], redact: Redactor, whole: list[str],
                parts: Mapping[str, list[Definition]]) -> str:
    excerpts = redact("".join(render_excerpts(files[p], {p: d}) for p, d in parts.items()))
    return excerpts + (render_pack(root_name, files, redact, whole, tree=False) if whole else "")


def _excerpt_defs(path: str, ranked: list[tuple[str, Definition]]) -> list[Definition]:
    """The file's functions and methods in rank order (a class's whole body is too coarse), none inside
    another chosen one."""
    out: list[Definition] = []
    for p, d in ranked:
        if p != path or d.end_line <= d.line or d.kind in CLASS_KINDS:
            continue
        if any(o.start_line <= d.line <= o.end_line for o in out):
            continue
        out.append(d)
        if len(out) >= MAX_EXCERPT_DEFS:
            break
    return out
