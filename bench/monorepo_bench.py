"""`agent context` on a monorepo: cold, warm, one file changed, peak memory, at 5K / 15K / 50K files.

The corpus is built OUTSIDE this repository (default /work/corpora/mono-<N>) from PyPI source distributions
laid side by side in one git repository: Django, SymPy, pandas, scikit-learn, matplotlib, ansible-core and
Ansible's collections. At 50K every project is whole and Ansible's collections fill up to the size; the 5K
and 15K repositories take the same share of every project (its first files in path order): smaller versions
of the same mixture.

Every figure is a whole `agent context --model gpt-5.5` process. Peak memory is the largest sum, over the
process and all its descendants (the parsing worker, git), of proportional set size (/proc/PID/smaps_rollup),
sampled every 20 ms in a second run of each kind: the sampling itself slows the process it samples, so the
timed runs are not sampled.

Run: python bench/monorepo_bench.py --build      (once: download and lay out the corpora)
     python bench/monorepo_bench.py [--sizes 5000 15000 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

from agent.userdirs import cache_base, workspace_key

PROJECTS = (("django", "django==5.2.19"), ("sympy", "sympy==1.14.0"), ("pandas", "pandas==3.1.1"),
            ("scikit_learn", "scikit-learn==1.9.1"), ("matplotlib", "matplotlib==3.11.2"),
            ("ansible_core", "ansible-core==2.19.14"), ("ansible", "ansible==12.3.0"))
SIZES = (5_000, 15_000, 50_000)
TARGETS = {"cold": 10.0, "warm": 1.0, "one file changed": 1.5}
MEMORY_TARGET_MB = 1024


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def download(requirement: str, downloads: Path) -> Path:
    """The sdist of `requirement`: pip first; for packages whose sdist pip cannot prepare without building
    (meson: pandas, scikit-learn, matplotlib), the same file from the index pip reads."""
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}"
    for candidate in (downloads / f"{stem}.tar.gz", downloads / f"{name}-{version}.tar.gz"):
        if candidate.exists():
            return candidate
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", requirement,
                           "-d", str(downloads)], capture_output=True)
    if done.returncode != 0:
        request = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                                          headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response)["files"]
        url = next(f["url"] for f in files if f["filename"] in (f"{stem}.tar.gz", f"{name}-{version}.tar.gz"))
        with urllib.request.urlopen(url, timeout=600) as response:
            (downloads / url.rsplit("/", 1)[-1]).write_bytes(response.read())
    return next(p for p in (downloads / f"{stem}.tar.gz", downloads / f"{name}-{version}.tar.gz") if p.exists())


def build(corpora: Path, sizes: tuple[int, ...]) -> None:
    downloads, sources = corpora / "dl", corpora / "mono-src"
    downloads.mkdir(parents=True, exist_ok=True)
    sources.mkdir(exist_ok=True)
    listing: dict[str, list[Path]] = {}
    for folder, requirement in PROJECTS:
        target = sources / folder
        if not target.exists():
            archive = download(requirement, downloads)
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
        listing[folder] = sorted(p for p in target.rglob("*") if p.is_file() and not p.is_symlink())
    total = sum(len(v) for v in listing.values())
    for size in sizes:
        repo = corpora / f"mono-{size // 1000}k"
        if (repo / ".git").exists():
            continue
        repo.mkdir()
        others = total - len(listing["ansible"])
        taken = 0
        for i, (folder, files) in enumerate(listing.items()):
            if size >= others:  # every project whole, Ansible's collections cut to fill up to `size`
                share = len(files) if folder != "ansible" else size - others
            else:  # the same mixture, smaller: each project's share, its first files in path order
                share = size - taken if i == len(listing) - 1 else round(size * len(files) / total)
            for path in files[:share]:
                dest = repo / folder / path.relative_to(sources / folder)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
            taken += min(share, len(files))
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                   GIT_COMMITTER_EMAIL="b@b")
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        (repo / ".git/info/exclude").write_text(".duet/\n")
        subprocess.run(["git", "add", "-A", "-f"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "monorepo"], cwd=repo, check=True, env=env)
        count = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.count("\n")
        print(f"built {repo}: {count:,} files")


def _descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        current = stack.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(cmd: list[str], cwd: Path, *, sample: bool = False) -> tuple[float, float]:
    """(wall seconds, peak summed PSS in MB, 0 unless `sample`) of one whole process tree.

    Timed runs are not sampled: reading smaps_rollup walks the process's page tables under its memory map
    lock every 20 ms, which stalls an allocating process (mmap, munmap, brk wait for it) and takes CPU from a
    2-core machine; it made the one-file-changed run 40% slower. Memory comes from separate sampled runs."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sampler() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, sum(_pss_kb(p) for p in _descendants(proc.pid)))
            done.wait(0.02)

    watcher = threading.Thread(target=sampler) if sample else None
    if watcher is not None:
        watcher.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    if watcher is not None:
        watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err.decode(errors='replace')[-2000:]}")
    return elapsed, peak / 1024


