"""``dedup explain``: a pair's matched paragraphs in words, read again from the corpus folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app

A = (
    "Kratom guide\n\n"
    "Kratom, a plant native to Southeast Asia, has garnered attention for its effects on mood and energy.\n\n"
    "Users describe the taste of kratom powder as earthy and bitter, so many mix it with juice or tea.\n\n"
    "Our own shop ships every order within two days and offers a full refund for unopened packages.\n"
)
B = (
    "About kratom\n\n"
    "Kratom, a plant native to Southeast Asia, has garnered attention for its effects on mood and energy levels.\n\n"
    "Users describe the taste of kratom powder as earthy and bitter, so many mix it with juice or tea.\n\n"
    "Read the label before you buy, and talk to a pharmacist if you take other medicines every day.\n"
)
SHOWN = """\
a: a.txt
b: feed#1.jsonl#r2
similarity 0.6846 (containment a 0.6770, b 0.6846), shingle containment 0.6809, matched paragraphs 2, \
best score 1.0000, MinHash Jaccard 0.4375

a 1 = b 1 (the same paragraph, score 0.97)
  a: Kratom, a plant native to Southeast Asia, has garnered attention for its effects on mood and energy.
  b: Kratom, a plant native to Southeast Asia, has garnered attention for its effects on mood and energy levels.

a 2 = b 2 (the same paragraph, score 1.00)
  a: Users describe the taste of kratom powder as earthy and bitter, so many mix it with juice or tea.
  b: Users describe the taste of kratom powder as earthy and bitter, so many mix it with juice or tea.
