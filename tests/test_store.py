"""The persistent index: incremental runs, crash safety, locking, gates and parameter checks."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pickle
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dedup import cli
from dedup.cli import EXIT_DUPLICATE_RATE, EXIT_LOCKED, EXIT_NEW_DUPLICATES, app, build_config
from dedup.records import DigestBatch
from dedup.report import REPORT_FILES
from dedup.store import Store, store_lock
from tests.conftest import SAMPLE, fail_listing

ROOT = Path(__file__).resolve().parent.parent


def _copy(names: list[str], dst: Path) -> None:
    for name in names:
        src = SAMPLE / "articles" / name
        if src.is_dir():
            shutil.copytree(src, dst / name, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst / name)


BATCHES = [
    ["ashwagandha", "cbd-oil", "elderberry"],
    ["ginseng", "green-tea", "feeds"],
    ["kratom", "lions-mane", "maca"],
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _memberships(out: Path) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for row in _rows(out / "clusters.csv"):
        groups.setdefault(row["cluster_id"], []).append(row["path"])
    return sorted(sorted(g) for g in groups.values())


def _invoke(*args: str) -> object:
    return CliRunner().invoke(app, [*args, "--workers", "1", "--quiet"])


def test_three_batches_then_report_equals_one_scan(tmp_path: Path) -> None:
    folder, store = tmp_path / "articles", tmp_path / "index.sqlite"
    folder.mkdir()
    for batch in BATCHES:
        _copy(batch, folder)
        result = _invoke("index", str(folder), "--store", str(store))
        assert result.exit_code == 0, result.output
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "report")).exit_code == 0
    assert _invoke("scan", str(folder), "--out", str(tmp_path / "scan")).exit_code == 0
    report, scan = tmp_path / "report", tmp_path / "scan"
    assert (report / "pairs.csv").read_bytes() == (scan / "pairs.csv").read_bytes()
    assert _memberships(report) == _memberships(scan)
    assert len(_memberships(scan)) > 10
    for name in ("articles.csv", "boilerplate.csv"):
        strip = {"articles.csv": ["cluster_id"], "boilerplate.csv": ["first_seen", "first_article"]}[name]
        a = [{k: v for k, v in r.items() if k not in strip} for r in _rows(report / name)]
        b = [{k: v for k, v in r.items() if k not in strip} for r in _rows(scan / name)]
        assert a == b, name
    # The store-made boilerplate report names when and where each reused passage was first seen.
    assert all(r["first_seen"] and r["first_article"] for r in _rows(report / "boilerplate.csv"))


def test_second_run_reads_only_new_and_changed_files(tmp_path: Path) -> None:
    folder, store, out = tmp_path / "a", tmp_path / "s.sqlite", tmp_path / "out"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    odd = folder / "odd#name.txt"  # "#" also separates a JSONL file from a record id
    shutil.copyfile(sorted(folder.rglob("*.txt"))[5], odd)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    odd.unlink()
    first_file = sorted(p for p in folder.rglob("*.txt"))[0]
    os.utime(first_file, ns=(1, 1))  # touched, same content: not re-read
    changed = sorted(p for p in folder.rglob("*.txt"))[1]
    changed.write_text("A completely new text for this article, long enough to be indexed by dedup now.\n")
    removed = sorted(p for p in folder.rglob("*.txt"))[2]
    removed.unlink()
    _copy(["maca"], folder)
    result = _invoke("index", str(folder), "--store", str(store), "--out", str(out))
    assert result.exit_code == 0, result.output
    changes = json.loads((out / "summary.json").read_text())["changes"]
    n_maca = len(list((folder / "maca").iterdir()))
    assert changes["files_new"] == n_maca
    assert changes["files_changed"] == 1
    assert changes["files_removed"] == 2
    assert changes["files_unchanged"] == len([p for p in folder.rglob("*") if p.is_file()]) - n_maca - 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files_read"] == n_maca + 1
    ids = {r["path"] for r in _rows(out / "articles.csv")}
    assert str(removed.relative_to(folder)) not in ids and "odd#name.txt" not in ids
    assert str(changed.relative_to(folder)) in ids
    # The stored batches that lost a file were rewritten without it: the store's report is a scan's.
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "report")).exit_code == 0
    assert _invoke("scan", str(folder), "--out", str(tmp_path / "scan")).exit_code == 0
    assert (tmp_path / "report" / "pairs.csv").read_bytes() == (tmp_path / "scan" / "pairs.csv").read_bytes()
    assert _rows(tmp_path / "report" / "articles.csv") == _rows(out / "articles.csv")
    assert len(_rows(tmp_path / "scan" / "articles.csv")) == len(ids)


def test_rehash_finds_content_changed_under_the_same_size_and_time(tmp_path: Path) -> None:
    """A file rewritten with other text of the same length, its time set back (rsync -t, wget -N),
    passes the size and time check; --rehash hashes every file and reads it again."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    victim = sorted(folder.rglob("*.txt"))[3]
    st = victim.stat()
    text = victim.read_text(encoding="utf-8")
    assert text.count(" the ") > 3
    victim.write_text(text.replace(" the ", " xyz "), encoding="utf-8")  # same length, other words
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    plain = json.loads(_invoke("index", str(folder), "--store", str(store), "--json").output)["changes"]
    assert (plain["files_changed"], plain["files_unchanged"]) == (0, len(list(folder.rglob("*.*"))))
    rehashed = _invoke("index", str(folder), "--store", str(store), "--json", "--rehash", "--out", str(tmp_path / "r"))
    assert json.loads(rehashed.output)["changes"]["files_changed"] == 1
    assert json.loads(rehashed.output)["files_read"] == 1
    assert _invoke("scan", str(folder), "--out", str(tmp_path / "scan")).exit_code == 0
    for name in ("articles.csv", "pairs.csv"):
        assert (tmp_path / "r" / name).read_bytes() == (tmp_path / "scan" / name).read_bytes()
    again = json.loads(_invoke("index", str(folder), "--store", str(store), "--json", "--rehash").output)
    assert (again["changes"]["files_changed"], again["files_read"]) == (0, 0)  # hashed, found the same


def test_keep_missing(tmp_path: Path) -> None:
    folder, store, out = tmp_path / "a", tmp_path / "s.sqlite", tmp_path / "out"
    folder.mkdir()
    _copy(["maca"], folder)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    shutil.rmtree(folder / "maca")
    assert _invoke("index", str(folder), "--store", str(store), "--keep-missing", "--out", str(out)).exit_code == 0
    assert len(_rows(out / "articles.csv")) == len(list((SAMPLE / "articles" / "maca").iterdir()))


