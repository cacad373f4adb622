"""A large JSONL file read in parts, against the same file read whole and against eight shards.

    python benchmarks/shards.py
    python benchmarks/shards.py --articles 13000 --runs 3 --workers 2

Generates (seeded, ``corpus/``) ``--articles`` articles and writes them as JSONL records three
ways (one file, the same file gzipped, and eight files of every eighth record) and as one Parquet
file of row groups of 1,000 rows (as datatrove writes them; needs pyarrow). Times ``dedup scan``
of each (median of ``--runs``; peak RSS of the largest process, ``wait4``), the single files both
as this version reads them (in parts) and read whole (``pipeline._PART_BYTES`` raised past their
size, as earlier versions read them), and checks that a file gives the same reports in parts and whole.
Writes ``benchmarks/results/shards.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.perf import timed_process  # noqa: E402
from corpus.generate import write_corpus  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
REPORTS = ("clusters.csv", "pairs.csv", "articles.csv", "boilerplate.csv", "skipped.csv")
# Runs dedup with parts of a given size (bytes): 1 << 40 reads every file whole.
_RUN = (
    "import sys; from dedup import pipeline; pipeline._PART_BYTES = int(sys.argv.pop(1)); "
    "from dedup.cli import app; app()"
)


def _write_layouts(source: Path, layouts: dict[str, Path]) -> None:
    """The generated articles as JSONL records (one file, gzipped, eight files) and Parquet rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(p for p in (source / "articles").rglob("*.txt"))
    rows = [{"id": p.relative_to(source).as_posix(), "text": p.read_text("utf-8")} for p in files]
    records = [json.dumps(r) for r in rows]
    for folder in layouts.values():
        folder.mkdir()
    text = "\n".join(records) + "\n"
    (layouts["one"] / "all.jsonl").write_text(text, encoding="utf-8")
    (layouts["gzipped"] / "all.jsonl.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    table = pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]})
    pq.write_table(table, layouts["parquet"] / "all.parquet", row_group_size=1000)  # as datatrove writes
    for k in range(8):
        (layouts["eight"] / f"part{k}.jsonl").write_text("\n".join(records[k::8]) + "\n", encoding="utf-8")
    (layouts["one"].parent / "count").write_text(str(len(rows)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=13_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "shards.json")
    args = parser.parse_args(argv)
    source = DATA / f"shards-{args.articles}-seed{args.seed}"
    if not (source / "truth.csv").exists():
        write_corpus(source, n_articles=args.articles, seed=args.seed, formats=False)
    with tempfile.TemporaryDirectory() as tmp:
        layouts = {name: Path(tmp) / name for name in ("one", "gzipped", "parquet", "eight")}
        # Written by a forked child: a child of this process counts this process' pages as its own
        # until it execs (wait4's peak RSS), so this process holds nothing large.
        writer = multiprocessing.get_context("fork").Process(target=_write_layouts, args=(source, layouts))
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            raise SystemExit("writing the layouts failed")
        n_records = int((Path(tmp) / "count").read_text())
        jsonl_mb = (layouts["one"] / "all.jsonl").stat().st_size / 1e6
        gzipped_mb = (layouts["gzipped"] / "all.jsonl.gz").stat().st_size / 1e6
        cases = {
            "one file, in parts": ("one", 8 << 20),
            "one file, read whole": ("one", 1 << 40),
            "one gzipped file, in parts": ("gzipped", 8 << 20),
            "one gzipped file, read whole": ("gzipped", 1 << 40),
            "one Parquet file (row groups of 1,000), in parts": ("parquet", 8 << 20),
            "one Parquet file (row groups of 1,000), read whole": ("parquet", 1 << 40),
            "eight files": ("eight", 8 << 20),
        }
        timings: dict[str, list[float]] = {name: [] for name in cases}
        peaks: dict[str, list[int]] = {name: [] for name in cases}
        reports: dict[str, dict[str, bytes]] = {}
        for run in range(args.runs):
            for name, (layout, part) in cases.items():  # alternating, so that drift spreads over all
                out = Path(tmp) / f"out-{run}-{list(cases).index(name)}"
                cmd = [sys.executable, "-c", _RUN, str(part), "scan", str(layouts[layout]), "--out", str(out)]
                seconds, (rss, _), code = timed_process([*cmd, "-q", "--workers", str(args.workers)])
                if code != 0:
                    raise SystemExit(f"dedup scan failed ({code}): {name}")
                timings[name].append(seconds)
                peaks[name].append(rss)
                reports[name] = {r: (out / r).read_bytes() for r in REPORTS}
    result: dict[str, Any] = {
        "articles": n_records,
        "jsonl_mb": round(jsonl_mb, 1),
        "gzipped_mb": round(gzipped_mb, 1),
        "workers": args.workers,
        "runs": args.runs,
        "cases": {
            name: {
                "seconds": [round(t, 2) for t in timings[name]],
                "median_seconds": round(statistics.median(timings[name]), 2),
                "peak_rss_mb": round(max(peaks[name]) / 1e6),
            }
            for name in cases
        },
        "same_reports_in_parts_and_whole": all(
            reports[f"{kind}, in parts"] == reports[f"{kind}, read whole"]
            for kind in ("one file", "one gzipped file", "one Parquet file (row groups of 1,000)")
        ),
    }
    print(json.dumps(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
