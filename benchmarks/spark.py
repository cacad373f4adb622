"""The Spark engine against the local engine: the same scan, wall-clock time and the read stage.

    python benchmarks/spark.py --sizes 12,100 --runs 3
    python benchmarks/spark.py --sizes 12 --runs 1 --master "local[2]"

For each generated corpus (seed 42, cached under benchmarks/data like ``perf.py``'s), runs
``dedup scan`` with ``--engine local`` and ``--engine spark --spark-master MASTER`` alternately
(``--runs`` each; medians), checks that both write byte-identical CSV reports, and records the
wall-clock time and the read stage's seconds (``read_fingerprint`` in ``summary.json``, which with
Spark includes starting the session). Writes ``benchmarks/results/spark.json``.

Needs ``pip install ".[spark]"`` and Java 17 or later.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from perf import corpus_of, folder_bytes  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
REPORTS = ("articles.csv", "boilerplate.csv", "clusters.csv", "pairs.csv")


def _scan(folder: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall-clock seconds of one ``dedup scan`` and its read stage's seconds."""
    cmd = [sys.executable, "-m", "dedup", "scan", str(folder), "--out", str(out), "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return seconds, json.loads((out / "summary.json").read_text())["seconds"]["read_fingerprint"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="12,100", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    parser.add_argument("--out", type=Path, default=RESULTS / "spark.json")
    args = parser.parse_args(argv)
    import pyspark

    cases = []
    for size in [float(s) for s in args.sizes.split(",")]:
        folder = corpus_of(size, 42)
        times: dict[str, list[float]] = {"local": [], "spark": []}
        reads: dict[str, list[float]] = {"local": [], "spark": []}
        identical = True
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.runs):
                outs = {}
                for engine, extra in (("local", []), ("spark", ["--engine", "spark", "--spark-master", args.master])):
                    outs[engine] = Path(tmp) / f"{engine}{i}"
                    seconds, read = _scan(folder, outs[engine], extra)
                    times[engine].append(round(seconds, 2))
                    reads[engine].append(round(read, 2))
                    print(f"{size:g} MB {engine}: {seconds:.2f} s (read stage {read:.2f} s)", file=sys.stderr)
                identical &= all((outs["local"] / n).read_bytes() == (outs["spark"] / n).read_bytes() for n in REPORTS)
        cases.append(
            {
                "corpus_mb": round(folder_bytes(folder) / 1e6, 2),
                "files": sum(1 for p in folder.rglob("*") if p.is_file()),
                "local_seconds": times["local"],
                "spark_seconds": times["spark"],
                "median_local_seconds": statistics.median(times["local"]),
                "median_spark_seconds": statistics.median(times["spark"]),
                "median_local_read_seconds": statistics.median(reads["local"]),
                "median_spark_read_seconds": statistics.median(reads["spark"]),
                "identical_reports": identical,
            }
        )
    result = {
        "master": args.master,
        "runs": args.runs,
        "pyspark_version": pyspark.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if all(c["identical_reports"] for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
