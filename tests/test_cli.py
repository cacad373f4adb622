"""CLI behaviour through typer's CliRunner: exact files, exit codes and error lines."""

from __future__ import annotations

import errno
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup.cli
import dedup.spill
from dedup.cli import app
from dedup.errors import InputError
from dedup.report import REPORT_FILES
from tests.conftest import GOLDEN, SAMPLE
from tests.make_golden import GOLDEN_ARGS

GOOD = "A good article paragraph that has plenty of words for the scanner to index it.\n"


def test_scan_sample_matches_golden_files(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, [*GOLDEN_ARGS, str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet
    for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv"):
        assert (tmp_path / name).read_bytes() == (GOLDEN / "sample" / name).read_bytes(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["articles"] == 240
    assert summary["clusters"] == 36
    assert summary["skipped"] == {}
    assert summary["datasketch_version"].startswith("2.")
    assert summary["parameters"]["lsh"] == {
        "num_perm": 128,
        "seed": 1,
        "jaccard_threshold": 0.6,
        "bands": 24,
        "rows": 4,
        "max_bucket_neighbors": 64,
        "max_sentence_spread": 20,
        "min_estimate": 0.4,
    }
    assert summary["parameters"]["shingle"] == {"size": 3}
    assert set(summary["seconds"]) == {"read_fingerprint", "index", "verify", "cluster"}


def test_reports_written_inside_the_folder_are_not_read_next_time(runner: CliRunner, tmp_path: Path) -> None:
    """``cd corpus && dedup scan .`` writes ./dedup-report inside the folder: the next scan does not
    read it (nor an index run its store and reports), so its reports are those of the corpus alone."""
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE / "articles", folder)
    for _ in range(2):
        result = runner.invoke(app, ["scan", str(folder), "--workers", "1", "-q", "--out", str(folder / "report")])
        assert (result.exit_code, result.output) == (0, "")
        for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv"):
            assert (folder / "report" / name).read_bytes() == (GOLDEN / "sample" / name).read_bytes(), name
        assert json.loads((folder / "report" / "summary.json").read_text())["files_seen"] == 230
    shutil.rmtree(folder / "report")
    for _ in range(2):  # reports written into the folder itself: the reports are left out, not the folder
        result = runner.invoke(app, ["scan", str(folder), "--workers", "1", "-q", "--out", str(folder)])
        assert (result.exit_code, result.output) == (0, "")
        assert (folder / "clusters.csv").read_bytes() == (GOLDEN / "sample" / "clusters.csv").read_bytes()
        assert json.loads((folder / "summary.json").read_text())["files_seen"] == 230
    for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv", "skipped.csv", "summary.json"):
        (folder / name).unlink()
    args = ["index", str(folder), "--store", str(folder / "index.sqlite"), "--out", str(folder / "nightly"), "-q"]
    for _ in range(2):
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        assert (summary["files_seen"], summary["skipped_total"]) == (230, 0)
        assert (folder / "nightly" / "clusters.csv").read_bytes() == (GOLDEN / "sample" / "clusters.csv").read_bytes()
    assert summary["changes"]["files_unchanged"] == 230


@pytest.mark.skipif(sys.platform != "linux", reason="Linux file names are bytes")
def test_odd_names_and_json_never_end_a_run(runner: CliRunner, tmp_path: Path) -> None:
    """A file name that is not UTF-8 or holds a newline, a lone surrogate escaped in JSON and JSON
    nested past the parser's limit are skipped or repaired, in a scan and in nightly index runs."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    with open(os.path.join(os.fsencode(folder), b"b\xff.txt"), "w") as fh:
        fh.write(GOOD)
    (folder / "c.jsonl").write_text(
        '{"id": "x\\ud800", "text": "Words \\udc00 enough for one indexed paragraph of this article, and a few more words."}\n'
    )
    (folder / "d.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "e\nf.txt").write_text("")  # a newline in a name: the skip is still one line
    lines = [
        "skipped b\\xff.txt (bad_name: file name is not UTF-8; rename the file)",
        "skipped d.json (malformed_json: nested too deeply)",
        "skipped e\\nf.txt (empty)",
    ]
    scan = runner.invoke(app, ["scan", str(folder), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert scan.exit_code == 0, scan.output
    assert scan.output.splitlines()[:3] == lines
    assert (tmp_path / "out" / "articles.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "a.txt,1,0,78,0.0,0.0,100.0,",
        "c.jsonl#x\ufffd,1,0,79,0.0,0.0,100.0,",
    ]
    args = ["index", str(folder), "--store", str(tmp_path / "s.sqlite"), "--workers", "1", "--json"]
    for run in range(2):  # the odd name is named and counted every night; the store never holds it
        index = runner.invoke(app, args)
        assert index.exit_code == 0, index.output
        summary = json.loads(index.output[index.output.index("{") : index.output.rindex("}") + 1])
        assert summary["skipped"] == {"bad_name": 1, "empty": 1, "malformed_json": 1}, run
        assert (summary["files_seen"], summary["articles"]) == (5, 2)
        assert lines[0] in index.output.splitlines()
    # dedup report counts and lists it too (the last run's listing keeps it), as the scan did.
    report = runner.invoke(app, ["report", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["skipped"] == {"bad_name": 1, "empty": 1, "malformed_json": 1}
    assert (summary["files_seen"], summary["articles"]) == (5, 2)
    assert (tmp_path / "rep" / "skipped.csv").read_bytes() == (tmp_path / "out" / "skipped.csv").read_bytes()
    assert (tmp_path / "out" / "skipped.csv").read_text().splitlines()[1] == (
        "b\\xff.txt,bad_name,file name is not UTF-8; rename the file"
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_one_error_line_and_earlier_reports_stay_whole(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "-q"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # Every report file is written through a file on a full disk.
    monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: (os.open("/dev/full", os.O_WRONLY), str(out / "x.tmp")))
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "-q"])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: cannot write {out / 'clusters.csv'}: No space left on device\n",
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_version_names_dedup_and_what_decides_its_results(runner: CliRunner) -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    deps = ", ".join(f"{name} {version(name)}" for name in ("datasketch", "rapidfuzz", "numpy"))
    assert result.output == f"dedup {version('dedup')} ({deps}; Python {platform.python_version()})\n"


def test_csv_headers(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0
    heads = {p.name: p.read_text().splitlines()[0] for p in (tmp_path / "out").glob("*.csv")}
    assert heads == {
        "clusters.csv": "cluster_id,path,cluster_size,is_representative,similarity_to_representative,chars,shared_paragraphs",
        "pairs.csv": "path_a,path_b,similarity,containment_a,containment_b,shingle_containment,matched_paragraphs,best_score,minhash_jaccard,matches",
        "boilerplate.csv": "group_id,articles,occurrences,is_boilerplate,sample_text,example_paths,first_seen,first_article",
        "articles.csv": "path,paragraphs,short_segments,chars,template_pct,shared_pct,unique_pct,cluster_id",
        "skipped.csv": "path,reason,detail",
    }
    assert (tmp_path / "out" / "articles.csv").read_text().splitlines()[1] == "a.txt,1,0,78,0.0,0.0,100.0,"


def test_reports_get_the_mode_of_any_new_file(runner: CliRunner, tmp_path: Path) -> None:
    """Written through temporary files, the reports still get the umask's mode, not 0600."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    old = os.umask(0o027)
    try:
        result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == dict.fromkeys(
        ["articles.csv", "boilerplate.csv", "clusters.csv", "pairs.csv", "skipped.csv", "summary.json"], 0o640
    )


def test_skips_are_reported_one_line_each(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(GOOD, encoding="utf-8")
    (src / "b.txt").write_bytes(b"\x00\x00binary")
    (src / "c.jsonl").write_text("{broken\n", encoding="utf-8")
    result = runner.invoke(app, ["scan", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("skipped")]
    assert lines == [
        "skipped b.txt (binary: control bytes in the first 8 KiB)",
        "skipped c.jsonl:1 (malformed_json: JSONDecodeError)",
    ]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["skipped"] == {"binary": 1, "malformed_json": 1}
    assert summary["files_seen"] == 3 and summary["files_read"] == 2
    # skipped.csv lists them too, for a run with --quiet (that prints no skip line).
    result = runner.invoke(app, ["scan", str(src), "-o", str(tmp_path / "quiet"), "-q"])
    assert (result.exit_code, result.output) == (0, "")
    assert (tmp_path / "quiet" / "skipped.csv").read_text() == (
        "path,reason,detail\nb.txt,binary,control bytes in the first 8 KiB\nc.jsonl:1,malformed_json,JSONDecodeError\n"
    )


def test_missing_folder_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "nope"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"Error: Invalid value for 'folder': dir '{tmp_path / 'nope'}' does not exist." in result.output


def test_unwritable_out_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(blocker / "sub")])
    assert result.exit_code == 2
    assert result.output == f"Error: cannot write to --out {blocker / 'sub'}: Not a directory\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--article-similarity", "1.5"],
            "Error: Invalid value for '--article-similarity': Input should be less than or equal to 1",
        ),
        (
            ["--keep", "random"],
            "Error: Invalid value for '--keep': Value error, 'random' is not one of 'longest', 'first', 'shortest'.",
        ),
        (["--bands", "8"], "Error: bands and rows must be given together (or neither, to derive them)"),
        (["--bands", "64", "--rows", "4"], "Error: bands * rows must be <= num_perm (128), got 64 * 4"),
        (["--workers", "0"], "Error: Invalid value for '--workers': Input should be greater than or equal to 1"),
        (
            ["--engine", "hadoop"],
            "Error: Invalid value for '--engine': Value error, 'hadoop' is not one of 'local', 'spark'.",
        ),
    ],
)
def test_bad_options_exit_2(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "in").mkdir()
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_run_failure_is_one_error_line(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()

    def boom(*args, **kwargs):
        raise InputError("input folder not found: gone")

    monkeypatch.setattr(dedup.cli, "match_corpus", boom)
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == "Error: input folder not found: gone\n"


def test_no_room_for_the_temporary_texts_is_one_error_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paragraphs' texts wait in a file in the temporary folder: a missing folder or a full
    disk ends the run with one line that says where and what to do."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD * 3)
    args = ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", "--workers", "1"]
    missing = tmp_path / "no-such-tmp"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot make a temporary file in {missing}: No such file or directory "
        "(set TMPDIR to a folder with room)\n"
    )
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(dedup.spill.os, "pwrite", full)
    monkeypatch.setattr(dedup.spill, "_FLUSH_BYTES", 1)  # written at once, not when first read
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot write a temporary file in {tmp_path}: No space left on device "
        "(set TMPDIR to a folder with room)\n"
    )


