"""dedup clean: one article per cluster, boilerplate stripped on request, a manifest, input untouched."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import EXIT_LOCKED, EXIT_USAGE, app
from dedup.ingest import decode_bytes

BOILER = "Disclaimer: this article is for information only and is not medical advice, ask a doctor first."


def _para(rng: random.Random) -> str:
    return " ".join(rng.choice([f"w{i}" for i in range(4000)]) for _ in range(25)).capitalize() + "."


def _tree_hash(root: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".dedup" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def _corpus(root: Path) -> None:
    rng = random.Random(1)
    for i in range(12):
        body = [_para(rng) for _ in range(3)]
        (root / f"a{i:02d}.txt").write_text("\n".join([*body, BOILER]) + "\n", encoding="utf-8")
    original = (root / "a00.txt").read_text(encoding="utf-8")
    (root / "z-copy.txt").write_text(original, encoding="utf-8")
    records = [
        {"id": "r1", "text": (root / "a01.txt").read_text(encoding="utf-8")},
        {"id": "r2", "text": "\n".join(_para(rng) for _ in range(3))},
    ]
    (root / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


def _run(*args: str) -> object:
    return CliRunner().invoke(app, [*args, "--workers", "1", "--quiet"])


def test_clean_keeps_one_per_cluster_and_strips(tmp_path: Path) -> None:
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    before = _tree_hash(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    result = _run("clean", "--store", str(store), "--out", str(out), "--strip-boilerplate", "--keep", "first")
    assert result.exit_code == 0, result.output
    assert _tree_hash(src) == before  # the input folder is never modified
    with (out / "manifest.csv").open(newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert rows["z-copy.txt"]["action"] == "dropped"
    assert rows["z-copy.txt"]["representative"] == "a00.txt"
    assert rows["feed.jsonl#r1"]["action"] == "dropped"  # "a01.txt" sorts first and represents it
    assert rows["feed.jsonl#r1"]["representative"] == "a01.txt"
    assert rows["a01.txt"]["action"] == "stripped"
    assert rows["a00.txt"]["action"] == "stripped"
    assert rows["a00.txt"]["removed_paragraphs"] == "1"
    assert not (out / "z-copy.txt").exists()
    kept = (out / "a00.txt").read_text(encoding="utf-8")
    assert BOILER not in kept
    assert kept == "\n".join((src / "a00.txt").read_text(encoding="utf-8").splitlines()[:3]) + "\n"
    records = [json.loads(line) for line in (out / "feed.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["r2"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.csv", "feed.jsonl"] + [f"a{i:02d}.txt" for i in range(12)]
    )


def test_clean_without_strip_copies_bytes(tmp_path: Path) -> None:
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    assert _run("clean", "--store", str(store), "--out", str(out)).exit_code == 0
    assert (out / "a05.txt").read_bytes() == (src / "a05.txt").read_bytes()


def test_clean_refuses_to_write_into_the_corpus(tmp_path: Path) -> None:
    src, store = tmp_path / "src", tmp_path / "s.sqlite"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    result = _run("clean", "--store", str(store), "--out", str(src / "cleaned"))
    assert result.exit_code == EXIT_USAGE
    assert (
        result.output
        == f"Error: --out {src / 'cleaned'} is inside the corpus folder {src.resolve()}; clean never writes there\n"
    )


def test_clean_into_an_earlier_copy_replaces_it(tmp_path: Path) -> None:
    """A nightly clean into the same folder: the files of the earlier copy do not outlive it (an
    article dropped since, the .html an earlier run copied and a stripped run writes as .txt)."""
    src, store, out, fresh = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean", tmp_path / "fresh"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    out.mkdir(mode=0o750)
    out.chmod(0o750)
    assert _run("clean", "--store", str(store), "--out", str(out)).exit_code == 0
    (out / "stale.txt").write_text("an article an earlier run kept\n")
    (out / "old" / "deep").mkdir(parents=True)
    result = _run("clean", "--store", str(store), "--out", str(out), "--strip-boilerplate")
    assert result.exit_code == 0, result.output
    assert _run("clean", "--store", str(store), "--out", str(fresh), "--strip-boilerplate").exit_code == 0
    assert _tree_hash(out) == _tree_hash(fresh)
    assert not (out / "stale.txt").exists() and not (out / "old").exists()
    assert out.stat().st_mode & 0o777 == 0o750  # the folder keeps its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".clean.lock",
        ".fresh.lock",
        "clean",
        "fresh",
        "s.sqlite",
        "s.sqlite.lock",
        "src",
    ]


def test_clean_refuses_a_folder_that_is_not_an_earlier_copy(tmp_path: Path) -> None:
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "elsewhere"
    src.mkdir()
    _corpus(src)
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    result = _run("clean", "--store", str(store), "--out", str(out))
    assert result.exit_code == EXIT_USAGE
    assert result.output == (
        f"Error: --out {out} is not empty and holds no manifest.csv of an earlier dedup clean; "
        "clean writes a whole new copy: give an empty or new folder\n"
    )
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_clean_that_fails_leaves_the_earlier_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    assert _run("clean", "--store", str(store), "--out", str(out)).exit_code == 0
    before = _tree_hash(out)

    def fail(result: object, source: Path, target: Path, *args: object) -> None:
        (target / "half-written.txt").write_text("x")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dedup.clean.clean_corpus", fail)
    result = _run("clean", "--store", str(store), "--out", str(out))
    assert result.exit_code == 1
    assert _tree_hash(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".clean.lock", "clean", "s.sqlite", "s.sqlite.lock", "src"]


def test_clean_rewrites_jsonl_with_odd_records(tmp_path: Path) -> None:
    """A record whose id holds a lone surrogate is kept under the id its article got; a line nested
    past the parser's limit is dropped, as the index skipped it."""
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    deep = "[" * 100_000 + "]" * 100_000
    record = '{"id": "x\\ud800", "text": "Words \\udc00 enough for one indexed paragraph of this article, and more.", "n": "\\udfff"}'
    (src / "odd.jsonl").write_text(f"{record}\n{deep}\n", encoding="utf-8")
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    result = _run("clean", "--store", str(store), "--out", str(out))
    assert result.exit_code == 0, result.output
    (line,) = (out / "odd.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {
        "id": "x\ud800",
        "text": "Words \udc00 enough for one indexed paragraph of this article, and more.",  # as it was
        "n": "\udfff",
    }
    manifest = {row["path"]: row["action"] for row in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
    assert manifest["odd.jsonl#x\ufffd"] == "kept"


def test_clean_keeps_jsonl_records_holding_line_separators_and_legacy_characters(tmp_path: Path) -> None:
    """A record holding a raw U+2028 is kept whole, under the id its line gave it; a JSONL file in
    a legacy encoding is written back in UTF-8 with the characters it was read with (the detected
    encoding's), not with replacement characters."""
    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    rng = random.Random(8)
    odd = {"text": _para(rng) + "\u2028" + _para(rng), "n": "\x85"}
    (src / "sep.jsonl").write_text(json.dumps(odd, ensure_ascii=False) + "\n", encoding="utf-8")
    legacy = [{"text": f"Café crème brûlée {i}: " + _para(rng) + " Déjà vu, naïve façade."} for i in range(3)]
    (src / "old.jsonl").write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in legacy).encode("cp1252"))
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    result = _run("clean", "--store", str(store), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in (out / "sep.jsonl").read_text(encoding="utf-8").split("\n")[:-1]] == [odd]
    read = [json.loads(line) for line in decode_bytes((src / "old.jsonl").read_bytes()).splitlines()]
    assert len(read) == 3 and "\ufffd" not in str(read)
    assert [json.loads(line) for line in (out / "old.jsonl").read_text(encoding="utf-8").split("\n")[:-1]] == read
    manifest = {row["path"]: row["action"] for row in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
    assert manifest == {"sep.jsonl#1": "kept", **{f"old.jsonl#{i}": "kept" for i in (1, 2, 3)}}


def test_clean_strips_a_list_of_paragraphs_into_a_list(tmp_path: Path) -> None:
    """A text field (or Parquet column) holding a list of paragraphs is written back as the list
    of the kept ones with --strip-boilerplate, as it was without."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    rng = random.Random(5)
    paragraphs = [_para(rng), _para(rng), BOILER]
    (src / "list.jsonl").write_text(json.dumps({"id": "x", "text": paragraphs}) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": [[_para(rng), BOILER]]}), src / "rows.parquet")
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    assert _run("clean", "--store", str(store), "--out", str(out)).exit_code == 0
    assert json.loads((out / "list.jsonl").read_text(encoding="utf-8")) == {"id": "x", "text": paragraphs}
    result = _run("clean", "--store", str(store), "--out", str(out), "--strip-boilerplate")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "list.jsonl").read_text(encoding="utf-8")) == {"id": "x", "text": paragraphs[:2]}
    table = pq.read_table(out / "rows.parquet")
    assert table.column("text").to_pylist()[0] == pq.read_table(src / "rows.parquet").column("text").to_pylist()[0][:1]
    assert str(table.schema.field("text").type) == "list<element: string>"


def test_clean_through_a_link_replaces_the_folder_it_points_to(tmp_path: Path) -> None:
    src, store, real, link = (
        tmp_path / "src",
        tmp_path / "s.sqlite",
        tmp_path / "big-disk" / "clean",
        tmp_path / "clean",
    )
    src.mkdir()
    _corpus(src)
    real.mkdir(parents=True)
    link.symlink_to(real, target_is_directory=True)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    for _ in range(2):
        assert _run("clean", "--store", str(store), "--out", str(link)).exit_code == 0
        assert link.is_symlink() and (real / "manifest.csv").is_file()
    assert sorted(p.name for p in real.parent.iterdir()) == [".clean.lock", "clean"]


def test_clean_of_html_records_keeps_them_as_they_were_unless_stripped(tmp_path: Path) -> None:
    """With --text-is-html a page saved as .html and the same page in a JSONL field are copies;
    clean keeps the record (first path) whole, HTML and all, or with --strip-boilerplate writes
    the extracted text into its field."""
    src, store = tmp_path / "src", tmp_path / "s.sqlite"
    src.mkdir()
    rng = random.Random(3)
    page = "<html><body><nav>Home | Shop</nav><article>{}</article></body></html>".format(
        "".join(f"<p>{_para(rng)}</p>" for _ in range(3))
    )
    (src / "page.html").write_text(page, encoding="utf-8")
    records = [{"id": "p", "html": page, "url": "https://example.com/p"}, {"id": "q", "html": "<p>Too short.</p>"}]
    (src / "dump.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    html = ["--text-field", "html", "--text-is-html"]
    assert _run("index", str(src), "--store", str(store), *html).exit_code == 0
    for strip in ([], ["--strip-boilerplate"]):
        out = tmp_path / f"clean{len(strip)}"
        result = _run("clean", "--store", str(store), "--out", str(out), *html, *strip)
        assert result.exit_code == 0, result.output
        manifest = {r["path"]: r["action"] for r in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
        assert manifest == {"dump.jsonl#p": "kept", "page.html": "dropped"}
        (line,) = (out / "dump.jsonl").read_text(encoding="utf-8").splitlines()
        if strip:
            paragraphs = [p.split("</p>")[0] for p in page.split("<p>")[1:]]
            assert json.loads(line) == {**records[0], "html": "\n".join(paragraphs)}
        else:
            assert json.loads(line) == records[0]


def test_clean_of_pages_named_without_a_format(tmp_path: Path) -> None:
    """Pages of a wget mirror (``index.php?p=7``, ``guide.shtml``) are read as HTML: clean copies
    the kept one as it is, or with --strip-boilerplate writes its text under a ``.txt`` name."""
    src, store = tmp_path / "src", tmp_path / "s.sqlite"
    src.mkdir()
    rng = random.Random(4)
    pages = {
        name: "<!DOCTYPE html><html><body><nav>Home | Shop</nav><article>{}</article></body></html>".format(
            "".join(f"<p>{_para(rng)}</p>" for _ in range(3))
        )
        for name in ("index.php?p=7", "guide.shtml")
    }
    for name, page in pages.items():
        (src / name).write_text(page, encoding="utf-8")
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    for strip in ([], ["--strip-boilerplate"]):
        out = tmp_path / f"clean{len(strip)}"
        assert _run("clean", "--store", str(store), "--out", str(out), *strip).exit_code == 0
        manifest = {r["path"]: r["action"] for r in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
        assert manifest == dict.fromkeys(pages, "kept")
        written = sorted(p.name for p in out.iterdir() if p.name != "manifest.csv")
        if strip:
            assert written == ["guide.txt", "index.php?p=7.txt"]
            paragraphs = [p.split("</p>")[0] for p in pages["guide.shtml"].split("<p>")[1:]]
            assert (out / "guide.txt").read_text(encoding="utf-8") == "\n".join(paragraphs)
        else:
            assert written == ["guide.shtml", "index.php?p=7"]
            assert all((out / name).read_text(encoding="utf-8") == page for name, page in pages.items())


def test_a_killed_clean_leaves_nothing_the_next_one_keeps(tmp_path: Path) -> None:
    """A clean killed mid-copy leaves its half-written folder beside --out; the next clean into it
    removes that, and a second clean into the same folder waits for the first (--lock-timeout)."""
    from dedup.store import file_lock

    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    for left in (".clean.new-k1ll3d_x", ".clean.old-k1ll3d_x", ".clean.new-Mine"):
        (tmp_path / left / "sub").mkdir(parents=True)
        (tmp_path / left / "sub" / "a00.txt").write_text("half")
    with file_lock(tmp_path / ".clean.lock", 0, "held"):
        busy = _run("clean", "--store", str(store), "--out", str(out), "--lock-timeout", "0.2")
    assert busy.exit_code == EXIT_LOCKED
    assert busy.output == f"Error: --out {out} is being written by another clean (waited 0.2 s; see --lock-timeout)\n"
    assert _run("clean", "--store", str(store), "--out", str(out)).exit_code == 0
    # A folder named otherwise than clean names its own (mkdtemp's eight characters) is not its to remove.
    left = [".clean.lock", ".clean.new-Mine", "clean", "s.sqlite", "s.sqlite.lock", "src"]
    assert sorted(p.name for p in tmp_path.iterdir()) == left


@pytest.mark.parametrize("index_out", [False, True])
def test_clean_after_an_index_run_matches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_out: bool
) -> None:
    """Each index run that matches keeps what clean needs (clusters, boilerplate) in the store: a
    clean with the run's parameters writes the copy and manifest that matching the store gives,
    without matching; other parameters (--keep) match the store again."""
    import sqlite3

    import dedup.incremental

    src, store = tmp_path / "src", tmp_path / "s.sqlite"
    src.mkdir()
    _corpus(src)
    longer = (src / "a02.txt").read_text(encoding="utf-8") + _para(random.Random(2)) + "\n"
    (src / "b-longer.txt").write_text(longer, encoding="utf-8")  # longest, but not first, of its cluster
    reports = ["--out", str(tmp_path / "reports")] if index_out else []
    assert _run("index", str(src), "--store", str(store), *reports).exit_code == 0
    matched: list[int] = []
    match_all = dedup.incremental._match_all
    monkeypatch.setattr(dedup.incremental, "_match_all", lambda *a, **k: matched.append(1) or match_all(*a, **k))

    def clean(out: str, *flags: str) -> str:
        result = _run("clean", "--store", str(store), "--out", str(tmp_path / out), *flags)
        assert result.exit_code == 0, result.output
        return _tree_hash(tmp_path / out)

    kept = [clean("kept"), clean("kept-strip", "--strip-boilerplate")]
    assert matched == []
    assert "stripped" in (tmp_path / "kept-strip" / "manifest.csv").read_text()
    assert "dropped" in (tmp_path / "kept" / "manifest.csv").read_text()
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM cache WHERE key = 'clean_plan'")
    assert [clean("matched"), clean("matched-strip", "--strip-boilerplate")] == kept
    assert matched == [1, 1]
    # Another --keep: the kept clusters have other representatives.
    first = clean("first", "--keep", "first")
    assert matched == [1, 1, 1] and first != kept[0]
    assert _run("index", str(src), "--store", str(store), "--keep", "first", "--rehash").exit_code == 0
    matched.clear()
    assert clean("first-again", "--keep", "first") == first and matched == []


def test_clean_reads_only_files_with_a_kept_article_and_names_those_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose every article is dropped is not read; a kept article whose file is gone or no
    longer readable since the index run is listed as missing, and the clean goes on."""
    import dedup.clean

    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    (src / "a03.txt").unlink()
    (src / "a04.txt").write_bytes(b"\x00\x01binary now")
    read: list[str] = []
    read_file_bytes = dedup.clean.read_file_bytes
    monkeypatch.setattr(dedup.clean, "read_file_bytes", lambda rel, *a: read.append(rel) or read_file_bytes(rel, *a))
    result = _run("clean", "--store", str(store), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "z-copy.txt" not in read and "a00.txt" in read and "a04.txt" in read
    with (out / "manifest.csv").open(newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    for gone in ("a03.txt", "a04.txt"):
        assert rows[gone] == {
            "path": gone,
            "action": "missing",
            "reason": "no longer readable in the source folder",
            "cluster_id": "",
            "representative": "",
            "similarity": "",
            "removed_paragraphs": "0",
        }
    assert rows["z-copy.txt"]["action"] == "dropped" and rows["a05.txt"]["action"] == "kept"
    assert not (out / "a03.txt").exists() and not (out / "a04.txt").exists()


def test_clean_of_a_corpus_folder_gone_says_so_before_matching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder the store was indexed from is gone (and --from names none): exit 2 and the way
    out, before the store is matched; --from then gives the folder."""
    import dedup.incremental

    src, store, out = tmp_path / "src", tmp_path / "s.sqlite", tmp_path / "clean"
    src.mkdir()
    _corpus(src)
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    moved = tmp_path / "moved"
    src.rename(moved)
    matched: list[int] = []
    monkeypatch.setattr(dedup.incremental, "_match_all", lambda *a, **k: matched.append(1))
    for flags, folder in (([], src.resolve()), (["--from", str(tmp_path / "none")], tmp_path / "none")):
        result = _run("clean", "--store", str(store), "--out", str(out), "--keep", "first", *flags)
        assert (result.exit_code, result.output) == (
            EXIT_USAGE,
            f"Error: corpus folder not found: {folder} (give it with --from)\n",
        )
    assert matched == [] and not out.exists()
    monkeypatch.undo()
    assert _run("clean", "--store", str(store), "--out", str(out), "--from", str(moved)).exit_code == 0
    assert (out / "a05.txt").read_bytes() == (moved / "a05.txt").read_bytes()


def test_clean_of_parquet_and_compressed_files(tmp_path: Path) -> None:
    """Parquet files keep their kept rows (every column) and JSONL files their kept records, in
    their compression (a record or row repeating a kept id was skipped when read, and stays out);
    a compressed text file is copied as it is, or written stripped and uncompressed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.ingest import compress

    src = tmp_path / "src"
    src.mkdir()
    _corpus(src)
    rng = random.Random(5)
    unique = ["\n".join([_para(rng), _para(rng), BOILER]) for _ in range(3)]
    rows = {
        "id": ["p1", "p2", "p2"],
        "text": [(src / "a02.txt").read_text(), unique[0], "Other."],
        "url": ["u1", "u2", "u3"],
    }
    pq.write_table(pa.table(rows), src / "feed.parquet", compression="zstd")
    records = [
        {"id": "z1", "text": (src / "a03.txt").read_text()},
        {"id": "z2", "text": unique[1]},
        {"id": "z2", "text": "x"},
    ]
    (src / "z.jsonl.zst").write_bytes(compress("".join(json.dumps(r) + "\n" for r in records).encode(), "zstd"))
    (src / "c.md.xz").write_bytes(compress(unique[2].encode(), "xz"))
    store = tmp_path / "s.sqlite"
    assert _run("index", str(src), "--store", str(store)).exit_code == 0
    for strip in ([], ["--strip-boilerplate"]):
        out = tmp_path / f"clean{len(strip)}"
        result = _run("clean", "--store", str(store), "--out", str(out), "--keep", "first", *strip)
        assert result.exit_code == 0, result.output
        manifest = {r["path"]: r for r in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
        assert {p: manifest[p]["action"] for p in ("feed.parquet#p1", "z.jsonl.zst#z1")} == {
            "feed.parquet#p1": "dropped",
            "z.jsonl.zst#z1": "dropped",
        }
        stripped = [u.rsplit("\n", 1)[0] + "\n" for u in unique] if strip else unique
        table = pq.read_table(out / "feed.parquet")
        assert table.to_pylist() == [{"id": "p2", "text": stripped[0], "url": "u2"}]
        assert table.schema == pq.read_schema(src / "feed.parquet")
        assert pq.ParquetFile(out / "feed.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
        import zstandard

        lines = zstandard.ZstdDecompressor().decompress((out / "z.jsonl.zst").read_bytes()).decode().splitlines()
        assert [json.loads(line) for line in lines] == [{"id": "z2", "text": stripped[1]}]
        if strip:
            assert (out / "c.md").read_text(encoding="utf-8") == stripped[2]
            assert not (out / "c.md.xz").exists()
            assert manifest["c.md.xz"]["action"] == "stripped"
        else:
            assert (out / "c.md.xz").read_bytes() == (src / "c.md.xz").read_bytes()