def test_last_seen_is_the_last_run_that_found_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    gone, *kept = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    times = iter(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"])
    monkeypatch.setattr("dedup.incremental.now_iso", lambda: next(times))

    def last_seen() -> dict[str, str]:
        with sqlite3.connect(store) as db:
            return dict(db.execute("SELECT path, last_seen FROM files").fetchall())

    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    assert set(last_seen().values()) == {"2026-01-01T00:00:00Z"}
    (folder / gone).unlink()
    # Nothing new (the run that matches nothing again), then a new file (the run that matches again).
    for when, new in (("2026-01-02T00:00:00Z", None), ("2026-01-03T00:00:00Z", "new.txt")):
        if new:
            (folder / new).write_text("A new article about something else entirely, long enough to index.\n")
        assert _invoke("index", str(folder), "--store", str(store), "--keep-missing").exit_code == 0
        seen = last_seen()
        assert seen.pop(gone) == "2026-01-01T00:00:00Z"  # kept, but not found since the first run
        assert set(seen) == {*kept, *([new] if new else [])} and set(seen.values()) == {when}


def test_a_folder_gone_empty_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    """A mount that failed looks like an emptied folder: the run stops before it drops the whole
    store (which would make the next run read everything again and report every pair as new)."""
    folder, store, parked = tmp_path / "a", tmp_path / "s.sqlite", tmp_path / "parked"
    folder.mkdir()
    _copy(["maca", "kratom"], folder)
    n_files = sum(1 for p in folder.rglob("*") if p.is_file())
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    before = store.read_bytes()
    first = min(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    folder.rename(parked)
    folder.mkdir()  # the mount point, with nothing mounted on it
    result = _invoke("index", str(folder), "--store", str(store), "-q")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {n_files} of the {n_files} files in the store are gone from {folder.resolve()} (100%, more than "
        f"--max-removed 0.5; first: {first!r}): is it the right folder, and mounted? Nothing was changed; pass "
        "--max-removed 1 to drop them from the store, or --keep-missing to keep them\n"
    )
    assert store.read_bytes() == before
    folder.rmdir()
    parked.rename(folder)
    back = _invoke("index", str(folder), "--store", str(store), "-q", "--json")
    assert back.exit_code == 0, back.output
    summary = json.loads(back.output)
    assert (summary["files_read"], summary["changes"]["files_unchanged"], summary["changes"]["new_pairs"]) == (
        0,
        n_files,
        0,
    )
    # Half gone is allowed by default; more needs --max-removed (or --keep-missing).
    shutil.rmtree(folder / "kratom")
    kratom = n_files - len(list((folder / "maca").iterdir()))
    assert kratom <= n_files / 2
    gone = _invoke("index", str(folder), "--store", str(store), "-q", "--json")
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.output)["changes"]["files_removed"] == kratom
    shutil.rmtree(folder / "maca")
    (folder / "new.txt").write_text("A new article with words enough to be indexed as one paragraph.\n")
    assert _invoke("index", str(folder), "--store", str(store), "-q").exit_code == 1
    allowed = _invoke("index", str(folder), "--store", str(store), "-q", "--json", "--max-removed", "1")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output)["changes"]["files_removed"] == n_files - kratom


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_folder_that_cannot_be_listed_keeps_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subfolder whose permissions changed, or a stale mount under the corpus, hides its files for
    a night: they stay in the store (not dropped, then all reported new when it is back)."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca", "kratom"], folder)
    notes = "Notes on nothing in particular, with words enough to be indexed as one paragraph."
    (folder / "notes.txt").write_text(notes + "\n")
    first = _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r1"))
    assert first.exit_code == 0
    fail_listing(monkeypatch, folder / "kratom")
    runner = CliRunner()
    args = ["index", str(folder), "--store", str(store), "--workers", "1", "--json", "--out", str(tmp_path / "r2")]
    # A file gone, and a pipe whose name starts like it: only folders hide what they hold.
    (folder / "notes.txt").unlink()
    os.mkfifo(folder / "notes")
    hidden = runner.invoke(app, args)
    assert hidden.exit_code == 0, hidden.output
    assert "skipped kratom/ (unreadable: Permission denied)" in hidden.output.splitlines()
    assert "skipped notes (unreadable: not a regular file (a named pipe))" in hidden.output.splitlines()
    summary = json.loads(hidden.output[hidden.output.index("{") : hidden.output.rindex("}") + 1])
    assert (summary["changes"]["files_removed"], summary["changes"]["new_pairs"]) == (1, 0)
    assert summary["skipped"] == {"unreadable": 2}
    for name in ("clusters.csv", "pairs.csv"):
        assert (tmp_path / "r2" / name).read_bytes() == (tmp_path / "r1" / name).read_bytes()
    monkeypatch.undo()
    (folder / "notes").unlink()
    back = runner.invoke(app, [*args[:-2], "--quiet"])
    assert back.exit_code == 0, back.output
    changes = json.loads(back.output)["changes"]
    assert (changes["files_new"], changes["files_removed"], changes["new_pairs"]) == (0, 0, 0)


_FILE_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
from dedup.cli import app
app(sys.argv[1:], prog_name="dedup")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_store_that_cannot_grow_is_one_error_line_and_keeps_the_last_run(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    _copy(["kratom", "ginseng", "ashwagandha"], folder)
    args = ["index", str(folder), "--store", str(store), "--workers", "1", "-q"]
    full = subprocess.run([sys.executable, "-c", _FILE_SIZE_LIMIT, *args], capture_output=True, text=True, cwd=ROOT)
    assert (full.returncode, full.stdout) == (1, "")
    failed = r"Error: the store failed: (disk I/O error|database or disk is full); it keeps what the last complete run wrote\n"
    assert re.fullmatch(failed, full.stderr), full.stderr
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r")).exit_code == 0
    assert _invoke("scan", str(folder), "--out", str(tmp_path / "scan")).exit_code == 0
    assert _memberships(tmp_path / "r") == _memberships(tmp_path / "scan")


def test_a_moved_or_renamed_file_brings_no_new_duplicate(tmp_path: Path) -> None:
    """Reorganising the folder (a file moved into a subfolder, one renamed) is no new duplicate: the
    articles keep their clusters, pairs and first-seen times under their new paths. A copy beside
    its original is a new duplicate."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["ashwagandha"], folder)
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r1")).exit_code == 0
    before = {r["path"]: r["cluster_id"] for r in _rows(tmp_path / "r1" / "clusters.csv")}
    first, second = sorted(before)[:2]
    with Store(store, build_config(), create=False) as db:
        seen = db.first_seen()
    (folder / "archive").mkdir()
    moved, renamed = f"archive/{Path(first).name}", second.replace(".txt", "-renamed.txt").replace(".md", "-renamed.md")
    (folder / first).rename(folder / moved)
    (folder / second).rename(folder / renamed)
    result = _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r2"), "--json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    assert {k: changes[k] for k in ("files_new", "files_removed", "files_moved", "articles_added", "new_pairs")} == {
        "files_new": 0,
        "files_removed": 0,
        "files_moved": 2,
        "articles_added": 0,
        "new_pairs": 0,
    }
    assert (changes["new_clusters"], changes["articles_removed"]) == (0, 0)
    assert len(_rows(tmp_path / "r2" / "new_pairs.csv")) == len(_rows(tmp_path / "r2" / "new_clusters.csv")) == 0
    after = {r["path"]: r["cluster_id"] for r in _rows(tmp_path / "r2" / "clusters.csv")}
    assert after == {{first: moved, second: renamed}.get(p, p): c for p, c in before.items()}
    with Store(store, build_config(), create=False) as db:
        now = db.first_seen()
        states = db.files()
    assert (now[moved], now[renamed]) == (seen[first], seen[second])
    assert states[moved].first_seen == states[sorted(before)[2]].first_seen
    assert _invoke("scan", str(folder), "--out", str(tmp_path / "scan")).exit_code == 0
    assert _memberships(tmp_path / "r2") == _memberships(tmp_path / "scan")
    shutil.copyfile(folder / moved, folder / "copy.txt")  # a copy is a duplicate, and a new one
    result = _invoke("index", str(folder), "--store", str(store), "--json")
    changes = json.loads(result.output)["changes"]
    assert (changes["files_new"], changes["files_moved"], changes["new_pairs"] > 0) == (1, 0, True)
    # Every file moved at once is no mass removal for --max-removed: their hashes say where they went.
    everything = [p for p in folder.rglob("*") if p.is_file()]
    for path in everything:
        target = folder / "2026" / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    result = _invoke("index", str(folder), "--store", str(store), "--json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    assert (changes["files_moved"], changes["files_removed"], changes["new_pairs"]) == (len(everything), 0, 0)


def test_copies_moved_ahead_or_removed_bring_no_new_duplicate(tmp_path: Path) -> None:
    """Exact copies and their pairs are listed against the first copy by path: moving a copy ahead
    of its original, or removing the first copy, changes the pairs listed, not the duplicates, so
    no pair is new. A new copy that sorts first is new, with its pairs."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    original = sorted(p for p in (folder / "maca").iterdir() if p.suffix == ".txt")[0]
    shutil.copyfile(original, folder / "maca" / "zz-copy.txt")
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r1")).exit_code == 0
    partners = [r for r in _rows(tmp_path / "r1" / "pairs.csv") if r["path_a"] == f"maca/{original.name}"]
    assert len(partners) > 2  # the copy, and other near-duplicates of the original
    (folder / "0-archive").mkdir()
    (folder / "maca" / "zz-copy.txt").rename(folder / "0-archive" / "copy.txt")
    result = _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r2"), "--json")
    changes = json.loads(result.output)["changes"]
    assert (changes["files_moved"], changes["new_pairs"], changes["new_clusters"]) == (1, 0, 0)
    listed = [r for r in _rows(tmp_path / "r2" / "pairs.csv") if r["path_a"] == "0-archive/copy.txt"]
    assert len(listed) == len(partners)  # now listed against the moved copy
    shutil.copyfile(original, folder / "0-0-new.txt")  # sorts first of the copies
    result = _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r3"), "--json")
    changes = json.loads(result.output)["changes"]
    assert (changes["files_new"], changes["new_pairs"]) == (1, len(partners) + 1)
    assert {r["path_a"] for r in _rows(tmp_path / "r3" / "new_pairs.csv")} == {"0-0-new.txt"}
    (folder / "0-0-new.txt").unlink()  # the first copy gone: the pairs go back to the next one, none new
    result = _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r4"), "--json")
    changes = json.loads(result.output)["changes"]
    assert (changes["files_removed"], changes["new_pairs"], changes["new_clusters"]) == (1, 0, 0)
    assert _rows(tmp_path / "r4" / "pairs.csv") == _rows(tmp_path / "r2" / "pairs.csv")


@pytest.mark.parametrize("seed", [1, 2])
def test_nights_of_random_moves_bring_no_new_duplicate(tmp_path: Path, seed: int) -> None:
    """A third of the files moved or renamed each night, copies and JSONL files among them, into
    folders and names that sort before and after the others: nothing is new, no cluster changes."""
    rng = random.Random(seed)
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    shutil.copytree(SAMPLE / "articles", folder)
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r0")).exit_code == 0
    clusters_before = len(_memberships(tmp_path / "r0"))
    for night in range(2):
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        moved = 0
        for path in rng.sample(files, len(files) // 3):
            target = folder / rng.choice(["0", "a", "zz", "m/n"]) / (rng.choice(["", "0-", "z-"]) + path.name)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
                moved += 1
        out = tmp_path / f"r{night + 1}"
        result = _invoke("index", str(folder), "--store", str(store), "--out", str(out), "--json")
        assert result.exit_code == 0, result.output
        changes = json.loads(result.output[result.output.index("{") :])["changes"]
        assert changes["files_moved"] == moved > 50
        assert (changes["files_new"], changes["files_removed"], changes["new_pairs"], changes["new_clusters"]) == (
            0,
            0,
            0,
            0,
        )
        assert len(_memberships(out)) == clusters_before


def test_the_index_summary_table_says_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a").mkdir()
    _copy(["maca"], Path("a"))
    args = ["index", "a", "--store", "s.sqlite", "--workers", "1"]
    assert CliRunner().invoke(app, args).exit_code == 0
    Path("a/maca/00049-maca-mental-focus.txt").rename("a/moved.txt")
    Path("a/new.txt").write_text("A new article about something else entirely, long enough to index.\n")
    result = CliRunner().invoke(app, [*args, "--out", "out"])
    assert result.exit_code == 0, result.output
    rows = [" ".join(line.split()) for line in result.output.splitlines()]
    n = len(list(Path("a").rglob("*.*")))
    for row in (
        "dedup index",
        f"files new / changed / unchanged / removed / moved 1 / 0 / {n - 2} / 0 / 1",
        f"articles {n}",
        "new pairs / new clusters 0 / 0",
        "store s.sqlite",
        "reports out",
    ):
        assert row in rows, row


def test_report_needs_no_corpus_and_ids_stay_stable(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["ashwagandha"], folder)
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r1")).exit_code == 0
    before = {r["path"]: r["cluster_id"] for r in _rows(tmp_path / "r1" / "clusters.csv")}
    assert before
    # A copy of a clustered article with a path that sorts first joins its cluster: the id must not change.
    member = sorted(before)[0]
    shutil.copyfile(folder / member, folder / "0000-first-copy.txt")
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r2")).exit_code == 0
    after = {r["path"]: r["cluster_id"] for r in _rows(tmp_path / "r2" / "clusters.csv")}
    assert after["0000-first-copy.txt"] == before[member]
    assert all(after[p] == c for p, c in before.items())
    new_rows = _rows(tmp_path / "r2" / "new_clusters.csv")
    assert {r["cluster_id"] for r in new_rows} == {before[member]}
    shutil.rmtree(folder)
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "r3")).exit_code == 0
    assert (tmp_path / "r3" / "clusters.csv").read_bytes() == (tmp_path / "r2" / "clusters.csv").read_bytes()