def scenario(kind: str, cmd: list[str], repo: Path, touched: Path, original: bytes, tag: str, *,
             sample: bool) -> tuple[float, float]:
    """One run of `kind` (cold: no cache; warm: nothing changed; one file changed: a comment appended to
    `touched`, put back afterwards and the caches brought back to the committed content)."""
    if kind == "cold":
        shutil.rmtree(cache_base() / "workspaces" / workspace_key(repo.resolve()), ignore_errors=True)
        return measured(cmd, repo, sample=sample)
    if kind == "warm":
        return measured(cmd, repo, sample=sample)
    touched.write_bytes(original + f"\n# changed in round {tag} at {time.time()}\n".encode())
    try:
        return measured(cmd, repo, sample=sample)
    finally:
        touched.write_bytes(original)
        measured(cmd, repo)  # back to the committed content (warm again)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=Path(os.environ.get("DUET_CORPORA", "/work/corpora")))
    parser.add_argument("--build", action="store_true", help="download the sdists and lay out the monorepos")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.build:
        build(args.corpora, tuple(args.sizes))
    agent = shutil.which("agent") or str(Path(sys.executable).parent / "agent")
    cmd = [agent, "context", "--model", "gpt-5.5"]
    print(f"before: {load()}")
    results: dict[int, dict[str, list[tuple[float, float]]]] = {}
    for size in args.sizes:
        repo = args.corpora / f"mono-{size // 1000}k"
        if not (repo / ".git").exists():
            print(f"{repo} missing: run with --build", file=sys.stderr)
            return 2
        files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.count("\n")
        touched = next(p for p in sorted((repo / "django").rglob("*.py")) if p.stat().st_size > 2000)
        original = touched.read_bytes()
        runs: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "one file changed": []}
        for round_ in range(args.rounds):
            for kind in runs:
                wall, _ = scenario(kind, cmd, repo, touched, original, f"{round_}t", sample=False)
                _, peak = scenario(kind, cmd, repo, touched, original, f"{round_}m", sample=True)
                runs[kind].append((wall, peak))
        results[files] = runs
        print(f"{files:,} files done: {load()}", flush=True)
    print()
    print(f"`agent context --model gpt-5.5` on the monorepo, whole process, medians of {args.rounds} rounds "
          "(peak memory: summed PSS of the process tree, the largest of the sampled runs):")
    print("| files | cold | warm | one file changed | peak memory |")
    print("|---|---|---|---|---|")
    for files, runs in results.items():
        cells = [f"{statistics.median(t for t, _ in runs[k]):.2f} s" for k in ("cold", "warm", "one file changed")]
        peak = max(m for k in runs for _, m in runs[k])
        print(f"| {files:,} | {' | '.join(cells)} | {peak:.0f} MB |")
    print(f"targets at 50K: cold ≤ {TARGETS['cold']} s, warm ≤ {TARGETS['warm']} s, one file changed ≤ "
          f"{TARGETS['one file changed']} s, peak ≤ {MEMORY_TARGET_MB} MB")
    print(f"after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
