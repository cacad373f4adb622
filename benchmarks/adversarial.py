"""Cost of ``dedup scan`` on inputs that defeat the usual shape of a corpus (scrapes gone wrong).

    python benchmarks/adversarial.py
    python benchmarks/adversarial.py --lines 5000 --runs 1

Each case is a small folder written here (seeded: the same bytes every time); the benchmark times a
scan of it (median of ``--runs``; the peak PSS of the process tree is sampled in one extra run)
and records what the reports hold: candidate and verified paragraph pairs, the size of
``pairs.csv`` and of its largest ``matches`` cell (and the stage times of the sampled run).
Writes ``benchmarks/results/adversarial.json``.

Cases:
    near_identical_lists: two articles, each a list of ``--lines`` lines that differ by one number
        (and by one word between the two articles): every line matches every other line.
    repeated_paragraph: two articles that repeat one paragraph ``--lines`` times (a broken scrape).
    template_family: ``--lines`` / 10 articles that open with one template paragraph naming
        another product (one near-identical family across many articles), then text of their own.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from perf import folder_bytes, run_dedup  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
_LINE = "Line number {} of the generated list repeats the same words again and again here {}."
_REPEATED = "This paragraph about herbal supplements repeats itself again and again in a broken scrape of the page."
_TEMPLATE = (
    "{0}, a plant native to Southeast Asia, has garnered attention for its potential benefits, and many "
    "readers now ask how {0} compares with the other herbal remedies sold online today."
)
_SYLLABLES = [f"{a}{b}" for a in "klmnprst" for b in "aeiou"]
_VOCABULARY = [x + y + z for x in _SYLLABLES for y in _SYLLABLES for z in _SYLLABLES[:5]]  # 8,000 made-up words


def _name(k: int) -> str:
    """A made-up product name for number ``k`` (distinct for distinct ``k`` below 64,000)."""
    n = len(_SYLLABLES)
    return (_SYLLABLES[k % n] + _SYLLABLES[k // n % n] + _SYLLABLES[k // (n * n) % n]).capitalize()


def near_identical_lists(folder: Path, lines: int) -> None:
    for name, side in (("a.txt", "alpha"), ("b.txt", "beta")):
        text = "\n\n".join(_LINE.format(k, side) for k in range(lines))
        (folder / name).write_text(text + "\n", encoding="utf-8")


def repeated_paragraph(folder: Path, lines: int) -> None:
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text("\n\n".join([_REPEATED] * lines) + "\n", encoding="utf-8")


def template_family(folder: Path, lines: int) -> None:
    for k in range(max(2, lines // 10)):
        opener = _TEMPLATE.format(_name(k))
        rng = random.Random(k)
        own = [" ".join(rng.choice(_VOCABULARY) for _ in range(14)).capitalize() + "." for _ in range(3)]
        (folder / f"article-{k:05d}.txt").write_text("\n\n".join([opener, *own]) + "\n", encoding="utf-8")


CASES: dict[str, Callable[[Path, int], None]] = {
    "near_identical_lists": near_identical_lists,
    "repeated_paragraph": repeated_paragraph,
    "template_family": template_family,
}


def _largest_cell(pairs_csv: Path) -> int:
    csv.field_size_limit(1 << 31)
    with pairs_csv.open(newline="", encoding="utf-8") as fh:
        return max((len(row["matches"]) for row in csv.DictReader(fh)), default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000, help="lines (or repeats) per article")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="dedup --workers (default: all cores)")
    parser.add_argument("--out", type=Path, default=RESULTS / "adversarial.json")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"lines": args.lines, "runs": args.runs, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in CASES.items():
            folder = Path(tmp) / name
            folder.mkdir()
            write(folder, args.lines)
            out = Path(tmp) / f"{name}-out"
            seconds = [run_dedup(folder, out, args.workers)[0] for _ in range(args.runs)]
            _, (_, pss), summary = run_dedup(folder, out, args.workers, sample_memory=True)
            case = {
                "case": name,
                "files": len(list(folder.iterdir())),
                "mb": round(folder_bytes(folder) / 1e6, 2),
                "paragraphs": summary["paragraphs"],
                "seconds": [round(s, 2) for s in seconds],
                "median_seconds": round(statistics.median(seconds), 2),
                "peak_pss_mb": round(pss / 1e6),
                "candidate_pairs": summary["candidate_pairs"],
                "verified_paragraph_pairs": summary["verified_paragraph_pairs"],
                "article_pairs": summary["article_pairs"],
                "pairs_csv_bytes": (out / "pairs.csv").stat().st_size,
                "largest_matches_cell": _largest_cell(out / "pairs.csv"),
                "stage_seconds": summary["seconds"],
            }
            report["cases"].append(case)  # type: ignore[union-attr]
            print(json.dumps(case), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
