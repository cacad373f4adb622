"""Regenerate the README's benchmark tables from benchmarks/results/*.json.

    python benchmarks/render.py

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers in README.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _row(cells: list[object] | tuple[object, ...]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


LOW = "dedup_shingle_containment_0.2"


def quality_table(q: dict) -> str:
    w, c, g = q["wiki_versions"], q["clough_stevenson_2011"], q["generated_seo"]
    lines = [
        _row(
            [
                "corpus",
                "metric",
                "dedup (defaults)",
                "dedup --linkage single",
                "dedup --shingle-containment 0.2",
                "document MinHash baseline",
            ]
        ),
        _row(["---"] * 6),
    ]
    for metric in ("ari", "precision", "recall", "f1"):
        lines.append(
            _row(
                [
                    f"wiki_versions dev ({w['documents']} docs)",
                    metric,
                    f"{w['dedup'][metric]:.3f}",
                    f"{w['dedup_single_linkage'][metric]:.3f}",
                    f"{w[LOW][metric]:.3f}",
                    f"{w['baseline'][metric]:.3f}",
                ]
            )
        )
    for reading in ("near_dup", "near_dup_without_heavy", "derived"):
        for metric in ("ari", "precision", "recall"):
            lines.append(
                _row(
                    [
                        f"Clough & Stevenson, {reading.replace('_', ' ')}",
                        metric,
                        *(f"{c[reading][k][metric]:.3f}" for k in ("dedup", "dedup_single_linkage", LOW, "baseline")),
                    ]
                )
            )
    cats = c["categories"]
    for key, label in (
        ("recall_cut", "recall of cut answers"),
        ("recall_light", "recall of light revisions"),
        ("recall_heavy", "recall of heavy revisions"),
        ("non_unclustered", "share of `non` answers left unclustered"),
    ):
        lines.append(
            _row(
                [
                    "Clough & Stevenson",
                    label,
                    *(f"{cats[k][key]:.3f}" for k in ("dedup", "dedup_single_linkage", LOW, "baseline")),
                ]
            )
        )
    for metric in ("ari", "precision", "recall"):
        lines.append(
            _row(
                [
                    f"generated SEO ({g['documents']} articles)",
                    metric,
                    f"{g['dedup'][metric]:.3f}",
                    "",
                    f"{g[LOW][metric]:.3f}",
                    f"{g['baseline'][metric]:.3f}",
                ]
            )
        )
    return "\n".join(lines)


PERF_COLUMNS = (
    "corpus",
    "articles",
    "paragraphs",
    "median s",
    "MB/s",
    "paragraphs/s",
    "s per MB",
    "peak RSS MB (sum)",
    "RSS GB per M paragraphs",
    "peak PSS MB",
    "PSS GB per M paragraphs",
)


def perf_table(p: dict) -> str:
    lines = [
        _row(PERF_COLUMNS),
        _row(["---"] * len(PERF_COLUMNS)),
    ]
    for e in p["sizes"]:
        lines.append(
            _row(
                [
                    f"{e['mb']:.1f} MB",
                    e["articles"],
                    e["paragraphs"],
                    f"{e['median_seconds']:.2f}",
                    f"{e['mb_per_s']:.2f}",
                    e["paragraphs_per_s"],
                    f"{e['seconds_per_mb']:.3f}",
                    f"{e['peak_rss_mb']:.0f}",
                    f"{e['peak_rss_gb_per_million_paragraphs']:.1f}",
                    f"{e['peak_pss_mb']:.0f}" if "peak_pss_mb" in e else "",
                    f"{e['peak_pss_gb_per_million_paragraphs']:.1f}" if "peak_pss_mb" in e else "",
                ]
            )
        )
    r = p["reference"]
    lines.append("")
    lines.append(_row(["on the largest corpus", "dedup scan", "plain datasketch reference"]))
    lines.append(_row(["---"] * 3))
    largest = p["sizes"][-1]
    lines.append(_row(["median seconds", f"{largest['median_seconds']:.2f}", f"{r['median_seconds']:.2f}"]))
    lines.append(_row(["MB/s", f"{largest['mb_per_s']:.2f}", f"{r['mb_per_s']:.2f}"]))
    lines.append(_row(["peak RSS MB (sum over processes)", f"{largest['peak_rss_mb']:.0f}", f"{r['peak_rss_mb']:.0f}"]))
    if "peak_pss_mb" in r:
        lines.append(_row(["peak PSS MB", f"{largest['peak_pss_mb']:.0f}", f"{r['peak_pss_mb']:.0f}"]))
    lines.append(_row(["speed-up", f"{p['speedup']:.2f}x", ""]))
    lines.append(_row(["reference's verified pairs also found", f"{p['agreement']:.4f}", str(r["verified_pairs"])]))
    lines.append(_row(["cost per MB, largest / smallest", f"{p['cost_growth']:.3f}", ""]))
    return "\n".join(lines)


def incremental_table(r: dict) -> str:
    header = [
        "base articles",
        "added",
        "corpus MB",
        "store MB",
        "dedup index (+1 %) median s",
        "next run, nothing new, median s",
        "dedup scan median s",
        "share",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    lines.append(
        _row(
            [
                r["articles_base"],
                r["articles_added"],
                f"{r['corpus_mb']:.1f}",
                f"{r['store_mb']:.0f}" if "store_mb" in r else "",
                f"{r['median_increment_seconds']:.2f}",
                f"{r['median_unchanged_seconds']:.2f}" if "median_unchanged_seconds" in r else "",
                f"{r['median_scan_seconds']:.2f}",
                f"{r['increment_share_of_scan']:.3f}",
            ]
        )
    )
    if "median_kept_out_seconds" in r:
        runs = [
            ("nothing new, `--out`, the store matched (no kept reports)", "matched_out"),
            ("nothing new, `--out`, the kept reports written", "kept_out"),
            ("`dedup report`, the kept reports written", "report"),
        ]
        if "median_clean_kept_seconds" in r:
            same = "same copy" if r["same_clean"] else "OTHER COPIES"
            runs += [
                ("`dedup clean`, what the last matching run kept", "clean_kept"),
                (f"`dedup clean`, the store matched ({same})", "clean_matched"),
            ]
        lines += ["", _row(["run with the final folder", "median s", "runs s"]), _row(["---"] * 3)]
        for label, key in runs:
            each = ", ".join(f"{t:.2f}" for t in r[f"{key}_seconds"])
            lines.append(_row([label, f"{r[f'median_{key}_seconds']:.2f}", each]))
    return "\n".join(lines)


def adversarial_table(r: dict) -> str:
    header = [
        "case",
        "files",
        "MB",
        "paragraphs",
        "median s",
        "peak PSS MB",
        "candidate pairs",
        "verified pairs",
        "pairs.csv bytes",
        "largest matches cell",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for c in r["cases"]:
        lines.append(
            _row(
                [
                    c["case"].replace("_", " "),
                    c["files"],
                    f"{c['mb']:.2f}",
                    c["paragraphs"],
                    f"{c['median_seconds']:.2f}",
                    c["peak_pss_mb"],
                    c["candidate_pairs"],
                    c["verified_paragraph_pairs"],
                    c["pairs_csv_bytes"],
                    c["largest_matches_cell"],
                ]
            )
        )
    return "\n".join(lines)


def spark_table(r: dict) -> str:
    header = [
        "corpus MB",
        "files",
        "local engine median s (read stage)",
        "spark, folder path, median s (read stage)",
        "spark, file:// URI, median s (read stage)",
        "same reports",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for c in r["cases"]:
        cells = [f"{c['corpus_mb']:.1f}", c["files"]]
        for name in ("local", "spark", "spark_uri"):
            if f"median_{name}_seconds" in c:
                cells.append(f"{c[f'median_{name}_seconds']:.2f} ({c[f'median_{name}_read_seconds']:.2f})")
            else:
                cells.append("")
        cells.append("yes" if c["identical_reports"] else "no")
        lines.append(_row(cells))
    return "\n".join(lines)


def shards_table(r: dict) -> str:
    header = ["layout", "median s", "runs s", "peak RSS MB (largest process)"]
    lines = [_row(header), _row(["---"] * len(header))]
    for name, c in r["cases"].items():
        each = ", ".join(f"{t:.2f}" for t in c["seconds"])
        lines.append(_row([name, f"{c['median_seconds']:.2f}", each, c["peak_rss_mb"]]))
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README has no {name} markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    quality = RESULTS / "quality.json"
    if quality.exists():
        text = replace_block(text, "quality", quality_table(json.loads(quality.read_text())))
    perf = RESULTS / "perf.json"
    if perf.exists():
        text = replace_block(text, "perf", perf_table(json.loads(perf.read_text())))
    incremental = RESULTS / "incremental.json"
    if incremental.exists():
        text = replace_block(text, "incremental", incremental_table(json.loads(incremental.read_text())))
    adversarial = RESULTS / "adversarial.json"
    if adversarial.exists():
        text = replace_block(text, "adversarial", adversarial_table(json.loads(adversarial.read_text())))
    spark = RESULTS / "spark.json"
    if spark.exists():
        text = replace_block(text, "spark", spark_table(json.loads(spark.read_text())))
    shards = RESULTS / "shards.json"
    if shards.exists():
        text = replace_block(text, "shards", shards_table(json.loads(shards.read_text())))
    for extra in sys.argv[1:]:
        print(f"ignored argument {extra}", file=sys.stderr)
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
