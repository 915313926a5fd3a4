"""Ranking files and definitions for the repo map: plain functions with named weights, no I/O.

The method is Aider's: a graph of which file mentions names defined in which file, ranked by PageRank
personalised toward the files in play, then each file's rank spread over the definitions it is
referenced for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DAMPING = 0.85
ITERATIONS = 40
TOLERANCE = 1e-9
WEIGHT_MENTIONED = 10.0      # a name the user, the task or a traceback mentions
WEIGHT_DISTINCTIVE = 10.0    # long snake_case / CamelCase names say more than short ones
WEIGHT_PRIVATE = 0.1         # _private names are rarely what connects files
WEIGHT_COMMON = 0.1          # defined in many files: says little
COMMON_DEFINERS = 5
MAX_DEFINERS = 40            # names defined in more files than this are not used as links
UBIQUITOUS_SHARE = 0.3       # a name mentioned by more than this share of files...
WEIGHT_UBIQUITOUS = 0.01     # ...links nothing in particular (`django` in `import django`)
UBIQUITY_MIN_FILES = 20      # (only judged in repositories big enough for shares to mean something)
DISTINCTIVE_LENGTH = 8
IN_PLAY_SHARE = 1.0          # personalisation mass given to the files in play, spread evenly
SELF_EDGE = 0.1              # files with no links still get a little rank
MAX_NAME_EDGES = 5_000       # a name linking more (mentioning files × defining files) is too generic to rank by



@dataclass(frozen=True)
class Graph:
    """Edges referencing file → defining file, one per linking name, as parallel arrays."""

    files: list[str]
    names: list[str]
    src: Any  # numpy int arrays / float array, one entry per edge
    dst: Any
    name: Any
    weight: Any
    # Per edge, the (name, defining file) definition it points at, as an index into the definitions, and
    # per definition its file and name: rank_definitions sums into these without sorting the edges.
    slot: Any = None
    slot_file: Any = None
    slot_name: Any = None

    def edge(self, src: str, dst: str, name: str) -> float:
        """The weight of one edge (0.0 if absent): for tests and explanations."""
        f, n = {p: i for i, p in enumerate(self.files)}, {x: i for i, x in enumerate(self.names)}
        hit = (self.src == f.get(src, -1)) & (self.dst == f.get(dst, -1)) & (self.name == n.get(name, -1))
        return float(self.weight[hit].sum())


MENTIONED, DISTINCTIVE, PRIVATE, COMMON = 1, 2, 4, 8  # bits of a name's traits, in name_weight's order


def name_traits(name: str) -> int:
    """The DISTINCTIVE and PRIVATE bits of a name (what its spelling says, whatever the repository)."""
    distinctive = len(name) >= DISTINCTIVE_LENGTH and ("_" in name.strip("_") or name[0].isupper() != name.isupper())
    return (DISTINCTIVE if distinctive else 0) | (PRIVATE if name.startswith("_") else 0)


def _weight_of(traits: int) -> float:
    weight = 1.0
    if traits & MENTIONED:
        weight *= WEIGHT_MENTIONED
    if traits & DISTINCTIVE:
        weight *= WEIGHT_DISTINCTIVE
    if traits & PRIVATE:
        weight *= WEIGHT_PRIVATE
    if traits & COMMON:
        weight *= WEIGHT_COMMON
    return weight


def name_weight(name: str, definers: int, mentioned: set[str]) -> float:
    traits = name_traits(name) | (MENTIONED if name in mentioned else 0) | (COMMON if definers > COMMON_DEFINERS
                                                                           else 0)
    return _weight_of(traits)


def build_graph(defined: Mapping[str, set[str]], mentions: Mapping[str, Mapping[str, int]],
                mentioned: set[str]) -> Graph:
    """Every (referencing file, defining file, name) link, from names as strings (see build_graph_ids)."""
    import numpy as np

    files = sorted(set(defined) | set(mentions))
    vocab: dict[str, int] = {}
    def_ids = [np.array([vocab.setdefault(n, len(vocab)) for n in sorted(defined.get(p, ()))], dtype=np.int32)
               for p in files]
    used = [mentions.get(p, {}) for p in files]
    mention_ids = [np.array([vocab.setdefault(n, len(vocab)) for n in u], dtype=np.int32) for u in used]
    counts = [np.array(list(u.values()), dtype=np.int32) for u in used]
    return build_graph_ids(files, def_ids, mention_ids, counts, list(vocab), mentioned)


def build_graph_ids(files: list[str], defined: list[Any], mention_ids: list[Any], mention_counts: list[Any],
                    vocab: list[str], mentioned: set[str], traits: Callable[[Any], Any] | None = None) -> Graph:
    """Every (referencing file, defining file, name) link, weighted by the name and how often it is used.

    Names are ids into `vocab`; per file (in `files` order) the ids it defines and the ids it mentions with
    their counts, as int arrays. Names defined in more than MAX_DEFINERS files (`get`, `__init__`, `save`)
    link everything to everything and say nothing about this task: they are left out, which also keeps the
    graph small. All of it is array work: a monorepo has millions of (file, identifier) mentions.
    `traits(ids)` gives name_traits of vocabulary ids (a cache's); without it they are computed here.
    """
    import numpy as np

    n = len(files)
    size = max(len(vocab), 1)
    lens = np.fromiter(map(len, defined), dtype=np.int64, count=n)
    def_file = np.repeat(np.arange(n, dtype=np.int32), lens)
    def_name = np.concatenate(defined) if n else np.zeros(0, dtype=np.int32)
    definers_all = np.bincount(def_name, minlength=size)
    linkable = (definers_all > 0) & (definers_all <= MAX_DEFINERS)
    kept = np.flatnonzero(linkable)
    local = np.full(size, -1, dtype=np.int32)
    local[kept] = np.arange(len(kept), dtype=np.int32)
    names = [vocab[i] for i in kept.tolist()]
    keep_def = linkable[def_name]
    dn, df = local[def_name[keep_def]], def_file[keep_def]
    order = np.argsort(dn, kind="stable")
    flat = df[order]  # definers of each name, flattened (CSR): name i is in flat[start[i]:start[i] + degree[i]]
    degree = np.bincount(dn, minlength=len(names)).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(degree)[:-1])).astype(np.int64) if len(names) else degree
    m_lens = np.fromiter(map(len, mention_ids), dtype=np.int64, count=n)
    m_id = np.concatenate(mention_ids) if n else np.zeros(0, dtype=np.int32)
    at = np.flatnonzero(linkable[m_id])  # the mentions of linkable names, and which file each is in
    src0 = np.searchsorted(np.cumsum(m_lens), at, side="right")
    name0 = local[m_id[at]].astype(np.int64)
    count0 = np.concatenate(mention_counts)[at].astype(np.float64) if n else np.zeros(0)
    mentioning = np.bincount(name0, minlength=len(names)) if len(name0) else np.zeros(len(names), dtype=np.int64)
    # A generic name (`data`, `path`, `value`) mentioned by thousands of files and defined in dozens links
    # everything to everything: hundreds of thousands of edges that carry almost no weight. Left out.
    narrow_names = mentioning * degree <= MAX_NAME_EDGES
    narrow = np.flatnonzero(narrow_names[name0])
    src0, name0, count0 = src0[narrow], name0[narrow], count0[narrow]
    linking = np.flatnonzero(narrow_names & (mentioning > 0))  # only names that link anything get a weight
    bits = np.asarray(traits(kept[linking]) if traits is not None else
                      np.fromiter((name_traits(names[i]) for i in linking.tolist()), dtype=np.uint8,
                                  count=len(linking)), dtype=np.uint8)
    if mentioned:
        bits = bits | np.array([MENTIONED if names[i] in mentioned else 0 for i in linking.tolist()], dtype=np.uint8)
    bits = bits | np.where(degree[linking] > COMMON_DEFINERS, COMMON, 0).astype(np.uint8)
    table = np.array([_weight_of(t) for t in range(16)])
    per_name = np.zeros(max(len(names), 1))
    per_name[linking] = table[bits]
    # Names that almost every file mentions (`django` in `import django`) link nothing in particular:
    # an inverse document frequency takes them down smoothly.
    mentioning_files = int(np.count_nonzero(m_lens))
    share = mentioning / max(mentioning_files, 1)
    idf = np.log1p(1 / np.maximum(share, 1e-9))
    if mentioning_files >= UBIQUITY_MIN_FILES:
        idf = np.where(share > UBIQUITOUS_SHARE, idf * WEIGHT_UBIQUITOUS, idf)
    reps = degree[name0]
    first = np.cumsum(reps) - reps  # where each mention's edges begin
    total = int(reps.sum())
    # each edge's definer: the mention's name's first definer plus the edge's place among its edges
    # (in place where it can be: every fresh array of the edges' size costs page faults)
    slot = np.repeat(start[name0] - first, reps)
    slot += np.arange(total, dtype=np.int64)
    src = np.repeat(src0, reps)
    keep = src != flat[slot]
    src, slot = src[keep], slot[keep]
    weight = np.repeat(per_name[name0] * idf[name0] * np.sqrt(count0), reps)[keep]  # per mention, then per edge
    slot_name = np.repeat(np.arange(len(names), dtype=np.int32), degree)
    return Graph(files, names, src, flat[slot].astype(np.int64), slot_name[slot], weight, slot, flat, slot_name)


def pagerank(graph: Graph, personalization: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weighted, personalised PageRank by power iteration (numpy: Django's graph takes milliseconds)."""
    import numpy as np

    n = len(graph.files)
    if n == 0:
        return {}
    out_total = np.bincount(graph.src, weights=graph.weight, minlength=n)
    share = graph.weight / out_total[graph.src] if len(graph.src) else graph.weight
    dangling = out_total == 0
    if personalization:
        teleport = np.array([personalization.get(p, 0.0) for p in graph.files], dtype=np.float64)
        teleport = teleport / teleport.sum() if teleport.sum() > 0 else np.full(n, 1.0 / n)
    else:
        teleport = np.full(n, 1.0 / n)
    rank = teleport.copy()
    for _ in range(ITERATIONS):
        flowing = rank[graph.src]
        flowing *= share  # in place: one array of the graph's size per iteration, not two
        flow = np.bincount(graph.dst, weights=flowing, minlength=n)
        nxt = (1 - DAMPING) * teleport + DAMPING * (flow + rank[dangling].sum() * teleport)
        delta = float(np.abs(nxt - rank).sum())
        rank = nxt
        if delta < TOLERANCE:
            break
    return dict(zip(graph.files, rank.tolist(), strict=True))


def personalization_for(nodes: Iterable[str], in_play: Iterable[str]) -> dict[str, float] | None:
    nodes = list(nodes)
    present = set(nodes)
    chosen = [n for n in in_play if n in present]
    if not chosen:
        return None
    base = {n: SELF_EDGE / 100 for n in nodes}
    for n in chosen:
        base[n] += IN_PLAY_SHARE / len(chosen)
    return base


def rank_definitions(ranks: Mapping[str, float], graph: Graph, top: int = 5_000) -> list[tuple[str, str, float]]:
    """The `top` (defining file, name, score), best first: each file's rank spread over the names it references."""
    import numpy as np

    if not len(graph.src):
        return []
    n = len(graph.files)
    rank = np.array([ranks.get(p, 0.0) for p in graph.files])
    out_total = np.bincount(graph.src, weights=graph.weight, minlength=n)
    contribution = rank[graph.src] * graph.weight / out_total[graph.src]
    width = len(graph.names)
    if graph.slot is not None:  # per definition, summed in edge order (as np.unique's bins would be)
        slots = len(graph.slot_file)
        scores = np.bincount(graph.slot, weights=contribution, minlength=slots)
        hit = np.flatnonzero(np.bincount(graph.slot, minlength=slots))
        keys = graph.slot_file[hit].astype(np.int64) * width + graph.slot_name[hit]
        ascending = np.argsort(keys)
        keys, scores = keys[ascending], scores[hit][ascending]
    else:
        keys, inverse = np.unique(graph.dst * width + graph.name, return_inverse=True)
        scores = np.bincount(inverse, weights=contribution)
    if len(scores) > top:  # only the best can reach the map: skip sorting the long tail
        best = np.argpartition(-scores, top)[:top]
        keys, scores = keys[best], scores[best]
    order = np.lexsort((keys, -scores))
    files, names = graph.files, graph.names
    return [(files[k // width], names[k % width], s) for k, s in zip(keys[order].tolist(), scores[order].tolist(),
                                                                       strict=True)]
