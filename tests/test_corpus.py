"""The generator is seeded and its ground truth covers every article it writes."""

from __future__ import annotations

import csv
import filecmp
from pathlib import Path

from corpus.generate import write_corpus
from tests.conftest import SAMPLE


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    counts = write_corpus(a, 60, seed=9)
    assert counts == write_corpus(b, 60, seed=9)
    assert _tree(a) == _tree(b)
    _match, mismatch, errors = filecmp.cmpfiles(a, b, _tree(a), shallow=False)
    assert mismatch == [] and errors == []
    assert counts["articles"] == 60


def test_truth_lists_every_article(tmp_path: Path) -> None:
    write_corpus(tmp_path, 80, seed=4)
    with (tmp_path / "truth.csv").open() as fh:
        truth = [row["path"] for row in csv.DictReader(fh)]
    files = _tree(tmp_path / "articles")
    jsonl = [f for f in files if f.endswith(".jsonl")]
    plain = [f for f in files if not f.endswith(".jsonl")]
    assert len(truth) == 80
    assert set(plain) <= set(truth)
    assert all(p.split("#")[0] in jsonl for p in truth if "#" in p)
    assert {Path(f).suffix for f in files} >= {".txt", ".md", ".html", ".gz", ".jsonl"}


def test_committed_sample_is_the_generator_output(tmp_path: Path) -> None:
    write_corpus(tmp_path, 240, seed=7)
    assert _tree(tmp_path) == _tree(SAMPLE)
    _match, mismatch, errors = filecmp.cmpfiles(tmp_path, SAMPLE, _tree(SAMPLE), shallow=False)
    assert mismatch == [] and errors == []


def test_copies_file_names_sources(tmp_path: Path) -> None:
    write_corpus(tmp_path, 120, seed=2)
    with (tmp_path / "copies.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["transform"].split("+")[0] for r in rows} <= {"spin", "exact_copy", "borrow_one"}
    assert all(r["segment"].isdigit() for r in rows if r["transform"] == "borrow_one")
