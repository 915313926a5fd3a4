"""Ranking files and definitions for the repo map: plain functions with named weights, no I/O.

The method is Aider's: a graph of which file mentions names defined in which file, ranked by PageRank
personalised toward the files in play, then each file's rank spread over the definitions it is
referenced for.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

DAMPING = 0.85
ITERATIONS = 40
TOLERANCE = 1e-9
WEIGHT_MENTIONED = 10.0      # a name the user, the task or a traceback mentions
WEIGHT_DISTINCTIVE = 10.0    # long snake_case / CamelCase names say more than short ones
WEIGHT_PRIVATE = 0.1         # _private names are rarely what connects files
WEIGHT_COMMON = 0.1          # defined in many files: says little
COMMON_DEFINERS = 5
DISTINCTIVE_LENGTH = 8
IN_PLAY_SHARE = 1.0          # personalisation mass given to the files in play, spread evenly
SELF_EDGE = 0.1              # files with no links still get a little rank

Edge = tuple[str, str, str]  # (referencing file, defining file, name)


def name_weight(name: str, definers: int, mentioned: set[str]) -> float:
    weight = 1.0
    if name in mentioned:
        weight *= WEIGHT_MENTIONED
    distinctive = len(name) >= DISTINCTIVE_LENGTH and ("_" in name.strip("_") or name[0].isupper() != name.isupper())
    if distinctive:
        weight *= WEIGHT_DISTINCTIVE
    if name.startswith("_"):
        weight *= WEIGHT_PRIVATE
    if definers > COMMON_DEFINERS:
        weight *= WEIGHT_COMMON
    return weight


def build_edges(defined: Mapping[str, set[str]], mentions: Mapping[str, Mapping[str, int]],
                mentioned: set[str]) -> dict[Edge, float]:
    """Weighted edges referencing file → defining file, one per name that links them."""
    definers: dict[str, list[str]] = defaultdict(list)
    for path, names in defined.items():
        for name in names:
            definers[name].append(path)
    edges: dict[Edge, float] = {}
    for src, counts in mentions.items():
        for name, count in counts.items():
            where = definers.get(name)
            if not where:
                continue
            weight = name_weight(name, len(where), mentioned) * math.sqrt(count)
            for dst in where:
                if dst != src:
                    edges[(src, dst, name)] = weight
    return edges


def pagerank(nodes: Iterable[str], edges: Mapping[Edge, float],
             personalization: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weighted, personalised PageRank by power iteration."""
    nodes = sorted(set(nodes))
    if not nodes:
        return {}
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (src, dst, _), weight in edges.items():
        out[src][dst] += weight
    totals = {src: sum(dsts.values()) for src, dsts in out.items()}
    if personalization:
        mass = sum(personalization.get(n, 0.0) for n in nodes) or 1.0
        teleport = {n: personalization.get(n, 0.0) / mass for n in nodes}
    else:
        teleport = {n: 1.0 / len(nodes) for n in nodes}
    rank = dict(teleport) if personalization else {n: 1.0 / len(nodes) for n in nodes}
    for _ in range(ITERATIONS):
        dangling = sum(rank[n] for n in nodes if n not in totals)
        nxt = {n: (1 - DAMPING) * teleport[n] + DAMPING * dangling * teleport[n] for n in nodes}
        for src, dsts in out.items():
            share = DAMPING * rank[src] / totals[src]
            for dst, weight in dsts.items():
                nxt[dst] += share * weight
        delta = sum(abs(nxt[n] - rank[n]) for n in nodes)
        rank = nxt
        if delta < TOLERANCE:
            break
    return rank


def personalization_for(nodes: Iterable[str], in_play: Iterable[str]) -> dict[str, float] | None:
    chosen = [n for n in in_play if n in set(nodes)]
    if not chosen:
        return None
    base = {n: SELF_EDGE / 100 for n in nodes}
    for n in chosen:
        base[n] += IN_PLAY_SHARE / len(chosen)
    return base


def rank_definitions(ranks: Mapping[str, float], edges: Mapping[Edge, float]) -> dict[tuple[str, str], float]:
    """Each file's rank spread over the (file, name) definitions it references, by edge weight."""
    totals: dict[str, float] = defaultdict(float)
    for (src, _, _), weight in edges.items():
        totals[src] += weight
    scores: dict[tuple[str, str], float] = defaultdict(float)
    for (src, dst, name), weight in edges.items():
        scores[(dst, name)] += ranks.get(src, 0.0) * weight / totals[src]
    return dict(scores)
