"""The Spark engine against the local engine: the same scan, wall-clock time and the read stage.

    python benchmarks/spark.py --sizes 12,100 --runs 3
    python benchmarks/spark.py --sizes 12 --runs 1 --master "local[2]"

For each generated corpus (seed 42, cached under benchmarks/data like ``perf.py``'s), runs
``dedup scan`` with ``--engine local``, with ``--engine spark --spark-master MASTER`` on the folder
(the executors read the files by path), and with the Spark engine on the folder's ``file://`` URI
(Spark lists and reads the files, as on HDFS or S3), in turn (``--runs`` each; medians); checks
that all write byte-identical CSV reports, and records the wall-clock time and the read stage's
seconds (``read_fingerprint`` in ``summary.json``, which with Spark includes starting the
session). Writes ``benchmarks/results/spark.json``.

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


def _scan(folder: str, out: Path, extra: list[str]) -> tuple[float, float]:
    """Wall-clock seconds of one ``dedup scan`` and its read stage's seconds."""
    cmd = [sys.executable, "-m", "dedup", "scan", folder, "--out", str(out), "--quiet", *extra]
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
        spark = ["--engine", "spark", "--spark-master", args.master]
        variants = {"local": (str(folder), []), "spark": (str(folder), spark), "spark_uri": (folder.as_uri(), spark)}
        times: dict[str, list[float]] = {name: [] for name in variants}
        reads: dict[str, list[float]] = {name: [] for name in variants}
        identical = True
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.runs):
                outs = {}
                for name, (where, extra) in variants.items():
                    outs[name] = Path(tmp) / f"{name}{i}"
                    seconds, read = _scan(where, outs[name], extra)
                    times[name].append(round(seconds, 2))
                    reads[name].append(round(read, 2))
                    print(f"{size:g} MB {name}: {seconds:.2f} s (read stage {read:.2f} s)", file=sys.stderr)
                for name in ("spark", "spark_uri"):
                    identical &= all((outs["local"] / n).read_bytes() == (outs[name] / n).read_bytes() for n in REPORTS)
        cases.append(
            {
                "corpus_mb": round(folder_bytes(folder) / 1e6, 2),
                "files": sum(1 for p in folder.rglob("*") if p.is_file()),
                **{f"{name}_seconds": times[name] for name in variants},
                **{f"median_{name}_seconds": statistics.median(times[name]) for name in variants},
                **{f"median_{name}_read_seconds": statistics.median(reads[name]) for name in variants},
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