"""


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of one text file and one JSONL record (in a file whose name holds "#"), scanned."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text(A, encoding="utf-8")
    records = [{"id": "r1", "text": "A record too short to index."}, {"id": "r2", "text": B}]
    (folder / "feed#1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(folder), "--out", str(out), "-q", "--workers", "1"])
    assert result.exit_code == 0, result.output
    return folder, out


def test_explain_shows_the_matched_paragraphs_side_by_side(scanned: tuple[Path, Path]) -> None:
    folder, out = scanned
    for pair in (["a.txt", "feed#1.jsonl#r2"], ["feed#1.jsonl#r2", "a.txt"]):  # either order
        result = CliRunner().invoke(app, ["explain", str(folder), *pair, "--report", str(out)])
        assert (result.exit_code, result.output) == (0, SHOWN)


def test_explain_tells_when_an_article_changed_since_the_report(scanned: tuple[Path, Path]) -> None:
    folder, out = scanned
    (folder / "a.txt").write_text(A.replace("Kratom guide", "A longer kratom guide"), encoding="utf-8")
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert result.exit_code == 0
    note = "note: a.txt changed since the report: its paragraphs may not be those it matched\n"
    assert result.output == note + SHOWN


@pytest.mark.parametrize(
    ("pair", "report", "message"),
    [
        (
            ["a.txt", "feed#1.jsonl#r1"],
            "{out}",
            "Error: a.txt and feed#1.jsonl#r1 are not a near-duplicate pair in {out}/pairs.csv",
        ),
        (
            ["a.txt", "feed#1.jsonl#r2"],
            "{folder}",
            "Error: no pairs.csv in {folder}: give the reports folder of the run with --report",
        ),
    ],
)
def test_explain_errors(scanned: tuple[Path, Path], pair: list[str], report: str, message: str) -> None:
    folder, out = scanned
    result = CliRunner().invoke(app, ["explain", str(folder), *pair, "--report", report.format(folder=folder, out=out)])
    assert result.exit_code == 1
    assert result.output == message.format(folder=folder, out=out) + "\n"


def test_explain_of_an_article_gone_from_the_folder(scanned: tuple[Path, Path]) -> None:
    folder, out = scanned
    (folder / "feed#1.jsonl").unlink()
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no article 'feed#1.jsonl#r2' in {folder} (paths are relative to the folder the run scanned)\n"
    )


def test_explain_of_a_pair_found_by_shingle_containment_alone(scanned: tuple[Path, Path]) -> None:
    """A pair whose paragraphs were all rewritten has no paragraph match to show (a pairs.csv row
    with an empty ``matches`` cell, made here by hand)."""
    folder, out = scanned
    pairs = (out / "pairs.csv").read_text().splitlines()
    (out / "pairs.csv").write_text(f"{pairs[0]}\n{pairs[1].rsplit(',', 1)[0]},\n")
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert result.exit_code == 0
    assert result.output == SHOWN.split("\n\n")[0] + (
        "\n\nno paragraph matches: the pair was found by shingle containment over the whole articles\n"
    )


def test_explain_reads_the_articles_with_the_run_s_parameters(tmp_path: Path) -> None:
    """A run with --text-field html --text-is-html: explain reads the record's page as the run did."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    page = "<html><body><nav>Home | Shop</nav><article>{}</article></body></html>".format(
        "".join(f"<p>{line}</p>" for line in A.split("\n\n")[1:])
    )
    (folder / "a.html").write_text(page, encoding="utf-8")
    (folder / "dump.jsonl").write_text(json.dumps({"id": "p", "html": page}) + "\n", encoding="utf-8")
    options = ["--text-field", "html", "--text-is-html", "-q", "--workers", "1"]
    assert CliRunner().invoke(app, ["scan", str(folder), "--out", str(out), *options]).exit_code == 0
    result = CliRunner().invoke(app, ["explain", str(folder), "a.html", "dump.jsonl#p", "-r", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[4:7] == [
        "a 0 = b 0 (the same paragraph, score 1.00)",
        "  a: " + A.split("\n\n")[1],
        "  b: " + A.split("\n\n")[1],
    ]


def test_explain_of_an_article_cut_short_or_skipped_since_the_report(scanned: tuple[Path, Path]) -> None:
    folder, out = scanned
    (folder / "a.txt").write_text(A.split("\n\n")[0] + "\n", encoding="utf-8")  # the heading alone
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert result.exit_code == 0
    assert result.output.splitlines()[:3] == [
        "note: a.txt changed since the report: its paragraphs may not be those it matched",
        "note: paragraph 1-1 is past the end of the article now",
        "note: paragraph 2-2 is past the end of the article now",
    ]
    assert result.output.endswith(
        "no paragraph matches: the pair was found by shingle containment over the whole articles\n"
    )
    (folder / "a.txt").write_bytes(b"\x00\x01 binary now")
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert (result.exit_code, result.output) == (
        1,
        "Error: a.txt is skipped now (binary: control bytes in the first 8 KiB)\n",
    )


def test_explain_reads_an_evidence_cell_past_csv_s_field_limit(scanned: tuple[Path, Path]) -> None:
    """Two long scraped lists give evidence cells of hundreds of KB (csv reads 128 KiB by default)."""
    folder, out = scanned
    pairs = (out / "pairs.csv").read_text().splitlines()
    long_cell = ";".join(["1-1:0.97"] * 30_000 + ["2-2:1.00"])  # 270 KB
    (out / "pairs.csv").write_text(f"{pairs[0]}\n{pairs[1].rsplit(',', 1)[0]},{long_cell}\n")
    result = CliRunner().invoke(app, ["explain", str(folder), "a.txt", "feed#1.jsonl#r2", "-r", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("a 1 = b 1 (the same paragraph, score 0.97)") == 30_000


def test_explain_from_the_store_of_an_index_run(tmp_path: Path) -> None:
    """Given the store of an index run instead of the folder, explain shows the matched paragraphs
    as the store keeps them (normalised), with the corpus gone; an article the store no longer
    holds is an error."""
    folder, store, out = tmp_path / "in", tmp_path / "s.sqlite", tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text(A, encoding="utf-8")
    (folder / "b.txt").write_text(B, encoding="utf-8")
    args = ["index", str(folder), "--store", str(store), "--out", str(out), "-q", "--workers", "1"]
    assert CliRunner().invoke(app, args).exit_code == 0
    shutil.rmtree(folder)
    result = CliRunner().invoke(app, ["explain", str(store), "a.txt", "b.txt", "--report", str(out)])
    assert result.exit_code == 0, result.output
    head = SHOWN.replace("feed#1.jsonl#r2", "b.txt").split("\n\n")[0]
    assert result.output == (
        f"{head}\n\n"
        "a 1 = b 1 (the same paragraph, score 0.97)\n"
        "  a: kratom a plant native to southeast asia has garnered attention for its effects on mood and energy\n"
        "  b: kratom a plant native to southeast asia has garnered attention for its effects on mood and energy "
        "levels\n\n"
        "a 2 = b 2 (the same paragraph, score 1.00)\n"
        "  a: users describe the taste of kratom powder as earthy and bitter so many mix it with juice or tea\n"
        "  b: users describe the taste of kratom powder as earthy and bitter so many mix it with juice or tea\n"
    )
    folder.mkdir()
    (folder / "a.txt").write_text(A, encoding="utf-8")
    assert (
        CliRunner().invoke(app, ["index", str(folder), "--store", str(store), "-q", "--max-removed", "1"]).exit_code
        == 0
    )
    gone = CliRunner().invoke(app, ["explain", str(store), "a.txt", "b.txt", "--report", str(out)])
    assert (gone.exit_code, gone.output) == (
        1,
        f"Error: no article 'b.txt' in the store {store} (it keeps the articles of its last run)\n",
    )
