"""Speed and memory of ``dedup scan`` against a plain datasketch pipeline, on generated corpora.

    python benchmarks/perf.py                       # 100 MB, sizes 12/25/50/100 MB, 3 runs each
    python benchmarks/perf.py --sizes 6,12,25 --runs 3 --reference-runs 1

For each size a seeded corpus of plain ``.txt`` SEO articles is generated with ``corpus/`` into
``benchmarks/data/`` (git-ignored). ``dedup scan`` runs as a separate process (end to end: start-up,
reading, every stage, writing the reports), ``--runs`` times with nothing beside it; one extra run,
whose time is not used, samples the summed RSS and PSS of the process and its workers every 20 ms
for the memory figures. On the largest size the reference pipeline (``benchmarks/reference.py``)
runs too, and the agreement is the share of the reference's verified paragraph pairs that dedup also
verifies as full matches. Results go to ``benchmarks/results/perf.json``; ``benchmarks/render.py``
makes the README table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus.generate import write_corpus  # noqa: E402
from dedup.cli import build_config  # noqa: E402
from dedup.pipeline import match_corpus  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
BYTES_PER_ARTICLE = 4400  # plain generated articles average about 4,500 bytes: aim a little over


def corpus_of(size_mb: float, seed: int) -> Path:
    """A generated corpus of at least ``size_mb`` MB (cached under benchmarks/data).

    The article count starts from the average article size and grows until the files reach the
    target, so the same size and seed always give the same corpus.
    """
    folder = DATA / f"seo-{size_mb:g}mb-seed{seed}"
    articles, target = folder / "articles", size_mb * 1e6
    if (folder / "truth.csv").exists() and folder_bytes(articles) >= target:
        return articles
    n_articles = max(10, int(target / BYTES_PER_ARTICLE))
    while True:
        shutil.rmtree(folder, ignore_errors=True)  # another article count names files differently
        write_corpus(folder, n_articles=n_articles, seed=seed, formats=False)
        size = folder_bytes(articles)
        if size >= target:
            return articles
        n_articles = int(n_articles * target / size) + 10


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _tree_pids(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc), parents first."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found.append(p)
    return found


def _tree_memory_kib(pid: int, tries: int = 5) -> tuple[int, int]:
    """Summed VmRSS and summed PSS of a process and all its descendants (Linux /proc).

    RSS counts a page shared by forked workers once per process (an upper bound); PSS splits each
    shared page between its sharers, so the PSS sum is the tree's real footprint.

    The processes are read one after the other, so a worker forked (or ended) between two reads
    makes a false sum: the parent read before the fork holds its pages alone, the child read after
    it holds half of them again, and a 700 MB parent then reads 350 MB too high. A sample whose
    set of processes changed while it was read is taken again (up to ``tries`` times).
    """
    rss = pss = 0
    for _ in range(tries):
        pids = _tree_pids(pid)
        rss = pss = 0
        for p in pids:
            try:
                with open(f"/proc/{p}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1])
                with open(f"/proc/{p}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if _tree_pids(pid) == pids:
            break
    return rss, pss


def timed_process(cmd: list[str], sample_memory: bool = False) -> tuple[float, tuple[int, int], int]:
    """Run a command; return (seconds, (peak RSS, peak PSS) in bytes, exit code).

    Without ``sample_memory`` nothing runs beside the command (reading ``smaps_rollup`` of a large
    process every few ms costs kernel time and slows the measured run by up to a fifth on two
    cores); the RSS is then the peak of the largest single process (``wait4``) and the PSS is 0.
    With it, the summed RSS and PSS of the process tree are sampled every 20 ms.
    """
    if not sample_memory:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        if code != 0:
            sys.stderr.write(err.decode(errors="replace"))
        return seconds, (usage.ru_maxrss * 1024, 0), code
    peak = peak_pss = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory_kib(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
    return seconds, (peak * 1024, peak_pss * 1024), proc.returncode


def run_dedup(
    folder: Path, out: Path, workers: int | None, sample_memory: bool = False
) -> tuple[float, tuple[int, int], dict]:
    cmd = [sys.executable, "-m", "dedup", "scan", str(folder), "--out", str(out), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    seconds, rss, code = timed_process(cmd, sample_memory)
    if code != 0:
        raise SystemExit(f"dedup scan failed with exit code {code}")
    summary = json.loads((out / "summary.json").read_text())
    return seconds, rss, summary


def run_reference(folder: Path) -> tuple[float, tuple[int, int], dict]:
    code = (
        "import json,sys,hashlib;sys.path[:0]=[{root!r},{bench!r}];from reference import reference_run;"
        "from pathlib import Path;r=reference_run(Path({folder!r}));"
        "h=lambda t: hashlib.blake2b(t.encode(),digest_size=8).hexdigest();"
        "r['verified']=sorted(sorted([h(a),h(b)]) for a,b in r['verified']);"
        "json.dump(r,open({out!r},'w'))"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ref.json"
        script = code.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), folder=str(folder), out=str(out))
        seconds, rss, rc = timed_process([sys.executable, "-c", script])
        if rc != 0:
            raise SystemExit("reference pipeline failed")
        # One process: its peak RSS (wait4) stands for the PSS too (shared libraries counted whole).
        rss = (rss[0], rss[0])
        return seconds, rss, json.loads(out.read_text())


def dedup_full_pairs(folder: Path) -> set[tuple[str, str]]:
    """dedup's verified (full) paragraph pairs as sorted pairs of text hashes."""
    import hashlib

    corpus, edges, _ = match_corpus(folder, build_config())

    def h(t: str) -> str:
        return hashlib.blake2b(t.encode(), digest_size=8).hexdigest()

    pairs = set()
    for a, b in zip(edges.a[edges.full].tolist(), edges.b[edges.full].tolist(), strict=True):
        x, y = h(corpus.norms[a]), h(corpus.norms[b])
        pairs.add((x, y) if x < y else (y, x))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="12,25,50,100", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="dedup runs per size (median reported)")
    parser.add_argument("--reference-runs", type=int, default=3, help="reference runs on the largest size")
    parser.add_argument("--workers", type=int, default=None, help="dedup --workers (default: all cores)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=RESULTS / "perf.json")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",")]
    report: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": args.runs,
        "sizes": [],
    }
    for size in sizes:
        folder = corpus_of(size, args.seed)
        mb = folder_bytes(folder) / 1e6
        times, summary = [], {}
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                seconds, _, summary = run_dedup(folder, Path(tmp), args.workers)
            times.append(seconds)
        with tempfile.TemporaryDirectory() as tmp:  # one more run, sampled, for memory only
            rss_all = [run_dedup(folder, Path(tmp), args.workers, sample_memory=True)[1]]
        median = statistics.median(times)
        entry = {
            "target_mb": size,
            "mb": round(mb, 2),
            "articles": summary["articles"],
            "paragraphs": summary["paragraphs"],
            "seconds": [round(t, 2) for t in times],
            "median_seconds": round(median, 2),
            "mb_per_s": round(mb / median, 2),
            "paragraphs_per_s": round(summary["paragraphs"] / median),
            "seconds_per_mb": round(median / mb, 3),
            "peak_rss_mb": round(max(r for r, _ in rss_all) / 1e6, 1),
            "peak_rss_gb_per_million_paragraphs": round(
                max(r for r, _ in rss_all) / 1e9 / (summary["paragraphs"] / 1e6), 2
            ),
            "peak_pss_mb": round(max(p for _, p in rss_all) / 1e6, 1),
            "peak_pss_gb_per_million_paragraphs": round(
                max(p for _, p in rss_all) / 1e9 / (summary["paragraphs"] / 1e6), 2
            ),
            "stages": summary["seconds"],
        }
        report["sizes"].append(entry)
        print(json.dumps(entry), flush=True)
    largest = report["sizes"][-1]
    folder = corpus_of(sizes[-1], args.seed)
    ref_times, ref_rss, ref = [], [], {}
    for _ in range(max(1, args.reference_runs)):
        seconds, rss, ref = run_reference(folder)
        ref_times.append(seconds)
        ref_rss.append(rss)
    ref_median = statistics.median(ref_times)
    found = dedup_full_pairs(folder)
    verified = {tuple(p) for p in ref["verified"]}
    report["reference"] = {
        "mb": largest["mb"],
        "seconds": [round(t, 2) for t in ref_times],
        "median_seconds": round(ref_median, 2),
        "mb_per_s": round(largest["mb"] / ref_median, 3),
        "peak_rss_mb": round(max(r for r, _ in ref_rss) / 1e6, 1),
        "peak_pss_mb": round(max(p for _, p in ref_rss) / 1e6, 1),
        "stages": {k: round(v, 2) for k, v in ref["seconds"].items()},
        "verified_pairs": len(verified),
    }
    report["speedup"] = round(ref_median / largest["median_seconds"], 2)
    report["agreement"] = round(len(verified & found) / len(verified), 4) if verified else 1.0
    smallest = report["sizes"][0]
    report["cost_growth"] = round(largest["seconds_per_mb"] / smallest["seconds_per_mb"], 3)
    print(json.dumps({k: report[k] for k in ("reference", "speedup", "agreement", "cost_growth")}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
