"""Ranking files and definitions for the repo map: plain functions with named weights, no I/O.

The method is Aider's: a graph of which file mentions names defined in which file, ranked by PageRank
personalised toward the files in play, then each file's rank spread over the definitions it is
referenced for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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

    def edge(self, src: str, dst: str, name: str) -> float:
        """The weight of one edge (0.0 if absent): for tests and explanations."""
        f, n = {p: i for i, p in enumerate(self.files)}, {x: i for i, x in enumerate(self.names)}
        hit = (self.src == f.get(src, -1)) & (self.dst == f.get(dst, -1)) & (self.name == n.get(name, -1))
        return float(self.weight[hit].sum())


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
                    vocab: list[str], mentioned: set[str]) -> Graph:
    """Every (referencing file, defining file, name) link, weighted by the name and how often it is used.

    Names are ids into `vocab`; per file (in `files` order) the ids it defines and the ids it mentions with
    their counts, as int arrays. Names defined in more than MAX_DEFINERS files (`get`, `__init__`, `save`)
    link everything to everything and say nothing about this task: they are left out, which also keeps the
    graph small. All of it is array work: a monorepo has millions of (file, identifier) mentions.
    """
    import numpy as np

    n = len(files)
    size = max(len(vocab), 1)
    lens = np.array([len(d) for d in defined], dtype=np.int64)
    def_file = np.repeat(np.arange(n, dtype=np.int64), lens)
    def_name = np.concatenate(defined) if n else np.zeros(0, dtype=np.int32)
    definers_all = np.bincount(def_name, minlength=size)
    linkable = (definers_all > 0) & (definers_all <= MAX_DEFINERS)
    kept = np.nonzero(linkable)[0]
    local = np.full(size, -1, dtype=np.int32)
    local[kept] = np.arange(len(kept))
    names = [vocab[int(i)] for i in kept]
    keep_def = linkable[def_name]
    dn, df = local[def_name[keep_def]], def_file[keep_def]
    order = np.argsort(dn, kind="stable")
    flat = df[order]  # definers of each name, flattened (CSR): name i is in flat[start[i]:start[i] + degree[i]]
    degree = np.bincount(dn, minlength=len(names)).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(degree)[:-1])).astype(np.int64) if len(names) else degree
    m_lens = np.array([len(m) for m in mention_ids], dtype=np.int64)
    m_src = np.repeat(np.arange(n, dtype=np.int32), m_lens)
    m_id = np.concatenate(mention_ids) if n else np.zeros(0, dtype=np.int32)
    hit = linkable[m_id] if len(m_id) else np.zeros(0, dtype=bool)
    src0, name0 = m_src[hit].astype(np.int64), local[m_id[hit]].astype(np.int64)
    count0 = (np.concatenate(mention_counts)[hit] if n else np.zeros(0)).astype(np.float64)
    mentioning = np.bincount(name0, minlength=len(names)) if len(name0) else np.zeros(len(names), dtype=np.int64)
    # A generic name (`data`, `path`, `value`) mentioned by thousands of files and defined in dozens links
    # everything to everything: hundreds of thousands of edges that carry almost no weight. Left out.
    narrow = (mentioning * degree <= MAX_NAME_EDGES)[name0] if len(name0) else np.zeros(0, dtype=bool)
    src0, name0, count0 = src0[narrow], name0[narrow], count0[narrow]
    per_name = np.zeros(max(len(names), 1))
    for i in np.unique(name0).tolist():  # only names that link anything get a weight
        per_name[i] = name_weight(names[i], int(degree[i]), mentioned)
    reps = degree[name0] if len(name0) else np.zeros(0, dtype=np.int64)
    src = np.repeat(src0, reps)
    name = np.repeat(name0, reps)
    # position of each repeated entry within its name's definers
    offsets = np.arange(len(src)) - np.repeat(np.cumsum(reps) - reps, reps)
    dst = flat[np.repeat(start[name0], reps) + offsets] if len(src) else np.zeros(0, dtype=np.int64)
    # Names that almost every file mentions (`django` in `import django`) link nothing in particular:
    # an inverse document frequency takes them down smoothly.
    mentioning_files = int(np.count_nonzero(m_lens))
    share = mentioning / max(mentioning_files, 1)
    idf = np.log1p(1 / np.maximum(share, 1e-9))
    if mentioning_files >= UBIQUITY_MIN_FILES:
        idf = np.where(share > UBIQUITOUS_SHARE, idf * WEIGHT_UBIQUITOUS, idf)
    weight = per_name[name] * idf[name] * np.sqrt(np.repeat(count0, reps))
    keep = src != dst
    return Graph(files, names, src[keep], dst[keep], name[keep], weight[keep])


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
        flow = np.bincount(graph.dst, weights=rank[graph.src] * share, minlength=n)
        nxt = (1 - DAMPING) * teleport + DAMPING * (flow + rank[dangling].sum() * teleport)
        delta = float(np.abs(nxt - rank).sum())
        rank = nxt
        if delta < TOLERANCE:
            break
    return {p: float(rank[i]) for i, p in enumerate(graph.files)}


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
    keys, inverse = np.unique(graph.dst * len(graph.names) + graph.name, return_inverse=True)
    scores = np.bincount(inverse, weights=contribution)
    if len(scores) > top:  # only the best can reach the map: skip sorting the long tail
        best = np.argpartition(-scores, top)[:top]
        keys, scores = keys[best], scores[best]
    order = np.lexsort((keys, -scores))
    return [(graph.files[int(keys[i] // len(graph.names))], graph.names[int(keys[i] % len(graph.names))],
             float(scores[i])) for i in order]