@pytest.mark.parametrize(
    ("error", "message"),
    [
        # Any other failure: the class only, never its message (it may quote article text).
        (
            RuntimeError("SECRET ARTICLE TEXT that must not reach the log"),
            "Error: internal error (RuntimeError); set DEDUP_DEBUG=1 for a traceback\n",
        ),
        # A dependency missing or broken (e.g. raised in a worker): the module is named.
        (
            ImportError("lxml.html.clean module is now a separate project lxml_html_clean.\nInstall it."),
            "Error: a dependency is missing or broken (lxml.html.clean module is now a separate project "
            "lxml_html_clean.); reinstall dedup with its dependencies\n",
        ),
    ],
)
def test_unexpected_failure_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    (tmp_path / "in").mkdir()

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(dedup.cli, "match_corpus", boom)
    monkeypatch.delenv("DEDUP_DEBUG", raising=False)
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == message


def test_summary_table_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "articles" in result.output and "clusters (articles)" in result.output
    assert "reports" in result.output


def test_eval_prints_and_writes_metrics(runner: CliRunner, tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    lines = (SAMPLE / "truth.csv").read_text().splitlines()
    # Move one article to a wrong cluster so there is a false negative to report.
    moved = lines[1].split(",")[0]
    truth.write_text("\n".join([lines[0], f"{moved},elsewhere", *lines[2:]]) + "\n")
    result = runner.invoke(
        app, ["eval", str(SAMPLE / "articles"), "--truth", str(truth), "--out", str(tmp_path / "ev"), "--sweep"]
    )
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert out[0].startswith("ARI 0.9")
    assert "false positives 3" in out[0]
    payload = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert payload["metrics"]["false_positives"] == 3
    assert payload["metrics"]["false_negatives"] == 0
    assert payload["metrics"]["articles_evaluated"] == 240
    errors = (tmp_path / "ev" / "errors.csv").read_text().splitlines()
    assert errors[0] == "kind,path_a,path_b,truth_a,truth_b,similarity,shingle_containment"
    assert len(errors) == 4 and all(e.startswith("false_positive,") for e in errors[1:])
    assert all(moved in e and ",elsewhere," in e for e in errors[1:])
    assert [row["article_similarity"] for row in payload["sweep"]] == [f"0.{i}0" for i in range(1, 10)]
    assert "article_similarity\tprecision\trecall\tf1\tari\tclusters\tclustered_articles" in out


def test_eval_sweeps_shingle_containment(runner: CliRunner, tmp_path: Path) -> None:
    """The sample's same-topic articles share template sentences: a low shingle containment merges
    them (precision falls), the default 0.8 row is the run's own metrics."""
    args = ["eval", str(SAMPLE / "articles"), "--truth", str(SAMPLE / "truth.csv"), "--out", str(tmp_path / "ev")]
    result = runner.invoke(app, [*args, "--sweep-shingles"])
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert "sweep" not in payload
    rows = {row["shingle_containment"]: row for row in payload["shingle_sweep"]}
    assert list(rows) == [f"{i / 10:.2f}" for i in range(1, 11)]
    assert rows["0.80"]["precision"] == payload["metrics"]["precision"] == 1.0
    assert rows["0.80"]["ari"] == payload["metrics"]["ari"]
    assert rows["0.20"]["precision"] < 0.5 < rows["0.70"]["precision"]
    lines = result.output.splitlines()
    header = lines.index("shingle_containment\tprecision\trecall\tf1\tari\tclusters\tclustered_articles")
    assert lines[header + 8].startswith("0.80\t1.0\t")
    assert len(lines) == header + 11


def test_eval_bad_truth_file(runner: CliRunner, tmp_path: Path) -> None:
    truth = tmp_path / "t.csv"
    truth.write_text("file,label\na,b\n")
    (tmp_path / "in").mkdir()
    result = runner.invoke(app, ["eval", str(tmp_path / "in"), "--truth", str(truth)])
    assert result.exit_code == 1
    assert result.output == f"Error: truth file {truth} needs a header with 'path' and 'cluster' columns\n"


def test_eval_truth_that_names_no_article_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    """Scores over no article would read as perfect (ARI 1.0): a truth file whose paths are not
    relative to the folder, or one without rows, ends the run instead."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    truth = tmp_path / "t.csv"
    truth.write_text("path,cluster\nin/a.txt,x\nin/b.txt,x\n")
    result = runner.invoke(app, ["eval", str(folder), "--truth", str(truth)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no path in {truth} names an article of {folder} (first: 'in/a.txt'); "
        "paths are relative to the folder, as in articles.csv\n"
    )
    truth.write_text("path,cluster\n")
    result = runner.invoke(app, ["eval", str(folder), "--truth", str(truth)])
    assert (result.exit_code, result.output) == (1, f"Error: truth file {truth} has no rows\n")


def test_eval_notes_truth_paths_it_did_not_read(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    (folder / "b.txt").write_text("", encoding="utf-8")  # skipped (empty): not scored
    truth = tmp_path / "t.csv"
    truth.write_text("path,cluster\na.txt,x\nb.txt,x\ngone.txt,y\n")
    result = runner.invoke(app, ["eval", str(folder), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    note = "note: 2 of 3 paths in t.csv name no article read (first: 'b.txt'); they are left out of the scores"
    assert note in result.output.splitlines()
    assert "(articles 1, false positives 0, false negatives 0)" in result.output
    quiet = runner.invoke(app, ["eval", str(folder), "--truth", str(truth), "-q"])
    assert quiet.exit_code == 0 and "note:" not in quiet.output


def test_config_file_fills_defaults_and_flags_win(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    cfg = tmp_path / "dedup.toml"
    cfg.write_text('article-similarity = 0.9\nkeep = "first"\nworkers = 1\n', encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "-q", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    params = json.loads((out / "summary.json").read_text())["parameters"]
    assert (params["cluster"]["min_article_similarity"], params["cluster"]["keep"], params["workers"]) == (
        0.9,
        "first",
        1,
    )
    flags = ["scan", str(tmp_path / "in"), "-o", str(out), "-q", "--config", str(cfg), "--article-similarity", "0.3"]
    assert runner.invoke(app, flags).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["parameters"]["cluster"]["min_article_similarity"] == 0.3
    cfg.write_text("bogus = 1\n", encoding="utf-8")
    bad = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "--config", str(cfg)])
    assert bad.exit_code == 2
    assert bad.output == f"Error: --config {cfg}: unknown option 'bogus'\n"
    cfg.write_text('keep = "random"\n', encoding="utf-8")
    bad = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "--config", str(cfg)])
    assert bad.exit_code == 2
    assert bad.output.startswith(f"Error: --config {cfg}: bad value for 'keep'")


def test_shingle_containment_option_links_light_revisions(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    words = [f"w{i}" for i in range(120)]
    (src / "old.txt").write_text(" ".join(words) + ".\n", encoding="utf-8")
    # Every 4th word replaced by a longer one: no paragraph match, a quarter of the shingles kept.
    edited = [f"replaced{i}" if i % 4 == 3 else w for i, w in enumerate(words)]
    (src / "new.txt").write_text(" ".join(edited) + ".\n", encoding="utf-8")
    assert runner.invoke(app, ["scan", str(src), "-o", str(tmp_path / "default"), "-q"]).exit_code == 0
    assert (tmp_path / "default" / "pairs.csv").read_text().splitlines()[1:] == []
    result = runner.invoke(app, ["scan", str(src), "-o", str(tmp_path / "out"), "-q", "--shingle-containment", "0.2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "pairs.csv").read_text().splitlines()[1:] == [
        "new.txt,old.txt,0.0000,0.0000,0.0000,0.2542,0,0.0000,0.1094,"
    ]
    assert (tmp_path / "out" / "clusters.csv").read_text().splitlines()[1:] == [
        "c71ddebcf9d,new.txt,2,true,1.0000,700,1",
        "c71ddebcf9d,old.txt,2,false,0.2542,490,0",
    ]


def test_workers_are_capped_at_the_usable_cpus(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr(dedup.cli, "usable_cpus", lambda: 1)
    out = tmp_path / "out"
    result = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "--workers", "6"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("note: --workers 6 is more than the 1 CPUs this process may use: running 1\n")
    assert json.loads((out / "summary.json").read_text())["parameters"]["workers"] == 1
    # A config file's value too; --quiet prints no note.
    cfg = tmp_path / "dedup.toml"
    cfg.write_text("workers = 3\n", encoding="utf-8")
    quiet = runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "-q", "--config", str(cfg)])
    assert (quiet.exit_code, quiet.output) == (0, "")
    assert json.loads((out / "summary.json").read_text())["parameters"]["workers"] == 1
    # No --workers: as many as the usable CPUs.
    monkeypatch.setattr(dedup.cli, "usable_cpus", lambda: 3)
    assert runner.invoke(app, ["scan", str(tmp_path / "in"), "-o", str(out), "-q"]).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["parameters"]["workers"] == 3


def test_usable_cpus_follow_the_affinity_mask_and_loky_max_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a container limited to fewer CPUs than its host has, ``os.cpu_count()`` counts the host's."""
    assert 1 <= dedup.cli.usable_cpus() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert dedup.cli.usable_cpus() <= len(os.sched_getaffinity(0))
    monkeypatch.setenv("LOKY_MAX_CPU_COUNT", "1")
    assert dedup.cli.usable_cpus() == 1


@pytest.mark.parametrize(
    "signal_name",
    ["SIGINT", "SIGTERM", "SIGTERM, then an error", "SIGTERM, in a finalizer", "SIGTERM, in a late finalizer"],
)
def test_an_interrupted_run_says_so_and_exits_128_plus_the_signal(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str
) -> None:
    """Ctrl-C, or SIGTERM (``kill``, ``timeout``, systemd), in the middle of an index run: one line,
    exit 130 or 143, the store as the last complete run left it; the handlers are put back after.
    An error that the interrupt causes (a Spark call whose JVM the same SIGTERM stopped) is
    reported as the interrupt. A signal handled while a finalizer runs, which drops what it
    raises, is raised again at once, also after the last progress step (the run went on,
    committed, and exited 0)."""
    import signal

    import dedup.incremental

    class Finalized:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs (and raises) within this loop
                pass

    folder, store = tmp_path / "in", tmp_path / "s.sqlite"
    shutil.copytree(SAMPLE / "articles" / "maca", folder / "maca")
    index = ["index", str(folder), "--store", str(store), "--workers", "1", "-q", "--json"]
    first = runner.invoke(app, index)
    assert first.exit_code == 0, first.output
    shutil.copytree(SAMPLE / "articles" / "kratom", folder / "kratom")
    match_all = dedup.incremental._match_all

    def interrupted(*args: object, **kwargs: object) -> object:
        if signal_name == "SIGINT":
            os.kill(os.getpid(), signal.SIGINT)
        elif signal_name == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises at the next step
        elif signal_name == "SIGTERM, in a finalizer":
            Finalized()  # gone at once: its __del__ runs here
        else:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except dedup.cli.Terminated:
                raise RuntimeError("Answer from Java side is empty") from None
        return match_all(*args, **kwargs)

    stable_ids = dedup.incremental._stable_ids

    def late(*args: object, **kwargs: object) -> object:  # after the last progress step, before the commit
        Finalized()
        time.sleep(0.5)
        return stable_ids(*args, **kwargs)

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGALRM)
    if signal_name == "SIGTERM, in a late finalizer":
        monkeypatch.setattr(dedup.incremental, "_stable_ids", late)
    else:
        monkeypatch.setattr(dedup.incremental, "_match_all", interrupted)
    result = runner.invoke(app, index)
    name = signal_name.split(",")[0]
    assert (result.exit_code, result.output) == (128 + getattr(signal, name), f"Error: interrupted by {name}\n")
    assert (
        signal.getsignal(signal.SIGTERM),
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGALRM),
    ) == before
    monkeypatch.setattr(dedup.incremental, "_match_all", match_all)
    monkeypatch.setattr(dedup.incremental, "_stable_ids", stable_ids)
    # Nothing of the interrupted run was stored: the next run finds kratom new, and only kratom.
    again = runner.invoke(app, index)
    assert again.exit_code == 0, again.output
    changes = json.loads(again.output)["changes"]
    assert (changes["files_new"], changes["files_unchanged"]) == (
        len(list((folder / "kratom").iterdir())),
        len(list((folder / "maca").iterdir())),
    )