def test_skipped_csv_lists_the_skips_of_earlier_runs_too(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "empty.txt").write_text("")
    (folder / "feed.jsonl").write_text('{"id": "x", "text": "Some words in a record of a feed."}\n{broken\n')
    scans = []
    for run in ("r1", "r2"):
        if run == "r2":  # a skipped file of the first run is not read again, but still listed
            (folder / "binary.txt").write_bytes(b"\x00\x01\x02 binary")
        assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / run)).exit_code == 0
        assert _invoke("scan", str(folder), "--out", str(tmp_path / f"scan-{run}")).exit_code == 0
        scans.append((tmp_path / f"scan-{run}" / "skipped.csv").read_text())
        assert (tmp_path / run / "skipped.csv").read_text() == scans[-1]
    assert scans[1] == (
        "path,reason,detail\n"
        "binary.txt,binary,control bytes in the first 8 KiB\n"
        "empty.txt,empty,\n"
        "feed.jsonl:2,malformed_json,JSONDecodeError\n"
        "notes.pdf,unsupported_type,not .txt/.md/.html/.json/.jsonl/.parquet nor an HTML page\n"
    )
    assert json.loads((tmp_path / "r2" / "summary.json").read_text())["skipped_total"] == 4
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "r3")).exit_code == 0
    assert (tmp_path / "r3" / "skipped.csv").read_text() == scans[1]


def test_gates_and_exit_codes(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["ginseng"], folder)
    first = _invoke("index", str(folder), "--store", str(store), "--fail-on-new-duplicates")
    assert first.exit_code == EXIT_NEW_DUPLICATES
    assert "Gate: " in first.output and "new near-duplicate pairs" in first.output
    again = _invoke("index", str(folder), "--store", str(store), "--fail-on-new-duplicates")
    assert again.exit_code == 0  # nothing new since the last run
    rate = _invoke("index", str(folder), "--store", str(store), "--max-duplicate-rate", "0.01")
    assert rate.exit_code == EXIT_DUPLICATE_RATE
    assert "(--max-duplicate-rate)" in rate.output
    assert _invoke("index", str(folder), "--store", str(store), "--max-duplicate-rate", "0.99").exit_code == 0


