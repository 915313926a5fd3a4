"""`agent context` at monorepo scale, as behaviour: the scan trusts only what git vouches for (and sees every
edit, even one that keeps size and mtime), reads what changed and says so, reads a big tree in two
processes with the same results; names counted without a regex match the regex; the array-only ranking
equals the sorting one; name traits are worked out once and kept."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from agent.context.rank import build_graph, name_traits, name_weight, pagerank, rank_definitions
from agent.context.scan import PARALLEL_MIN_READS, digest, scan_workspace
from agent.context.sealed import CacheFiles, SealedFile
from agent.context.tags import IDENT, TagCache, identifiers
from tests.conftest import git

OLD = 1_600_000_000  # an mtime long past: git's index and ours both hold settled stat data


def settle(repo: Path) -> None:
    """Every file old, then committed, so git's stat data matches and nothing is racy."""
    for path in repo.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            os.utime(path, (OLD, OLD))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "settle", "--allow-empty")


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / ".git/info/exclude").write_text(".duet/\n")
    (repo / "pkg").mkdir()
    for i in range(5):
        (repo / f"pkg/mod{i}.py").write_text(f"def function_{i}(x):\n    return x + {i}\n")
    (repo / "data.bin").write_bytes(b"\0\1\2" * 100)
    settle(repo)
    return repo


def index_file(repo: Path) -> SealedFile:
    files = CacheFiles.for_workspace(repo)
    assert files is not None
    return files.index


def scan(repo: Path, calls: list[str] | None = None):  # type: ignore[no-untyped-def]
    on_change = (lambda: calls.append("changed")) if calls is not None else None
    return scan_workspace(repo, index_file(repo), on_change=on_change)


def test_an_unchanged_repository_scans_the_same_from_the_snapshot_and_writes_nothing(project: Path) -> None:
    first = scan(project)
    cache = index_file(project).path.parent
    assert (cache / "index.snap").is_file() and (cache / "index.bin").is_file()
    written = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    calls: list[str] = []
    again = scan(project, calls)
    assert (again.digests, again.sizes, again.skipped) == (first.digests, first.sizes, first.skipped)
    assert again.digests["pkg/mod1.py"] == digest((project / "pkg/mod1.py").read_bytes())
    assert [s.reason for s in again.skipped if s.path == "data.bin"] == ["binary"]
    assert calls == []  # nothing new or changed
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == written


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(project: Path) -> None:
    scan(project)
    scan(project)  # from the snapshot
    target = project / "pkg/mod2.py"
    edited = target.read_bytes().replace(b"+ 2", b"- 2")
    aside = project / "pkg/mod2.py.new"
    aside.write_bytes(edited)
    os.utime(aside, (OLD, OLD))  # size and mtime as before: only git's inode and ctime check can tell
    aside.replace(target)  # as editors save: written aside, renamed over
    calls: list[str] = []
    after = scan(project, calls)
    assert after.digests["pkg/mod2.py"] == digest(edited)
    assert calls == ["changed"]  # once, however many files changed


def test_a_file_git_is_told_to_assume_unchanged_is_checked_by_us(project: Path) -> None:
    scan(project)
    git(project, "update-index", "--assume-unchanged", "pkg/mod3.py")
    target = project / "pkg/mod3.py"
    target.write_text("def function_3(x, y):\n    return x * y\n")  # git will not look: we must
    assert scan(project).digests["pkg/mod3.py"] == digest(target.read_bytes())


def test_new_deleted_committed_and_touched_files_are_all_seen(project: Path) -> None:
    scan(project)
    (project / "pkg/new.py").write_text("def fresh():\n    pass\n")  # untracked
    (project / "pkg/mod0.py").unlink()
    after = scan(project)
    assert "pkg/new.py" in after.digests and "pkg/mod0.py" not in after.digests
    settle(project)  # a commit: git's tracked listing changes, the snapshot is rebuilt
    committed = scan(project)
    assert committed.digests == after.digests
    os.utime(project / "pkg/mod4.py", (OLD + 10, OLD + 10))  # touched, same content: read, not a change
    calls: list[str] = []
    touched = scan(project, calls)
    assert touched.digests == after.digests and calls == []