def test_reports_replace_the_earlier_ones_all_at_once(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reports replace the earlier ones only once all are written, summary.json last: a run
    stopped during the renames leaves no summary.json (a reports folder that holds one holds the
    complete reports of the run it describes), and no temporary file."""
    import dedup.report

    out = tmp_path / "out"
    args = ["scan", str(SAMPLE / "articles" / "maca"), "-o", str(out), "-q", "--workers", "1"]
    assert runner.invoke(app, args).exit_code == 0
    renames: list[str] = []
    replace = os.replace

    def stopped(src: str, dst: Path) -> None:
        renames.append(Path(dst).name)
        if len(renames) == 3:
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(dedup.report.os, "replace", stopped)
    result = runner.invoke(app, args)
    assert (result.exit_code, result.output) == (130, "Error: interrupted by SIGINT\n")
    assert renames == ["clusters.csv", "pairs.csv", "boilerplate.csv"]
    assert sorted(p.name for p in out.iterdir()) == [
        "articles.csv",
        "boilerplate.csv",
        "clusters.csv",
        "pairs.csv",
        "skipped.csv",
    ]
    renames.clear()
    monkeypatch.setattr(dedup.report.os, "replace", replace)
    assert runner.invoke(app, args).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [*sorted(REPORT_FILES)]


_ZH = [
    "卡痛是一种原产于东南亚的植物，近年来因其潜在的健康益处而受到广泛关注。许多人使用它来缓解疼痛、提高能量和改善情绪。",
    "然而，专家提醒消费者在使用前应咨询医生，并注意剂量和可能的副作用。研究表明，适量使用可能有助于放松。",
    "在购买卡痛产品时，消费者应选择信誉良好的供应商，并仔细阅读产品标签，以确保产品的质量和纯度。",
]
_ZH_OTHER = "这篇文章仅供一般参考，不构成医疗建议。如有任何健康问题，请务必咨询合格的医疗专业人员。"
_ZH_UNRELATED = [
    "北京是中国的首都，拥有悠久的历史和丰富的文化遗产，每年吸引数以百万计的游客前来参观。",
    "长城是世界上最著名的建筑之一，蜿蜒穿过中国北方的山脉和沙漠，全长超过两万公里。",
]
_JA = [
    "クラトムは東南アジア原産の植物で、近年その潜在的な健康効果が注目を集めています。",
    "多くの人が痛みの緩和やエネルギーの向上のために使用していますが、専門家は使用前に医師に相談することを勧めています。",
]
_TH = [
    "กระท่อมเป็นพืชที่มีถิ่นกำเนิดในเอเชียตะวันออกเฉียงใต้ และได้รับความสนใจเนื่องจากประโยชน์ที่อาจมีต่อสุขภาพ",
    "หลายคนใช้กระท่อมเพื่อบรรเทาอาการปวดและเพิ่มพลังงาน แต่ผู้เชี่ยวชาญแนะนำให้ปรึกษาแพทย์ก่อนใช้",
    "การเลือกซื้อผลิตภัณฑ์ควรเลือกจากผู้จำหน่ายที่น่าเชื่อถือ และอ่านฉลากอย่างละเอียดเพื่อความปลอดภัย",
]
_TH_OTHER = "บทความนี้เขียนขึ้นเพื่อให้ข้อมูลทั่วไปเท่านั้น ไม่ใช่คำแนะนำทางการแพทย์ โปรดใช้วิจารณญาณในการอ่าน"


def test_chinese_japanese_and_thai_articles_are_matched(runner: CliRunner, tmp_path: Path) -> None:
    """Scripts written without spaces: each character is a word, so their paragraphs are indexed
    (they were one "word" each, short, and even an exact copy was never found). A Chinese copy in
    GBK and a Japanese one in Shift_JIS, a Chinese article with two of three paragraphs (one of
    them edited), a Thai one with two of three: clusters; an unrelated Chinese article: none."""
    folder = tmp_path / "in"
    for script in ("zh", "ja", "th"):
        (folder / script).mkdir(parents=True)
    article = lambda paragraphs: "\n\n".join(paragraphs) + "\n"  # noqa: E731
    (folder / "zh" / "a.txt").write_text(article(_ZH), encoding="utf-8")
    (folder / "zh" / "b.txt").write_bytes(article(_ZH).encode("gbk"))
    (folder / "zh" / "c.txt").write_text(article([*_ZH[:2], _ZH_OTHER]), encoding="utf-8")
    (folder / "zh" / "d.txt").write_text(article(_ZH_UNRELATED), encoding="utf-8")
    edited = [_ZH[0].replace("近年来", "最近几年").replace("广泛", "很多"), _ZH[1].replace("咨询医生", "询问医师")]
    (folder / "zh" / "e.txt").write_text(article([*edited, _ZH_OTHER]), encoding="utf-8")
    (folder / "ja" / "a.txt").write_text(article(_JA), encoding="utf-8")
    (folder / "ja" / "b.txt").write_bytes(article(_JA).encode("shift_jis"))
    (folder / "th" / "a.txt").write_text(article(_TH), encoding="utf-8")
    (folder / "th" / "b.txt").write_text(article([*_TH[:2], _TH_OTHER]), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["scan", str(folder), "--out", str(out), "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "clusters.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "c0546c8b972,zh/a.txt,4,true,1.0000,153,3",
        "c0546c8b972,zh/b.txt,4,false,1.0000,153,3",
        "c0546c8b972,zh/c.txt,4,false,0.7200,150,2",
        "c0546c8b972,zh/e.txt,4,false,0.7152,151,2",
        "c5717e745ec,ja/a.txt,2,true,1.0000,97,2",
        "c5717e745ec,ja/b.txt,2,false,1.0000,97,2",
        "c7b2e8a3a8e,th/b.txt,2,true,1.0000,294,3",
        "c7b2e8a3a8e,th/a.txt,2,false,0.7073,293,2",
    ]
    pairs = (out / "pairs.csv").read_text(encoding="utf-8").splitlines()
    assert "zh/a.txt,zh/e.txt,0.7152,0.6993,0.7152,0.5952,2,0.9663,0.3672,0-0:0.95;1-1:0.97" in pairs
    assert not [line for line in pairs if "zh/d.txt" in line]


def test_markdown_copies_whose_links_point_elsewhere_are_copies(runner: CliRunner, tmp_path: Path) -> None:
    """Two Markdown copies of an article whose links point to other sites, and the same article as
    plain text: one cluster of exact copies, as long as the text without the addresses (the
    addresses made them 0.81-0.87 alike paragraph by paragraph, and the longer copy the
    representative)."""
    paras = [
        "Kratom, a plant native to Southeast Asia, has garnered attention for its potential benefits in "
        "supporting energy and focus, according to {a}.",
        "Many users combine it with other routines, but experts recommend starting with a low dose and "
        "reading {b} before buying any product online.",
        "Quality varies widely between suppliers, so independent lab tests and clear labels matter more "
        "than price when choosing a vendor for daily use.",
    ]

    def article(a: str, b: str) -> str:
        return "# Kratom and Energy\n\n" + "\n\n".join(p.format(a=a, b=b) for p in paras) + "\n"

    folder = tmp_path / "in"
    folder.mkdir()
    one = "https://mirror-one.example/reviews/kratom-energy-2024?utm_source=feed&utm_medium=rss"
    other = "https://other-site.example.net/blog/2024/03/kratom-energy-review.html"
    (folder / "a.md").write_text(
        article(f"[a recent review]({one})", "[the safety guide](https://mirror-one.example/guides/safety?aff=12345)")
    )
    (folder / "b.md").write_text(
        article(f"[a recent review]({other})", "[the safety guide](https://other-site.example.net/guide/?ref=987)")
    )
    (folder / "c.txt").write_text(article("a recent review", "the safety guide").replace("# ", ""))
    out = tmp_path / "out"
    result = runner.invoke(app, ["scan", str(folder), "--out", str(out), "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "clusters.csv").read_text().splitlines()[1:] == [
        "c5d48a79a3e,a.md,3,true,1.0000,467,3",
        "c5d48a79a3e,b.md,3,false,1.0000,467,3",
        "c5d48a79a3e,c.txt,3,false,1.0000,465,3",
    ]
    assert [line.split(",")[:2] for line in (out / "pairs.csv").read_text().splitlines()[1:]] == [
        ["a.md", "b.md"],
        ["a.md", "c.txt"],
    ]


def test_scan_reads_parquet_and_compressed_files(runner: CliRunner, tmp_path: Path) -> None:
    """One article saved as text, as a Zstandard-compressed Markdown file, as a row of a Parquet
    file and as a bzip2-compressed JSONL record is one cluster; a cut xz file and a Parquet file
    without the text column are skipped with one line each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.ingest import compress

    folder = tmp_path / "in"
    folder.mkdir()
    text = "\n".join(f"Paragraph {i}: {GOOD.strip()} It has its own number {i} here." for i in range(3)) + "\n"
    (folder / "a.txt").write_text(text, encoding="utf-8")
    (folder / "b.md.zst").write_bytes(compress(text.encode(), "zstd"))
    pq.write_table(pa.table({"id": [7, 8], "text": [text, "Too short to match."]}), folder / "c.parquet")
    (folder / "d.jsonl.bz2").write_bytes(compress(json.dumps({"text": text}).encode(), "bzip2"))
    (folder / "e.txt.xz").write_bytes(compress(text.encode(), "xz")[:20])
    pq.write_table(pa.table({"body": [text]}), folder / "f.parquet")
    result = runner.invoke(app, ["scan", str(folder), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("skipped")] == [
        "skipped e.txt.xz (corrupt_compressed: xz: Compressed file ended before the end-of-stream marker was reached)",
        "skipped f.parquet (missing_text: no column 'text')",
    ]
    out = tmp_path / "out"
    assert (out / "clusters.csv").read_text().splitlines()[1:] == [
        f"ccfc7b48853,{path},4,{str(path == 'a.txt').lower()},1.0000,363,3"
        for path in ("a.txt", "b.md.zst", "c.parquet#7", "d.jsonl.bz2#1")
    ]
    assert (out / "articles.csv").read_text().splitlines()[3:5] == [
        "c.parquet#7,3,0,363,0.0,100.0,0.0,ccfc7b48853",
        "c.parquet#8,0,1,19,0.0,0.0,0.0,",
    ]
