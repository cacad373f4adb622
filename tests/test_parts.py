"""A large JSONL file is read in parts, by as many tasks, and gives what reading it whole gives."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup import pipeline
from dedup.cli import app, build_config
from dedup.pipeline import iter_batches, sorted_skips
from dedup.records import RunStats

_WORDS = [f"w{i}" for i in range(300)]
_WHOLE = 1 << 40  # no file is that large: read whole


def _feed(seed: int) -> str:
    """JSONL lines of every kind, whose ids repeat across the file: articles, empty, short and
    missing texts, malformed and blank lines, ended by LF, CRLF or CR at random."""
    rng = random.Random(seed)

    def fresh() -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(20)).capitalize() + "."

    pool = [fresh() for _ in range(30)]  # paragraphs that articles share, so that some pair

    def para() -> str:
        return rng.choice(pool) if rng.random() < 0.5 else fresh()

    lines = []
    for i in range(300):
        kind = rng.random()
        rid = rng.choice(["a", "b", str(i), str(i), str(i)])
        if kind < 0.05:
            lines.append("{broken")
        elif kind < 0.1:
            lines.append(json.dumps({"id": rid, "text": " "}))
        elif kind < 0.13:
            lines.append("")
        elif kind < 0.16:
            lines.append(json.dumps({"id": rid, "text": "Two words."}))
        elif kind < 0.2:
            lines.append(json.dumps({"id": rid}))
        elif kind < 0.25:
            lines.append(json.dumps({"text": "\n\n".join(para() for _ in range(2))}))  # id: its line
        else:
            lines.append(json.dumps({"id": rid, "text": "\n\n".join(para() for _ in range(3))}, ensure_ascii=False))
    return "".join(line + rng.choice(["\n", "\r\n", "\r"]) for line in lines)


def _read(root: Path, workers: int) -> tuple[object, ...]:
    stats, skips = RunStats(), []
    batches = list(iter_batches(root, ["f.jsonl.gz", "f.jsonl"], build_config(workers=workers), stats, skips_out=skips))
    ids = [(aid, file) for b in batches for aid, file in zip(b.ids, b.files, strict=True)]
    digests = [(n, k) for b in batches for n, k in zip(b.norms, b.para_keys.tolist(), strict=True)]
    return ids, digests, sorted_skips(skips), stats.files_read, stats.skipped, len(batches)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_read_in_parts_gives_what_it_gives_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, workers: int
) -> None:
    """Articles, digests, skips (a record repeating an id of an earlier part is a duplicate,
    whatever it holds) and counts, plain and gzipped, with any line ends."""
    text = _feed(seed) + "Ünïcode lines, é and 卡痛.\n"
    (tmp_path / "f.jsonl").write_text(text, encoding="utf-8", newline="")
    (tmp_path / "f.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    monkeypatch.setattr(pipeline, "_PART_BYTES", _WHOLE)
    whole = _read(tmp_path, workers)
    monkeypatch.setattr(pipeline, "_PART_BYTES", 1500)
    parts = _read(tmp_path, workers)
    assert whole[-1] == 1 and parts[-1] > 40  # the two files in one task, and in parts
    assert parts[:-1] == whole[:-1]
    assert sum(s.reason == "duplicate_id" for s in whole[2]) > 10
    assert whole[3] == 2


@pytest.mark.parametrize(
    "content",
    [
        "café\n".encode("latin-1"),  # not UTF-8: its encoding is detected on the whole file
        b"\xef\xbb\xbf",  # a byte order mark
    ],
)
def test_a_file_not_utf8_throughout_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    lines = _feed(4).encode()
    data = lines + content if not content.startswith(b"\xef") else content + lines
    (tmp_path / "f.jsonl").write_bytes(data)
    monkeypatch.setattr(pipeline, "_PART_BYTES", 1500)
    assert pipeline._jsonl_parts(tmp_path, "f.jsonl", build_config()) is None
    assert pipeline._jsonl_parts(tmp_path, "f.jsonl.gz", build_config()) is None  # missing: read whole says so
    (tmp_path / "f.jsonl").write_bytes(lines)
    assert pipeline._jsonl_parts(tmp_path, "f.jsonl", build_config()) is not None


def test_scan_and_index_of_a_file_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reports of a scan and of an index run are those of the file read whole, and an index
    run that finds the file changed forgets every part of it (its articles span stored batches)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.jsonl").write_text(_feed(5), encoding="utf-8")
    names = ("clusters.csv", "pairs.csv", "articles.csv", "boilerplate.csv", "skipped.csv")

    def reports(*args: str) -> dict[str, bytes]:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        result = CliRunner().invoke(app, [*args, "--out", str(out), "--workers", "2", "-q"])
        assert result.exit_code == 0, result.output
        return {name: (out / name).read_bytes() for name in names}

    monkeypatch.setattr(pipeline, "_PART_BYTES", _WHOLE)
    whole = reports("scan", str(src))
    assert b"duplicate_id" in whole["skipped.csv"] and whole["pairs.csv"].count(b"\n") > 5
    monkeypatch.setattr(pipeline, "_PART_BYTES", 1500)
    assert reports("scan", str(src)) == whole

    def stored(*args: str) -> dict[str, bytes]:  # but boilerplate.csv, which a store dates
        return {name: data for name, data in reports(*args).items() if name != "boilerplate.csv"}

    nights = {}
    for size in (_WHOLE, 1500):  # the same nights, the file read whole, then in parts
        monkeypatch.setattr(pipeline, "_PART_BYTES", size)
        store = str(tmp_path / f"s{size}.sqlite")
        (src / "f.jsonl").write_text(_feed(5), encoding="utf-8")
        first = stored("index", str(src), "--store", store)
        (src / "f.jsonl").write_text(_feed(6), encoding="utf-8")
        nights[size] = (first, stored("index", str(src), "--store", store), stored("report", "--store", store))
    assert nights[1500] == nights[_WHOLE]
    assert nights[1500][0] == {name: data for name, data in whole.items() if name != "boilerplate.csv"}
    assert nights[1500][1] != nights[1500][0]


def _parquet_rows(seed: int) -> tuple[list[object], list[object]]:
    """Texts and ids of rows of every kind, ids repeating across row groups: articles, null, empty
    and short texts, ids missing (the row number stands in)."""
    rng = random.Random(seed)
    texts: list[object] = []
    ids: list[object] = []
    for i in range(120):
        kind = rng.random()
        ids.append(None if kind > 0.9 else rng.choice(["a", "b", f"r{i}", f"r{i}"]))
        if kind < 0.05:
            texts.append(None)
        elif kind < 0.1:
            texts.append(" ")
        elif kind < 0.15:
            texts.append("Two words.")
        else:
            texts.append(
                "\n\n".join(" ".join(rng.choice(_WORDS) for _ in range(20)).capitalize() + "." for _ in range(3))
            )
    return texts, ids


def _read_one(root: Path, name: str, workers: int = 2, **options: object) -> tuple[object, ...]:
    stats, skips = RunStats(), []
    cfg = build_config(workers=workers, **options)
    batches = list(iter_batches(root, [name], cfg, stats, skips_out=skips))
    ids = [aid for b in batches for aid in b.ids]
    digests = [(n, k) for b in batches for n, k in zip(b.norms, b.para_keys.tolist(), strict=True)]
    return ids, digests, sorted_skips(skips), stats.files_read, stats.skipped


@pytest.mark.parametrize("kind", ["string", "binary", "list"])
def test_a_parquet_file_read_by_row_groups_gives_what_it_gives_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A Parquet file of many row groups, read a group a task: rows numbered as in the whole file,
    ids repeating across groups are duplicates, a bytes column's undecodable row is skipped."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts, ids = _parquet_rows(7)
    if kind == "binary":
        values = [t.encode() if isinstance(t, str) else t for t in texts]
        values[30] = b"\x00\x01\x02 binary"  # skipped as rows.parquet:31
        column = pa.array(values, type=pa.binary())
    elif kind == "list":
        column = pa.array([t.split("\n\n") if isinstance(t, str) else t for t in texts], type=pa.list_(pa.string()))
    else:
        column = pa.array(texts, type=pa.string())
    pq.write_table(pa.table({"text": column, "id": pa.array(ids)}), tmp_path / "rows.parquet", row_group_size=15)
    monkeypatch.setattr(pipeline, "_PART_BYTES", _WHOLE)
    whole = _read_one(tmp_path, "rows.parquet")
    tasks = []
    real = pipeline.parquet_part
    monkeypatch.setattr(pipeline, "parquet_part", lambda *args: tasks.append(args[2]) or real(*args))
    monkeypatch.setattr(pipeline, "_PART_BYTES", 1)
    assert _read_one(tmp_path, "rows.parquet", workers=1) == whole
    assert tasks == [(g,) for g in range(8)]  # a row group a part
    assert _read_one(tmp_path, "rows.parquet") == whole
    assert sum(s.reason == "duplicate_id" for s in whole[2]) > 5 and whole[3] == 1
    if kind == "binary":
        assert ("rows.parquet:31", "binary") in {(s.path, s.reason) for s in whole[2]}


def test_a_parquet_file_in_parts_is_skipped_whole_as_a_whole_read_skips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged row group, or a text larger than --max-file-mb only altogether (each part's
    is under it; the footer counts a repeated text once): the whole file is skipped, nothing of
    the other parts kept, as a whole read does."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts, ids = _parquet_rows(8)
    pq.write_table(pa.table({"text": texts, "id": ids}), tmp_path / "rows.parquet", row_group_size=15)
    data = bytearray((tmp_path / "rows.parquet").read_bytes())
    meta = pq.ParquetFile(tmp_path / "rows.parquet").metadata
    column = meta.row_group(5).column(0)
    start = column.data_page_offset
    data[start + 20 : start + 60] = b"\xff" * 40  # a data page of the sixth group
    (tmp_path / "damaged.parquet").write_bytes(bytes(data))
    text = "One long paragraph that repeats, row after row, in the whole file. " * 20
    repeated = pa.array([text] * 120).dictionary_encode()
    pq.write_table(pa.table({"text": repeated}), tmp_path / "repeated.parquet", row_group_size=15)
    for name, options in (("damaged.parquet", {}), ("repeated.parquet", {"max_file_mb": 0.1})):
        monkeypatch.setattr(pipeline, "_PART_BYTES", _WHOLE)
        whole = _read_one(tmp_path, name, **options)
        assert whole[0] == [] and whole[3] == 0 and len(whole[2]) == 1, whole[2]
        monkeypatch.setattr(pipeline, "_PART_BYTES", 1)
        parts = _read_one(tmp_path, name, **options)
        assert parts[0] == [] and parts[3:] == whole[3:]
        assert [(s.path, s.reason) for s in parts[2]] == [(s.path, s.reason) for s in whole[2]]
        if name == "repeated.parquet":
            assert parts[2] == whole[2] and whole[2][0].reason == "too_large"