def test_a_file_written_just_now_is_read_again_but_not_taken_for_a_change(project: Path) -> None:
    (project / "pkg/hot.py").write_text("def hot():\n    pass\n")  # mtime now: it may change again unseen
    calls: list[str] = []
    scan(project, calls)
    assert calls == ["changed"]
    calls.clear()
    scan(project, calls)
    assert calls == []  # read again (its mtime is too recent to trust) and found the same
    (project / "pkg/hot.py").write_text("def hot():\n    return 1\n")
    assert scan(project, calls).digests["pkg/hot.py"] == digest((project / "pkg/hot.py").read_bytes())
    assert calls == ["changed"]


def test_a_big_tree_read_by_two_processes_gives_every_digest_and_reason(repo: Path) -> None:
    (repo / "many").mkdir()
    count = PARALLEL_MIN_READS + 10
    for i in range(count):
        (repo / f"many/f{i:05d}.txt").write_text(f"file {i}\n")
    (repo / "many/f00001.txt").write_bytes(b"\0binary")  # in the half the worker reads
    (repo / "many/f00002.txt").write_text("# @generated by a tool\nx = 1\n")
    (repo / f"many/f{count - 1:05d}.txt").write_bytes(b"\0binary")  # in the half this process reads
    result = scan_workspace(repo)  # no index: everything is read
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons["many/f00001.txt"] == "binary" and reasons[f"many/f{count - 1:05d}.txt"] == "binary"
    assert reasons["many/f00002.txt"] == "generated (marked in its header)"
    for i in (0, 3, count // 2, count - 2):
        path = f"many/f{i:05d}.txt"
        assert result.digests[path] == digest((repo / path).read_bytes())
        assert result.files[path] == (repo / path).read_bytes()
    assert len(result.digests) == count - 3 + 1  # README.md too


@pytest.mark.parametrize("text", [
    "def f(x):\n    return x_1 + 0x1Fab + 9abc + a1 + _b + __init__ + 123456 + ab1\n",
    "caf\u00e9 = na\u00efve_thing; \u4e2d\u6587 identifier_here\n\tTAB_name\r\nx9y9z9 99ab 9_ab ___",
    "", "ab", "abc", "1abc2def" * 3, "a\0b\0cde\xff\xfeghi",
])
def test_identifiers_counted_without_a_regex_equal_the_regexs(text: str) -> None:
    data = text.encode("utf-8")
    expected = dict(Counter(IDENT.findall("\n" + data.decode("latin-1"))))
    got = identifiers(data)
    assert got == expected and list(got) == list(expected)  # the same names, counts and first-seen order


def _graph():  # type: ignore[no-untyped-def]
    names = ["Alpha", "Beta", "Gamma", "delta_value", "_private_helper", "get", "SHOUTING", "compute_total"]
    files = [f"m{i}.py" for i in range(12)]
    defined = {f: {names[i % len(names)], names[(i * 3) % len(names)]} for i, f in enumerate(files)}
    mentions = {f: {n: 1 + (i + j) % 4 for j, n in enumerate(names) if (i + j) % 3} for i, f in enumerate(files)}
    return build_graph(defined, mentions, {"Beta", "compute_total"})


def test_definitions_are_scored_by_slot_exactly_as_by_sorting_the_edges() -> None:
    graph = _graph()
    ranks = pagerank(graph)
    by_slot = rank_definitions(ranks, graph)
    by_sort = rank_definitions(ranks, dataclasses.replace(graph, slot=None))
    assert by_slot == by_sort and len(by_slot) > 5
    assert rank_definitions(ranks, graph, top=3) == rank_definitions(ranks, dataclasses.replace(graph, slot=None),
                                                                     top=3)


def test_name_weights_from_traits_equal_name_weight() -> None:
    for name in ("compute_invoice_total", "_helper", "get", "HTTPServer", "SHOUTING_CASE", "__init__", "x_y",
                 "CamelCaseName", "_private_long_name", "snake_case_long"):
        for definers in (1, 6):
            for mentioned in (set(), {name}):
                expected = 1.0
                if name in mentioned:
                    expected *= 10.0
                if len(name) >= 8 and ("_" in name.strip("_") or name[0].isupper() != name.isupper()):
                    expected *= 10.0
                if name.startswith("_"):
                    expected *= 0.1
                if definers > 5:
                    expected *= 0.1
                assert name_weight(name, definers, mentioned) == expected


def test_name_traits_are_worked_out_once_and_kept_with_the_vocabulary(tmp_path: Path) -> None:
    files = {"a.py": b"class SomeLongName:\n    def _private_method(self):\n        return other_function()\n",
             "b.py": b"def other_function():\n    return SomeLongName()\n"}
    sealed = SealedFile(tmp_path / "tags.bin", b"k" * 32)
    path = sealed.path
    cache = TagCache(sealed)
    cache.names(files)
    ids = np.arange(len(cache.vocab))
    assert cache.traits(ids).tolist() == [name_traits(n) for n in cache.vocab]
    cache.save()
    before = path.read_bytes()
    again = TagCache(sealed)
    assert again.traits(ids).tolist() == [name_traits(n) for n in cache.vocab]
    again.save()  # nothing was worked out again, so nothing is written
    assert path.read_bytes() == before and not path.with_suffix(".delta").exists()


def test_a_scan_that_assumes_the_last_untracked_files_is_checked_against_git(project: Path) -> None:
    (project / "notes.txt").write_text("untracked notes\n")
    scan(project)
    scan(project)  # the snapshot now knows the untracked files
    index = index_file(project)
    same = scan_workspace(project, index, assume_untracked=True)
    assert "notes.txt" in same.digests and same.confirmed()
    (project / "later.txt").write_text("a new untracked file\n")
    assumed = scan_workspace(project, index, assume_untracked=True)
    assert "later.txt" not in assumed.digests  # taken as before, while git walked the tree...
    assert not assumed.confirmed()  # ...and git's answer says otherwise
    assert "later.txt" in scan_workspace(project, index).digests


def test_a_plan_never_misses_an_untracked_file_that_appeared(project: Path) -> None:
    from agent.config import load_config
    from agent.context.plan import ContextBuilder

    cfg = load_config(project, {}, {"HOME": str(project / ".home")})
    for _ in range(2):  # the second run leaves a snapshot that lists the untracked files
        builder = ContextBuilder(project, cfg)
        builder.plan("deepseek-v4-pro")
        builder.wait()
    (project / "pkg/appeared.py").write_text("def appeared():\n    return 1\n")
    builder = ContextBuilder(project, cfg)
    plan = builder.plan("deepseek-v4-pro")
    assert plan.kind == "pack" and "pkg/appeared.py" in plan.packed
    (project / "pkg/appeared.py").unlink()
    assert "pkg/appeared.py" not in ContextBuilder(project, cfg).plan("deepseek-v4-pro").packed


def test_recently_changed_from_the_index_and_the_dirty_files_equals_a_full_git_diff(project: Path) -> None:
    from agent.context.inplay import recently_changed, recently_changed_soon
    from agent.context.worktree import WorktreeListing

    def both() -> tuple[list[str], list[str]]:
        listing = WorktreeListing(project)
        dirty = listing.dirty()
        listing.close()
        return recently_changed_soon(project)(dirty), recently_changed(project)

    fast, full = both()
    assert fast == full  # HEAD~1 against the work tree: what the settle commit added
    settle(project)  # an empty commit: HEAD~1 now holds every file as it is
    assert both() == ([], [])
    (project / "pkg/mod1.py").write_text("def function_1(x):\n    return x - 1\n")  # unstaged edit
    (project / "pkg/a*b?.py").write_text("x = 1\n")
    git(project, "add", "pkg/a*b?.py")  # staged new file whose name is a glob
    (project / "pkg/a*b?.py").write_text("x = 2\n")
    os.utime(project / "pkg/mod4.py", (OLD + 5, OLD + 5))  # touched only: git finds it unchanged
    (project / "pkg/mod3.py").unlink()  # deleted in the work tree
    git(project, "rm", "-q", "--cached", "pkg/mod2.py")  # deletion staged, file kept
    fast, full = both()
    assert fast == full
    assert {"pkg/mod1.py", "pkg/a*b?.py", "pkg/mod3.py", "pkg/mod2.py"} <= set(full)
    assert "pkg/mod4.py" not in full
    settle(project)
    assert both()[0] == both()[1]