def test_parameter_mismatch_and_rebuild(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    bad = _invoke("index", str(folder), "--store", str(store), "--num-perm", "64")
    assert bad.exit_code == 1
    assert bad.output == (
        f"Error: store {store} was built with other settings: num_perm=128 (store) vs 64 (this run); "
        "run dedup index again with --rebuild to re-index everything with the new settings\n"
    )
    assert _invoke("index", str(folder), "--store", str(store), "--num-perm", "64", "--rebuild").exit_code == 0
    with Store(store, build_config(num_perm=64)) as db:
        assert db.meta()["datasketch_version"].startswith("2.")
        assert json.loads(db.meta()["fingerprint_params"])["num_perm"] == 64


def test_text_is_html_is_a_store_setting_that_older_stores_lack(tmp_path: Path) -> None:
    """--text-is-html changes what a JSON record's text is, so a store records it, and refuses to
    mix; a store made without it records nothing new (stores made before the option still open)."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["feeds"], folder)
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    with Store(store, build_config()) as db:
        assert "text_is_html" not in json.loads(db.meta()["fingerprint_params"])
    bad = _invoke("index", str(folder), "--store", str(store), "--text-is-html")
    assert bad.exit_code == 1
    assert bad.output.startswith(
        f"Error: store {store} was built with other settings: text_is_html=False (store) vs True (this run); "
    )
    assert _invoke("index", str(folder), "--store", str(store), "--text-is-html", "--rebuild").exit_code == 0
    assert _invoke("index", str(folder), "--store", str(store)).output.startswith(
        f"Error: store {store} was built with other settings: text_is_html=True (store) vs False (this run); "
    )


def test_text_is_markdown_is_a_store_setting_and_excludes_text_is_html(tmp_path: Path) -> None:
    """--text-is-markdown, like --text-is-html, is recorded by a store that has it on and refused by
    one without it; asking for both is a bad option (exit 2)."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["feeds"], folder)
    assert _invoke("index", str(folder), "--store", str(store), "--text-is-markdown").exit_code == 0
    with Store(store, build_config(text_is_markdown=True)) as db:
        params = json.loads(db.meta()["fingerprint_params"])
        assert (params.get("text_is_markdown"), "text_is_html" in params) == (True, False)
    assert _invoke("index", str(folder), "--store", str(store)).output.startswith(
        f"Error: store {store} was built with other settings: text_is_markdown=True (store) vs False (this run); "
    )
    both = _invoke("scan", str(folder), "--out", str(tmp_path / "o"), "--text-is-html", "--text-is-markdown")
    assert both.exit_code == 2
    assert "text_is_html and text_is_markdown exclude each other" in both.output


def test_report_without_store_is_an_error(tmp_path: Path) -> None:
    result = _invoke("report", "--store", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.output == f"Error: no store at {tmp_path / 'none.sqlite'} (run dedup index first)\n"


def test_lock_timeout(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    with store_lock(store, 1.0):
        t0 = time.monotonic()
        result = _invoke("index", str(folder), "--store", str(store), "--lock-timeout", "0.3")
        waited = time.monotonic() - t0
    assert result.exit_code == EXIT_LOCKED
    assert result.output == (f"Error: store {store} is locked by another run (waited 0.3 s; see --lock-timeout)\n")
    assert waited >= 0.3


def test_a_store_on_a_network_file_system_is_warned_about(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """index, report and clean print one warning line, --quiet or not, for a store that the mount
    table puts on NFS (its WAL journal is not safe there), and go on."""
    import dedup.cli
    from dedup.store import network_file_system

    folder, shared = tmp_path / "a", tmp_path / "mnt share"
    folder.mkdir()
    _copy(["maca"], folder)
    table = tmp_path / "mounts"
    escaped = str(shared).replace(" ", "\\040")  # as the kernel writes a space
    table.write_text(f"/dev/vda / ext4 rw 0 0\nsrv:/x {escaped} nfs4 rw 0 0\n")
    monkeypatch.setattr(dedup.cli, "network_file_system", lambda path: network_file_system(path, table))
    store = shared / "s.sqlite"
    warning = (
        f"warning: the store {store} is on a network file system (nfs4): keep it on a local disk, "
        "where SQLite's journal and locks are safe (see README, The store)\n"
    )
    for args in (
        ["index", str(folder), "--store", str(store), "-q"],
        ["report", "--store", str(store), "--out", str(tmp_path / "r"), "-q"],
        ["clean", "--store", str(store), "--out", str(tmp_path / "c"), "-q"],
    ):
        result = _invoke(*args)
        assert (result.exit_code, result.output) == (0, warning)
    local = tmp_path / "local.sqlite"
    result = _invoke("index", str(folder), "--store", str(local), "-q")
    assert (result.exit_code, result.output) == (0, "")


def test_dry_run_lists_what_a_run_would_read_and_forget(tmp_path: Path) -> None:
    """index --dry-run: a line per new, changed, removed and moved file (or JSON), the counts the
    run then gives; the store is not made, changed or locked, and its header and --max-removed
    stop a dry run as they stop a run."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    first = CliRunner().invoke(app, ["index", str(folder), "--store", str(store), "--dry-run", "-q"])
    assert (first.exit_code, first.output) == (0, "".join(f"new     {n}\n" for n in names))
    assert not store.exists()
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    changed, removed, moved = names[0], names[1], names[2]
    (folder / "fresh.txt").write_text("A new article with words enough to make a paragraph of its own, and more.\n")
    with (folder / changed).open("a") as fh:
        fh.write("One more paragraph at the end of the file, with enough words to be matched.\n")
    (folder / removed).unlink()
    (folder / moved).rename(folder / "moved.txt")
    before = store.read_bytes()
    with store_lock(store, 1.0):  # no lock taken: a run in progress does not stop it
        lines = _invoke("index", str(folder), "--store", str(store), "--dry-run")
        listing = CliRunner().invoke(app, ["index", str(folder), "--store", str(store), "--dry-run", "--json", "-q"])
    assert (lines.exit_code, lines.output) == (
        0,
        f"new     fresh.txt\nchanged {changed}\nremoved {removed}\nmoved   {moved} -> moved.txt\n",
    )
    assert json.loads(listing.output) == {
        "dry_run": True,
        "store": str(store),
        "files": {"new": 1, "changed": 1, "unchanged": len(names) - 3, "removed": 1, "moved": 1},
        "new": ["fresh.txt"],
        "changed": [changed],
        "removed": [removed],
        "moved": [{"from": moved, "to": "moved.txt"}],
    }
    assert store.read_bytes() == before
    run = _invoke("index", str(folder), "--store", str(store), "--json")
    counts = json.loads(run.output)["changes"]
    assert {k: counts[f"files_{k}"] for k in ("new", "changed", "unchanged", "removed", "moved")} == json.loads(
        listing.output
    )["files"]
    # What stops a run stops a dry run, with the same words; --out has no place in one.
    other = _invoke("index", str(folder), "--store", str(store), "--dry-run", "--num-perm", "64")
    assert other.exit_code == 1 and other.output.startswith(f"Error: store {store} was built with other settings")
    for path in folder.rglob("*.txt"):
        path.unlink()
    emptied = [_invoke("index", str(folder), "--store", str(store), *flag) for flag in (["--dry-run"], [])]
    assert emptied[0].exit_code == emptied[1].exit_code == 1
    assert emptied[0].output == emptied[1].output and "--max-removed" in emptied[0].output
    bad = _invoke("index", str(folder), "--store", str(store), "--dry-run", "--out", str(tmp_path / "o"))
    assert (bad.exit_code, bad.output) == (2, "Error: --out with --dry-run: a dry run writes no report\n")


def test_status_shows_the_store_and_its_last_runs(tmp_path: Path) -> None:
    """dedup status reads the store only (no lock, nothing written): its header and content, the
    last run, and the last matching run's counts and what that run kept."""
    folder, store, out = tmp_path / "a", tmp_path / "s.sqlite", tmp_path / "o"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    (folder / "empty.txt").write_text("")
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(out)).exit_code == 0
    summary = json.loads((out / "summary.json").read_text())

    def status() -> dict[str, object]:
        with store_lock(store, 1.0):  # a run holding the lock does not stop it
            result = CliRunner().invoke(app, ["status", "--store", str(store), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    before = store.read_bytes()
    first = status()
    assert store.read_bytes() == before
    with Store(store, build_config()) as db:
        last_run, meta = db.get_state("last_run"), db.meta()
    counts = ("articles", "paragraphs", "unique_paragraphs", "candidate_pairs", "article_pairs", "clusters")
    assert first == {
        "store": str(store),
        "bytes": first["bytes"],
        "store_format": 4,
        "created": meta["created"],
        "input_folder": str(folder.resolve()),
        "datasketch_version": summary["datasketch_version"],
        "fingerprint_parameters": json.loads(meta["fingerprint_params"]),
        "files": summary["files_seen"],
        "articles": summary["articles"],
        "skipped": {"empty": 1},
        "last_run": last_run,
        "last_matching_run": {
            **first["last_matching_run"],  # every count of summary.json, checked below
            "time": last_run,
            "version": summary["version"],
            "kept_reports": True,
            "kept_clean_plan": True,
        },
    }
    last = first["last_matching_run"]
    assert {k: last[k] for k in counts} == {k: summary[k] for k in counts}
    parameters = {
        k: v
        for k, v in summary["parameters"].items()
        if k not in ("workers", "engine", "spark_master", "tag", "minhash_scheme")
    }
    assert last["parameters"] == parameters and last["duplicate_rate"] == summary["changes"]["duplicate_rate"]
    assert first["bytes"] >= store.stat().st_size > 0
    # A run that matches without --out keeps no reports; one with nothing new matches nothing.
    assert _invoke("index", str(folder), "--store", str(store), "--article-similarity", "0.5").exit_code == 0
    second = status()
    assert second["last_matching_run"]["kept_reports"] is False
    assert second["last_matching_run"]["kept_clean_plan"] is True
    assert second["last_matching_run"]["parameters"]["cluster"]["min_article_similarity"] == 0.5
    time.sleep(1.1)  # the store's times are to the second
    assert _invoke("index", str(folder), "--store", str(store), "--article-similarity", "0.5").exit_code == 0
    third = status()
    assert third["last_run"] > second["last_run"] and third["last_matching_run"] == second["last_matching_run"]
    table = CliRunner().invoke(app, ["status", "--store", str(store)]).output
    assert "files / articles" in table and f"{first['files']} / {first['articles']}" in table
    assert "kept for report / clean" in table and "no / yes" in table


def test_status_of_no_store_or_another_file_is_an_error(tmp_path: Path) -> None:
    missing, other = tmp_path / "none.sqlite", tmp_path / "other.sqlite"
    result = CliRunner().invoke(app, ["status", "--store", str(missing)])
    assert (result.exit_code, result.output) == (1, f"Error: no store at {missing} (run dedup index first)\n")
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    result = CliRunner().invoke(app, ["status", "--store", str(other)])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {other} is not a dedup store: no such table: meta\n",
    )
    assert not missing.exists()


def test_a_store_where_nothing_can_be_written_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store on a read-only file system (a snapshot, a read-only share): SQLite cannot make the
    -shm file it reads a WAL store through, so status and report read it as it is (no run can
    write it there), report without a lock (none can be made), and give what they give elsewhere.
    Where the folder is only unwritable to this user, the error says so, not "not a dedup store"."""
    from dedup import store as store_module

    folder, path = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    assert _invoke("index", str(folder), "--store", str(path)).exit_code == 0
    assert _invoke("report", "--store", str(path), "--out", str(tmp_path / "rw")).exit_code == 0
    (tmp_path / "s.sqlite.lock").unlink()
    for end in ("-wal", "-shm"):
        assert not (tmp_path / f"s.sqlite{end}").exists()  # as a store copied elsewhere is
    connect = sqlite3.connect

    def no_shm(database: str, **kwargs: object) -> sqlite3.Connection:  # what SQLite does there
        if "immutable=1" not in database:
            raise sqlite3.OperationalError("unable to open database file")
        return connect(database, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", no_shm)
    monkeypatch.setattr(store_module, "read_only_file_system", lambda p: False)
    result = CliRunner().invoke(app, ["status", "--store", str(path)])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: cannot read the store {path}: unable to open database file (SQLite reads a store through "
        f"its -wal and -shm files beside it: this user must be able to make them in {tmp_path})\n",
    )
    monkeypatch.setattr(store_module, "read_only_file_system", lambda p: True)
    monkeypatch.setattr(cli, "lockable", lambda p: False)
    result = CliRunner().invoke(app, ["status", "--store", str(path)])
    assert result.exit_code == 0 and "files / articles" in result.output
    assert _invoke("report", "--store", str(path), "--out", str(tmp_path / "ro")).exit_code == 0
    for name in ("clusters.csv", "pairs.csv", "articles.csv", "boilerplate.csv", "skipped.csv"):
        assert (tmp_path / "ro" / name).read_bytes() == (tmp_path / "rw" / name).read_bytes(), name
    assert not (tmp_path / "s.sqlite.lock").exists()


def _index_cmd(folder: Path, store: Path, out: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "dedup", "index", str(folder), "--store", str(store), "--workers", "1", "-q"]
    return [*cmd, "--out", str(out)] if out else cmd


def test_two_runs_on_one_store_do_not_interleave(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    runs = [subprocess.Popen(_index_cmd(folder, store, tmp_path / f"o{i}"), cwd=ROOT) for i in range(2)]
    assert [p.wait(timeout=120) for p in runs] == [0, 0]
    a, b = (json.loads((tmp_path / f"o{i}" / "summary.json").read_text())["changes"] for i in range(2))
    # One run indexed everything, the other then found nothing new: never both, never half each.
    assert sorted([a["files_new"], b["files_new"]]) == [0, len([p for p in folder.rglob("*") if p.is_file()])]
    assert (tmp_path / "o0" / "pairs.csv").read_bytes() == (tmp_path / "o1" / "pairs.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, seed: int) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    assert subprocess.run(_index_cmd(folder, store, tmp_path / "before"), cwd=ROOT).returncode == 0
    for batch in BATCHES[1:]:
        _copy(batch, folder)
    proc = subprocess.Popen(_index_cmd(folder, store), cwd=ROOT)
    time.sleep(random.Random(seed).uniform(0.05, 2.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The store still opens and still holds at least everything the first run stored.
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "after_kill")).exit_code == 0
    kept = {r["path"] for r in _rows(tmp_path / "after_kill" / "articles.csv")}
    assert {r["path"] for r in _rows(tmp_path / "before" / "articles.csv")} <= kept
    # The next run completes and equals an uninterrupted index of the final folder.
    assert subprocess.run(_index_cmd(folder, store, tmp_path / "resumed"), cwd=ROOT).returncode == 0
    clean_store = tmp_path / "clean.sqlite"
    assert subprocess.run(_index_cmd(folder, clean_store, tmp_path / "clean"), cwd=ROOT).returncode == 0
    resumed, clean = tmp_path / "resumed", tmp_path / "clean"
    assert (resumed / "pairs.csv").read_bytes() == (clean / "pairs.csv").read_bytes()
    assert _memberships(resumed) == _memberships(clean)


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    result = _invoke("report", "--store", str(bad), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.output == f"Error: {bad} is not a dedup store: file is not a database\n"


def test_json_summary_for_monitoring(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    _copy(["maca"], folder)
    result = CliRunner().invoke(app, ["index", str(folder), "--store", str(tmp_path / "s.sqlite"), "--json", "-q"])
    assert result.exit_code == 0
    summary = json.loads(result.output)
    n = len(list((folder / "maca").iterdir()))
    assert summary["changes"]["files_new"] == n
    assert summary["articles"] == n
    assert summary["store"] == str(tmp_path / "s.sqlite")


def test_arrival_order_does_not_change_results(tmp_path: Path) -> None:
    """Runs that bring articles in another order than a scan (here: last batch first) still agree
    with it when buckets are larger than the pairing window (one neighbour here), and report
    samples come from the same article."""
    import dataclasses

    from dedup.incremental import index_folder, report_from_store
    from dedup.pipeline import run

    cfg = build_config(workers=1)
    cfg = dataclasses.replace(cfg, lsh=dataclasses.replace(cfg.lsh, max_bucket_neighbors=1))
    folder = tmp_path / "articles"
    folder.mkdir()
    rng = random.Random(3)
    words = [f"w{rng.randrange(10_000)}" for _ in range(80)]

    def variants(prefix: str, start: int) -> None:
        # Articles sharing one paragraph with a word or two changed (a bucket of near-identical
        # texts), and one paragraph that differs only in case (same normalised text, other sample).
        for i in range(start, start + 3):  # nine in all: under the boilerplate threshold
            shared = list(words)
            shared[i * 7 % 80] = f"changed{i}"
            own = " ".join(f"u{i}x{k}" for k in range(40))
            case = "Every Word Of This Passage" if prefix == "zz" else "every word of this passage"
            case += " " + " ".join(f"c{k}" for k in range(30))
            (folder / f"{prefix}-{i}.txt").write_text(f"{' '.join(shared)}\n\n{own}\n\n{case}\n", encoding="utf-8")

    with Store(tmp_path / "index.sqlite", cfg) as store:
        for n, batch in enumerate(reversed(BATCHES)):
            _copy(batch, folder)
            variants("zz" if n == 0 else "aa" if n == 2 else "mm", 3 * n)
            index_folder(folder, store, cfg)
        stored = report_from_store(store, cfg)
    scanned = run(folder, cfg)
    assert stored.pairs == scanned.pairs
    assert [(c.representative, [m.path for m in c.members]) for c in stored.clusters] == [
        (c.representative, [m.path for m in c.members]) for c in scanned.clusters
    ]
    assert [(g.id, g.sample, g.all_paths) for g in stored.groups] == [
        (g.id, g.sample, g.all_paths) for g in scanned.groups
    ]
    assert len(scanned.pairs) > 10


def test_unchanged_folder_is_not_matched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing added, changed or removed, a run without --out takes the last run's stats: its
    summary and gates are those a full re-match gives, and nothing is matched."""
    import dedup.incremental

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    (folder / "empty.txt").write_text("")  # a skip, counted in every summary
    index = ["index", str(folder), "--store", str(store), "--json", "--workers", "1", "-q"]
    first = CliRunner().invoke(app, index)
    assert first.exit_code == 0, first.output
    os.utime(sorted(folder.rglob("*.txt"))[0], ns=(1, 1))  # touched, same content
    full = CliRunner().invoke(app, [*index, "--out", str(tmp_path / "out")])  # reports: a full re-match
    assert full.exit_code == 0, full.output

    def no_matching(*args: object, **kwargs: object) -> None:
        raise AssertionError("matched again")

    with monkeypatch.context() as m:
        m.setattr(dedup.incremental, "_match_all", no_matching)
        quick = CliRunner().invoke(app, index)
        assert quick.exit_code == 0, quick.output
        gate = CliRunner().invoke(app, [*index, "--max-duplicate-rate", "0", "--fail-on-new-duplicates"])
        assert gate.exit_code == EXIT_DUPLICATE_RATE
    expected, got = json.loads(full.output), json.loads(quick.output)
    assert got["changes"]["files_unchanged"] == len(list(folder.rglob("*.*")))
    assert got["changes"]["new_pairs"] == 0 and got["skipped"] == {"empty": 1}
    assert {**expected, "seconds": {}} == {**got, "seconds": {}}
    rate = got["changes"]["duplicate_rate"]
    assert rate > 0 and gate.output.endswith(f"Gate: duplicate rate {rate:.4f} > 0 (--max-duplicate-rate)\n")
    # Other code (a development change keeps the version), other parameters, or a new file, and the
    # folder is matched again.
    with monkeypatch.context() as m:
        m.setattr(dedup.incremental, "_code_digest", lambda: "other code")
        with monkeypatch.context() as m2:
            m2.setattr(dedup.incremental, "_match_all", no_matching)
            assert CliRunner().invoke(app, index).exit_code == 1
        assert CliRunner().invoke(app, index).exit_code == 0
    for extra in (["--article-similarity", "0.5"], []):
        if not extra:
            _copy(["maca"], folder)
        with monkeypatch.context() as m:
            m.setattr(dedup.incremental, "_match_all", no_matching)
            assert CliRunner().invoke(app, [*index, *extra]).exit_code == 1
        assert CliRunner().invoke(app, [*index, *extra]).exit_code == 0


def test_new_stores_have_large_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    """Digest batches are large blobs: a new store uses 64 KiB pages; a store made with other pages still opens."""
    cfg = build_config(workers=1)
    with Store(tmp_path / "new.sqlite", cfg) as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 65536
    old = tmp_path / "old.sqlite"
    con = sqlite3.connect(old)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE earlier (x)")
    con.commit()
    con.close()
    with Store(old, cfg) as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.db.execute("SELECT value FROM meta WHERE key = 'store_format'").fetchone() is not None


def test_runs_without_reports_still_record_first_carriers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run without --out makes no reports (its matching skips the evidence and the per-article
    rows), but the store still learns the same pairs and clusters, and when and in which article
    each paragraph group was first seen: a later report equals that of runs that wrote reports,
    and each run's summary counts are the same."""
    import dedup.incremental

    changes: dict[str, list[dict[str, object]]] = {}
    for label, extra in (("quiet", []), ("full", ["--out"])):
        folder, store = tmp_path / label, tmp_path / f"{label}.sqlite"
        folder.mkdir()
        for run, names in enumerate(BATCHES[:2]):
            _copy(names, folder)
            monkeypatch.setattr(dedup.incremental, "now_iso", lambda run=run: f"2026-01-0{run + 1}T00:00:00Z")
            out = [str(tmp_path / f"{label}-{run}")] if extra else []
            result = _invoke("index", str(folder), "--store", str(store), "--json", *extra, *out)
            assert result.exit_code == 0
            changes.setdefault(label, []).append(json.loads(result.stdout)["changes"])
        assert _invoke("report", "--store", str(store), "--out", str(tmp_path / f"{label}-report")).exit_code == 0
    assert changes["quiet"] == changes["full"] and changes["quiet"][1]["new_pairs"] > 0
    for name in ("pairs.csv", "clusters.csv", "boilerplate.csv", "articles.csv"):
        quiet = (tmp_path / "quiet-report" / name).read_bytes()
        assert quiet == (tmp_path / "full-report" / name).read_bytes(), name
    assert {r["first_seen"] for r in _rows(tmp_path / "quiet-report" / "boilerplate.csv")} == {
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
    }


def test_readme_page_size_conversion_keeps_the_store(tmp_path: Path) -> None:
    """The README's one-liner converts a store with 4 KiB pages to 64 KiB pages, and the store still serves reports."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"`sqlite3\s+index\.sqlite\s+'(.*?)'`", readme, re.S)
    assert command is not None
    folder, store = tmp_path / "a", tmp_path / "index.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    con = sqlite3.connect(store)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE earlier (x)")  # the page size is fixed by the first table
    con.execute("DROP TABLE earlier")
    con.close()
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "before")).exit_code == 0
    con = sqlite3.connect(store, isolation_level=None)
    assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
    con.executescript(" ".join(command.group(1).split()))
    assert con.execute("PRAGMA page_size").fetchone()[0] == 65536
    con.close()
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "after")).exit_code == 0
    for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv"):
        assert (tmp_path / "after" / name).read_bytes() == (tmp_path / "before" / name).read_bytes()


def test_file_that_vanishes_while_the_run_hashes_it_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A touched file removed between its listing and its hashing (a scraper still writing the
    folder) counts as changed: the reader skips it with one line, and the run goes on."""
    import dedup.incremental
    from dedup.store import file_sha1

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    index = ["index", str(folder), "--store", str(store), "--json", "--workers", "1"]
    first = CliRunner().invoke(app, index)
    assert first.exit_code == 0, first.output
    victim = sorted(folder.rglob("*.txt"))[0]
    os.utime(victim, ns=(1, 1))  # touched: its content is hashed
    real_stat = dedup.incremental.stat_of

    def stat_then_vanish(path: str) -> tuple[int, int] | None:
        st = real_stat(path)
        if path == str(victim):
            victim.unlink()
        return st

    assert file_sha1(victim) != "" and file_sha1(tmp_path / "none.txt") == ""
    monkeypatch.setattr(dedup.incremental, "stat_of", stat_then_vanish)
    result = CliRunner().invoke(app, index)
    assert result.exit_code == 0, result.output
    rel = victim.relative_to(folder).as_posix()
    assert result.output.startswith(f"skipped {rel} (unreadable: No such file or directory)\n")
    summary, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{") :])
    assert summary["changes"]["files_changed"] == 1 and summary["skipped"] == {"unreadable": 1}
    before, _ = json.JSONDecoder().raw_decode(first.output)
    assert summary["articles"] == before["articles"] - 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=30))
def test_stored_texts_round_trip(texts: list[str]) -> None:
    from dedup.store import _pack_texts, _unpack_texts

    assert _unpack_texts(*_pack_texts(tuple(texts))) == tuple(texts)


def _fields(value: object) -> list[object]:
    """A digest batch's fields, arrays as lists (batches hold arrays: ``==`` cannot compare them)."""
    out: list[object] = []
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        item = getattr(value, f.name)
        out.append(_fields(item) if dataclasses.is_dataclass(item) else getattr(item, "tolist", lambda i=item: i)())
    return out


def _as_stored_before(batch: DigestBatch) -> bytes:
    """A batch pickled as stores made before the texts were compressed and repeated sentences
    shared their band keys: a plain pickle without ``sentence_rows``, a band row per sentence."""
    every = dataclasses.replace(batch, sentence_bands=batch.bands_of(np.arange(len(batch.sentence_keys))))
    state = [getattr(every, f.name) for f in dataclasses.fields(every) if f.name != "sentence_rows"]
    return pickle.dumps(_Pickled(state), protocol=pickle.HIGHEST_PROTOCOL)


class _Pickled:
    """Pickles as a DigestBatch with the given state."""

    def __init__(self, state: list[object]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[object, ...]:
        return (object.__new__, (DigestBatch,), self.state)


def test_stores_written_before_still_load(tmp_path: Path) -> None:
    """Batches are stored with their texts compressed and a band row per distinct sentence; a
    store written before (plain pickled batches, a row per sentence) gives the same reports, and a
    run that needs no samples leaves them out."""
    from dedup.store import _pack_batch, _unpack_batch

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    assert _invoke("index", str(folder), "--store", str(store), "--out", str(tmp_path / "r1")).exit_code == 0
    cfg = build_config(workers=1)
    with Store(store, cfg) as opened:
        batches = list(opened.digest_batches())
        bare = list(opened.digest_batches(samples=False))
        blobs = opened.db.execute("SELECT id, digests FROM batches ORDER BY id").fetchall()
        with opened.transaction():
            for (batch_id, blob), batch in zip(blobs, batches, strict=True):
                assert _fields(_unpack_batch(blob)) == _fields(_unpack_batch(_pack_batch(batch))) == _fields(batch)
                plain = _as_stored_before(batch)
                assert len(blob) < 0.8 * len(plain)
                opened.db.execute("UPDATE batches SET digests = ? WHERE id = ?", (plain, batch_id))
        for old, batch in zip(opened.digest_batches(), batches, strict=True):
            assert old.sentence_rows is None and len(old.sentence_bands) == len(old.sentence_keys)
            everything = np.arange(len(batch.sentence_keys))
            assert np.array_equal(old.bands_of(everything), batch.bands_of(everything))
            same = dataclasses.replace(old, sentence_bands=batch.sentence_bands, sentence_rows=batch.sentence_rows)
            assert _fields(same) == _fields(batch)
        assert [b.samples for b in bare] == [() for _ in batches] and any(b.samples for b in batches)
        assert [_fields(dataclasses.replace(b, samples=())) for b in batches] == [_fields(b) for b in bare]
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "r2")).exit_code == 0
    for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv"):
        assert (tmp_path / "r2" / name).read_bytes() == (tmp_path / "r1" / name).read_bytes()


def _group_alive(pgid: int) -> list[int]:
    """The processes of a process group still running (zombies left out)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
@pytest.mark.parametrize("seed", range(3))
def test_sigterm_to_the_process_group_rolls_back_and_ends_every_process(tmp_path: Path, seed: int) -> None:
    """``timeout`` and systemd send SIGTERM to the run and its workers at once. A worker killed while
    it wrote a result once left the run waiting forever for the rest; now the run exits 143 with
    one line, at once, its workers gone, and the store as the last complete run left it."""
    from corpus.generate import write_corpus

    source, folder, store = tmp_path / "gen", tmp_path / "a", tmp_path / "s.sqlite"
    write_corpus(source, n_articles=1600, seed=seed, formats=False)
    files = sorted(p for p in (source / "articles").rglob("*") if p.is_file())

    def add(part: list[Path]) -> None:
        for f in part:
            target = folder / f.relative_to(source / "articles")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)

    add(files[::2])
    workers = str(min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
    index = [sys.executable, "-m", "dedup", "index", str(folder), "--store", str(store), "--workers", workers, "-q"]
    assert subprocess.run([*index, "--out", str(tmp_path / "before")], cwd=ROOT).returncode == 0
    add(files[1::2])
    wal = store.with_name(store.name + "-wal")
    proc = subprocess.Popen(index, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (wal.exists() and wal.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # until the run writes its first new batch, inside its transaction
    time.sleep(random.Random(seed).uniform(0.0, 0.3))
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (143, "Error: interrupted by SIGTERM\n")
    assert _group_alive(proc.pid) == []
    # Nothing of the interrupted run was stored; the next run completes and equals a fresh index.
    assert _invoke("report", "--store", str(store), "--out", str(tmp_path / "after")).exit_code == 0
    paths = lambda out: sorted(r["path"] for r in _rows(out / "articles.csv"))  # noqa: E731
    assert paths(tmp_path / "after") == paths(tmp_path / "before")
    assert subprocess.run([*index, "--out", str(tmp_path / "resumed")], cwd=ROOT).returncode == 0
    fresh = [*index[:6], str(tmp_path / "fresh.sqlite"), *index[7:], "--out", str(tmp_path / "fresh")]
    assert subprocess.run(fresh, cwd=ROOT).returncode == 0
    assert (tmp_path / "resumed" / "pairs.csv").read_bytes() == (tmp_path / "fresh" / "pairs.csv").read_bytes()
    assert _memberships(tmp_path / "resumed") == _memberships(tmp_path / "fresh")


def test_reports_are_written_before_the_store_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index run whose reports cannot be written stores nothing: the next run finds the same new
    pairs and writes them (after the commit, they would have been lost: known to the store, named
    by no report)."""
    import errno

    import dedup.report

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    index = ["index", str(folder), "--store", str(store), "--json", "--workers", "1", "-q"]
    assert CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r1")]).exit_code == 0
    _copy(BATCHES[1], folder)
    shutil.copyfile(store, tmp_path / "copy.sqlite")
    reference = ["index", str(folder), "--store", str(tmp_path / "copy.sqlite"), "--workers", "1", "-q"]
    assert CliRunner().invoke(app, [*reference, "--out", str(tmp_path / "reference")]).exit_code == 0
    write_summary_json = dedup.report.write_summary_json

    def full_disk(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "r2" / "summary.json"))

    monkeypatch.setattr(dedup.report, "write_summary_json", full_disk)
    failed = CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r2")])
    assert (failed.exit_code, failed.output) == (
        1,
        f"Error: No space left on device ({tmp_path / 'r2' / 'summary.json'})\n",
    )
    assert list((tmp_path / "r2").iterdir()) == []  # nothing half-written, no temporary file
    monkeypatch.setattr(dedup.report, "write_summary_json", write_summary_json)
    again = CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r3")])
    assert again.exit_code == 0, again.output
    changes = json.loads(again.output)["changes"]
    assert changes["files_new"] == sum(
        1 for batch in BATCHES[1] for p in (SAMPLE / "articles" / batch).rglob("*") if p.is_file()
    )
    assert changes["new_pairs"] > 0
    for name in ("new_pairs.csv", "new_clusters.csv"):
        assert (tmp_path / "r3" / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()


def test_a_run_with_nothing_new_writes_the_kept_reports_without_matching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nightly ``index --out`` run that finds nothing to read or forget writes the reports the
    last matching run kept in the store, as they were, instead of matching the whole store again;
    reports kept by an earlier run, or under other parameters, are never used."""
    import dedup.incremental

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(BATCHES[0], folder)
    index = ["index", str(folder), "--store", str(store), "--workers", "1", "-q", "--json"]
    assert CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r1")]).exit_code == 0
    matched = []
    match_all = dedup.incremental._match_all
    monkeypatch.setattr(dedup.incremental, "_match_all", lambda *a, **k: matched.append(1) or match_all(*a, **k))

    quiet = CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r2")])
    assert quiet.exit_code == 0, quiet.output
    assert matched == []
    for name in ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv", "skipped.csv"):
        assert (tmp_path / "r2" / name).read_bytes() == (tmp_path / "r1" / name).read_bytes(), name
    for name, columns in (("new_pairs.csv", "path_a,path_b"), ("new_clusters.csv", "cluster_id,path")):
        assert (tmp_path / "r2" / name).read_text().startswith(columns)
        assert len((tmp_path / "r2" / name).read_text().splitlines()) == 1
    first, again = (json.loads((tmp_path / r / "summary.json").read_text()) for r in ("r1", "r2"))
    assert again["changes"]["new_pairs"] == 0 and again["changes"]["files_unchanged"] == first["changes"]["files_new"]
    assert set(again["seconds"]) == set(first["seconds"])
    for key in ("articles", "article_pairs", "clusters", "boilerplate_groups", "skipped", "files_seen", "parameters"):
        assert again[key] == first[key], key
    assert json.loads(quiet.output)["article_pairs"] == first["article_pairs"]
    # dedup report writes them too, without matching (and no new reports).
    report = ["report", "--store", str(store), "--workers", "1", "-q", "--out", str(tmp_path / "rep")]
    assert CliRunner().invoke(app, report).exit_code == 0
    assert matched == []
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == sorted(REPORT_FILES)
    for name in REPORT_FILES[:5]:
        assert (tmp_path / "rep" / name).read_bytes() == (tmp_path / "r1" / name).read_bytes(), name
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    for key in ("articles", "article_pairs", "clusters", "skipped", "files_seen", "files_read", "parameters"):
        assert summary[key] == (first[key] if key != "files_read" else first["changes"]["files_new"]), key

    # A run that matched without --out keeps no reports: the next quiet run matches again.
    _copy(BATCHES[1], folder)
    assert CliRunner().invoke(app, index).exit_code == 0
    assert matched == [1]
    assert CliRunner().invoke(app, [*index, "--out", str(tmp_path / "r3")]).exit_code == 0
    assert matched == [1, 1]
    scan = ["scan", str(folder), "--workers", "1", "-q", "--out", str(tmp_path / "scan")]
    assert CliRunner().invoke(app, scan).exit_code == 0
    assert (tmp_path / "r3" / "pairs.csv").read_bytes() == (tmp_path / "scan" / "pairs.csv").read_bytes()
    assert CliRunner().invoke(app, [*report[:-1], str(tmp_path / "rep3")]).exit_code == 0
    assert matched == [1, 1]  # the reports kept by the run that made r3
    assert (tmp_path / "rep3" / "pairs.csv").read_bytes() == (tmp_path / "scan" / "pairs.csv").read_bytes()
    # Other parameters: the kept reports are not theirs.
    other = ["--article-similarity", "0.95"]
    assert CliRunner().invoke(app, [*index, *other, "--out", str(tmp_path / "r4")]).exit_code == 0
    assert matched == [1, 1, 1]
    assert CliRunner().invoke(app, [*scan[:-1], str(tmp_path / "scan6"), *other]).exit_code == 0
    assert (tmp_path / "r4" / "pairs.csv").read_bytes() == (tmp_path / "scan6" / "pairs.csv").read_bytes()
    assert (tmp_path / "r4" / "pairs.csv").read_bytes() != (tmp_path / "r3" / "pairs.csv").read_bytes()
    # ... and the next quiet run with those parameters uses the reports that run kept.
    assert CliRunner().invoke(app, [*index, *other, "--out", str(tmp_path / "r5")]).exit_code == 0
    assert matched == [1, 1, 1]
    assert (tmp_path / "r5" / "pairs.csv").read_bytes() == (tmp_path / "r4" / "pairs.csv").read_bytes()
    # A report with parameters other than the kept reports' matches the store.
    assert CliRunner().invoke(app, [*report[:-1], str(tmp_path / "rep4")]).exit_code == 0
    assert matched == [1, 1, 1, 1]
    assert (tmp_path / "rep4" / "pairs.csv").read_bytes() == (tmp_path / "scan" / "pairs.csv").read_bytes()


def _filler(seed: int, paragraphs: int) -> str:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(5000)]
    return "\n".join(" ".join(rng.choice(words) for _ in range(30)) + "." for _ in range(paragraphs)) + "\n"


def test_a_run_reads_again_what_its_options_or_version_read_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files whose stored outcome this run's options or this install would not give are read again,
    unchanged as they are: a raised --max-file-mb reads the files skipped as too large that fit
    now, a lowered one drops those over it (compressed and Parquet files are read to tell), and a
    Parquet file skipped while pyarrow was missing is read once it is installed (the sample's
    compressed article is read again when the limit falls). Every night's
    reports equal a scan with that night's options."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    maca = sorted((folder / "maca").iterdir())[0].read_text(encoding="utf-8")
    (folder / "big.txt").write_text(maca + _filler(1, 600), encoding="utf-8")
    (folder / "big.txt.gz").write_bytes(gzip.compress((maca + _filler(2, 600)).encode(), mtime=0))
    pq.write_table(pa.table({"text": [maca, _filler(3, 3)]}), folder / "rows.parquet")
    assert (folder / "big.txt").stat().st_size > 0.1 * (1 << 20) > (folder / "big.txt.gz").stat().st_size
    readable = {"now": False}
    monkeypatch.setattr("dedup.ingest.parquet_readable", lambda: readable["now"])
    files = sum(1 for f in folder.rglob("*") if f.is_file())
    nights = [("0.1", False, 0), ("1", True, 3), ("0.1", True, 4), ("0.1", True, 0), ("0.1", True, 2)]
    for night, (limit, pyarrow_there, changed) in enumerate(nights):
        readable["now"] = pyarrow_there
        if night == 4:  # a store from before the limit was kept: its too large files are read once
            with sqlite3.connect(store) as db:
                db.execute("DELETE FROM state WHERE key = 'max_file_bytes'")
            db.close()
        options = ["--max-file-mb", limit]
        run, scan = tmp_path / f"run{night}", tmp_path / f"scan{night}"
        result = _invoke("index", str(folder), "--store", str(store), "--out", str(run), *options)
        assert result.exit_code == 0, result.output
        changes = json.loads((run / "summary.json").read_text())["changes"]
        assert (changes["files_new"], changes["files_changed"]) == (0 if night else files, changed), night
        assert _invoke("scan", str(folder), "--out", str(scan), *options).exit_code == 0
        for name in ("pairs.csv", "skipped.csv"):
            assert (run / name).read_bytes() == (scan / name).read_bytes(), (night, name)
        assert _memberships(run) == _memberships(scan)
        articles = [r["path"] for r in _rows(run / "articles.csv")]
        assert articles == [r["path"] for r in _rows(scan / "articles.csv")]
        assert ("big.txt" in articles, "big.txt.gz" in articles) == (limit == "1", limit == "1"), night
        assert ("rows.parquet#1" in articles) == pyarrow_there, night


def test_files_an_earlier_reader_read_otherwise_are_read_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store made by an earlier reader (one that cut JSONL lines at U+2028, ignored the charset
    an HTML page declares, skipped Chinese text in GBK as invalid_utf8, and normalised otherwise)
    reads again, unchanged as they are, the files this reader may read otherwise, once (every file
    it read, and the skipped Chinese one): the next run's reports equal a scan's, and the run
    after it reads nothing."""
    from dedup import ingest

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    maca = sorted((folder / "maca").iterdir())
    texts = [f.read_text(encoding="utf-8") for f in maca if f.suffix == ".txt"]
    records = [{"id": "cut", "text": texts[0].replace("\n", "\u2028", 1)}, {"id": "whole", "text": texts[1]}]
    feed = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (folder / "feed.jsonl").write_text(feed, encoding="utf-8")
    (folder / "plain.jsonl").write_text(json.dumps(records[1]) + "\n", encoding="utf-8")
    chinese = "卡痛是一种原产于东南亚的植物，近年来因其潜在的健康益处而受到广泛关注。许多人使用它来缓解疼痛、提高能量和改善情绪。"
    (folder / "zh.txt").write_bytes(f"{chinese}\n\n{chinese[::-1]}\n".encode("gbk"))
    page = '<html><head><meta charset="iso-8859-2"></head><body><article><p>{}</p></article></body></html>'
    polish = "Zażółć gęślą jaźń. Łódź jest pięknym miastem w Polsce, gdzie mieszka wielu ludzi. "
    (folder / "pl.html").write_bytes(page.format(polish * 4).encode("iso-8859-2"))  # detected as cp1250
    files = sum(1 for f in folder.rglob("*") if f.is_file())

    def splitlines(text: str) -> object:
        return ((n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip())

    with monkeypatch.context() as earlier:  # the earlier reader
        earlier.setattr(ingest, "jsonl_lines", splitlines)
        earlier.setattr(ingest, "_declared_encoding", lambda data: None)
        earlier.setattr(ingest, "_MULTIBYTE_LEGACY", frozenset())
        assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    with Store(store, build_config()) as opened:
        assert {s.path for s in opened.skips() if s.reason == "malformed_json"} == {"feed.jsonl:1", "feed.jsonl:2"}
        assert opened.file_skips()["zh.txt"] == "invalid_utf8"
        assert "jaľń" in opened.article_paragraphs("pl.html")[1][0]  # cp1250: garbled
        skipped = len(opened.file_skips())
    with sqlite3.connect(store) as db:  # a store from before the reader's version was kept
        db.execute("DELETE FROM state WHERE key = 'reader_version'")
    db.close()
    for night, changed in ((1, files - skipped + 1), (2, 0)):
        run, scan = tmp_path / f"run{night}", tmp_path / f"scan{night}"
        assert _invoke("index", str(folder), "--store", str(store), "--out", str(run)).exit_code == 0
        assert json.loads((run / "summary.json").read_text())["changes"]["files_changed"] == changed
        assert _invoke("scan", str(folder), "--out", str(scan)).exit_code == 0
        for name in ("pairs.csv", "skipped.csv"):
            assert (run / name).read_bytes() == (scan / name).read_bytes(), (night, name)
        assert _memberships(run) == _memberships(scan)
        articles = [r["path"] for r in _rows(run / "articles.csv")]
        assert articles == [r["path"] for r in _rows(scan / "articles.csv")]
        assert {"feed.jsonl#cut", "zh.txt", "pl.html"} <= set(articles)
        with Store(store, build_config()) as opened:
            assert "gęślą" in opened.article_paragraphs("pl.html")[1][0], night


def test_pages_an_earlier_reader_skipped_for_their_name_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store made by reader 4, which skipped as unsupported_type every file whose name gives no
    format: the first run of this version reads those again (the wget page, the .shtml page and the
    PDF) and nothing else, its reports equal a scan's, and the next run reads nothing."""
    from dedup import ingest

    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    _copy(["maca"], folder)
    text = sorted((folder / "maca").glob("*.txt"))[0].read_text(encoding="utf-8")
    page = "<!DOCTYPE html><html><body><article>{}</article></body></html>".format(
        "".join(f"<p>{para}</p>" for para in text.split("\n\n"))
    )
    (folder / "mirror").mkdir()
    (folder / "mirror" / "index.php?p=7").write_text(page, encoding="utf-8")
    (folder / "mirror" / "guide.shtml").write_text(page, encoding="utf-8")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not a page")
    with monkeypatch.context() as earlier:  # the earlier reader: names only
        earlier.setattr(ingest, "_is_html_page", lambda data: False)
        earlier.delitem(ingest._SUFFIXES, ".shtml")
        assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    with Store(store, build_config()) as opened:
        with opened.transaction():
            opened.set_state("reader_version", 4)
        assert sorted(p for p, r in opened.file_skips().items() if r == "unsupported_type") == [
            "mirror/guide.shtml",
            "mirror/index.php?p=7",
            "notes.pdf",
        ]
    for night, changed in ((1, 3), (2, 0)):
        run, scan = tmp_path / f"run{night}", tmp_path / f"scan{night}"
        assert _invoke("index", str(folder), "--store", str(store), "--out", str(run)).exit_code == 0
        assert json.loads((run / "summary.json").read_text())["changes"]["files_changed"] == changed
        assert _invoke("scan", str(folder), "--out", str(scan)).exit_code == 0
        for name in ("pairs.csv", "skipped.csv", "articles.csv"):
            assert (run / name).read_bytes() == (scan / name).read_bytes(), (night, name)
        assert _memberships(run) == _memberships(scan)
        assert {"mirror/index.php?p=7", "mirror/guide.shtml"} <= {r["path"] for r in _rows(run / "articles.csv")}
        nor = "not .txt/.md/.html/.json/.jsonl/.parquet nor an HTML page"
        assert (run / "skipped.csv").read_text().endswith(f"notes.pdf,unsupported_type,{nor}\n")


def test_a_skip_belongs_to_its_file_whatever_the_name_holds(tmp_path: Path) -> None:
    """A file named with ``#`` or ``:`` keeps its skip, and loses it when it goes (the skip was
    once filed under the name's head, ``page``, and outlived the file)."""
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    folder.mkdir()
    (folder / "page#top.txt").write_text("")
    (folder / "feed:2.jsonl").write_text('{"id": "x#1", "text": ""}\n')
    assert _invoke("index", str(folder), "--store", str(store)).exit_code == 0
    with Store(store, build_config()) as opened:
        assert opened.file_skips() == {"page#top.txt": "empty"}
        assert [s.path for s in opened.skips()] == ["feed:2.jsonl#x#1", "page#top.txt"]
    for name in ("page#top.txt", "feed:2.jsonl"):
        (folder / name).unlink()
    assert _invoke("index", str(folder), "--store", str(store), "--max-removed", "1").exit_code == 0
    with Store(store, build_config()) as opened:
        assert opened.skips() == []
