"""Cost of a nightly ``dedup index`` run that adds 1 % new articles, against a full ``dedup scan``.

    python benchmarks/incremental.py --articles 100000
    python benchmarks/incremental.py --articles 10000 --runs 3

Generates (seeded, ``corpus/``) a plain-text corpus of ``--articles`` articles plus 1 % more, indexes
the base into a fresh store (its size is recorded), then times (median of ``--runs``, each on a copy
of that store) the run that adds the extra 1 %, the next run with nothing new, two more runs with
nothing new and ``--out`` (the first matches the store to write the full reports and keeps them,
the second writes the kept ones), ``dedup report`` (the kept reports), ``dedup clean`` with what
the last matching run kept and then with that removed from the store (it matches the store; the
two copies are compared), and a full ``dedup scan`` of the final folder. Writes
``benchmarks/results/incremental.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.generate import write_corpus  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0


def _tree(folder: Path) -> str:
    """A digest of every file's path and bytes under ``folder``."""
    digest = hashlib.blake2b()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "incremental.json")
    args = parser.parse_args(argv)
    extra = max(1, args.articles // 100)
    source = DATA / f"incremental-{args.articles}-seed{args.seed}"
    if not (source / "truth.csv").exists():
        write_corpus(source, n_articles=args.articles + extra, seed=args.seed, formats=False)
    files = sorted(p for p in (source / "articles").rglob("*") if p.is_file())
    added = set(files[-extra:])  # the generator numbers articles: the last 1 % arrive "tonight"
    dedup = [sys.executable, "-m", "dedup"]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "corpus"
        for f in files:
            if f not in added:
                target = base / f.relative_to(source / "articles")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
        store = Path(tmp) / "base.sqlite"
        base_seconds = _timed([*dedup, "index", str(base), "--store", str(store), "-q"])
        store_mb = sum(p.stat().st_size for p in Path(tmp).glob("base.sqlite*")) / 1e6
        for f in added:
            target = base / f.relative_to(source / "articles")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
        os.sync()
        increments, unchanged, scans = [], [], []
        matched_out, kept_out, reports, clean_kept, clean_matched = [], [], [], [], []
        same_clean = True
        for i in range(args.runs):
            copy = Path(tmp) / f"run{i}.sqlite"
            shutil.copyfile(store, copy)
            os.sync()  # the copy's dirty pages written out first: a nightly run does not start right after one
            index = [*dedup, "index", str(base), "--store", str(copy), "-q"]
            increments.append(_timed(index))
            unchanged.append(_timed(index))
            # With --out: the first run matches (the +1 % run kept no reports) and keeps its reports,
            # the next one writes those, and so does dedup report.
            matched_out.append(_timed([*index, "--out", str(Path(tmp) / f"out{i}a")]))
            kept_out.append(_timed([*index, "--out", str(Path(tmp) / f"out{i}b")]))
            reports.append(_timed([*dedup, "report", "--store", str(copy), "--out", str(Path(tmp) / f"rep{i}"), "-q"]))
            # dedup clean with what the last matching run kept, then without it (the store matched).
            cleans = [Path(tmp) / f"clean{i}{end}" for end in "ab"]
            clean = [*dedup, "clean", "--store", str(copy), "-q", "--out"]
            clean_kept.append(_timed([*clean, str(cleans[0])]))
            with sqlite3.connect(copy) as db:
                db.execute("DELETE FROM cache WHERE key = 'clean_plan'")
            clean_matched.append(_timed([*clean, str(cleans[1])]))
            same_clean = same_clean and _tree(cleans[0]) == _tree(cleans[1])
            for folder in cleans:
                shutil.rmtree(folder)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            scans.append(_timed([*dedup, "scan", str(base), "--out", str(Path(tmp) / f"scan{i}"), "-q"]))
        mb = sum(f.stat().st_size for f in files) / 1e6
    report: dict[str, Any] = {
        "articles_base": args.articles,
        "articles_added": extra,
        "corpus_mb": round(mb, 2),
        "initial_index_seconds": round(base_seconds, 2),
        "store_mb": round(store_mb, 1),
    }
    timed = {
        "increment": increments,
        "unchanged": unchanged,
        "scan": scans,
        "matched_out": matched_out,
        "kept_out": kept_out,
        "report": reports,
        "clean_kept": clean_kept,
        "clean_matched": clean_matched,
    }
    for name, seconds in timed.items():
        report[f"{name}_seconds"] = [round(t, 2) for t in seconds]
        report[f"median_{name}_seconds"] = round(statistics.median(seconds), 2)
    report["same_clean"] = same_clean
    report["increment_share_of_scan"] = round(report["median_increment_seconds"] / report["median_scan_seconds"], 3)
    print(json.dumps(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
