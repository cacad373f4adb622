"""``dedup clean``: a cleaned copy of the corpus — one article per cluster, optionally without boilerplate.

The input folder is only read. Text files are copied byte for byte unless ``strip_boilerplate``
rewrites them; JSON/JSONL and Parquet files are rewritten with the kept records (rows) only, in
their format and compression.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.config import DedupConfig
from dedup.ingest import (
    FileResult,
    InputFormat,
    SkipFile,
    compress,
    decode_bytes,
    decompress,
    detect_format,
    jsonl_lines,
    load_json,
    parquet_records,
    read_file,
    read_file_bytes,
    record_id,
    utf8_encodable,
)
from dedup.pipeline import DedupResult, text_key
from dedup.records import Cluster
from dedup.report import write_csv
from dedup.segment import split_paragraphs, split_segments

MANIFEST_COLUMNS = ("path", "action", "reason", "cluster_id", "representative", "similarity", "removed_paragraphs")


@dataclass(frozen=True, slots=True)
class CleanStats:
    """Counts of one ``dedup clean`` run."""

    articles_kept: int
    articles_dropped: int
    paragraphs_removed: int
    files_written: int


@dataclass(frozen=True, slots=True)
class CleanPlan:
    """What ``dedup clean`` needs of a result: every article, the clusters, the boilerplate.

    An index run keeps it in the store (see :func:`dedup.incremental.kept_clean_plan`): a clean
    after it matches nothing again.
    """

    articles: tuple[str, ...]
    """Every article id of the corpus, in id order."""
    members: dict[str, tuple[str, str, float]]
    """Each clustered article: its cluster's id and representative, and its similarity to that."""
    boilerplate_keys: frozenset[int]
    """Content keys (:func:`~dedup.pipeline.text_key` of the normalised text) of the paragraphs of
    every boilerplate group."""

    @classmethod
    def of(cls, result: DedupResult) -> CleanPlan:
        """The plan of a full result (with its per-article rows)."""
        return cls(
            tuple(a.path for a in result.articles),
            membership(result.clusters),
            frozenset(result.boilerplate_keys.tolist()),
        )


def membership(clusters: Iterable[Cluster]) -> dict[str, tuple[str, str, float]]:
    """:attr:`CleanPlan.members` of the clusters (plain tuples: 46,000 members pickle in 20 ms)."""
    return {m.path: (c.id, c.representative, m.similarity_to_representative) for c in clusters for m in c.members}


def _stripped(text: str, article_id: str, cfg: DedupConfig, boilerplate: frozenset[int]) -> tuple[str, int]:
    """The article text without its boilerplate paragraphs, and how many were removed."""
    kept, removed = [], 0
    paragraphs = {p.text: p for p in split_paragraphs(article_id, text, cfg.segment)}
    for segment in split_segments(text):
        p = paragraphs.get(segment)
        if p is not None and not p.is_short and text_key(p.norm) in boilerplate:
            removed += 1
            continue
        kept.append(segment)
    return "\n".join(kept) + "\n", removed


def clean_corpus(plan: CleanPlan, source: Path, out: Path, cfg: DedupConfig, strip_boilerplate: bool) -> CleanStats:
    """Write the cleaned corpus and ``manifest.csv`` into ``out``.

    Args:
        plan: the articles, clusters and boilerplate of the corpus (from the store).
        source: the corpus folder (read only).
        out: destination folder (must not be inside ``source``).
        cfg: the run's parameters (segmentation, JSON fields).
        strip_boilerplate: also remove boilerplate paragraphs from the kept articles.

    Returns:
        Counts for the summary.
    """
    boilerplate = plan.boilerplate_keys if strip_boilerplate else frozenset()
    manifest: list[tuple[object, ...]] = []
    by_file: dict[str, list[str]] = {}
    for path in plan.articles:
        by_file.setdefault(path.split("#")[0], []).append(path)
    kept_n = dropped_n = removed_total = files = 0
    made: set[Path] = set()

    def target(name: str) -> Path:
        path = out / name
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        return path

    for rel in sorted(by_file):
        wanted = []
        for aid in by_file[rel]:
            member = plan.members.get(aid)
            if member and member[1] != aid:  # not its cluster's representative
                dropped_n += 1
                manifest.append((aid, "dropped", "near-duplicate", member[0], member[1], f"{member[2]:.4f}", 0))
            else:
                wanted.append(aid)
        if not wanted:  # a file whose every article is dropped is not read
            continue
        fmt = detect_format(rel)[0]
        read, raw = _read(source, rel, cfg)
        texts = {art.id: art.text for art in read.articles}
        records_out: dict[str, str] = {}
        for aid in wanted:
            if aid not in texts:
                manifest.append((aid, "missing", "no longer readable in the source folder", "", "", "", 0))
                continue
            text, removed = _stripped(texts[aid], aid, cfg, boilerplate) if boilerplate else (texts[aid], 0)
            kept_n += 1
            removed_total += removed
            member = plan.members.get(aid)
            action = "stripped" if removed else "kept"
            reason = "representative" if member else "unique"
            manifest.append((aid, action, reason, member[0] if member else "", aid if member else "", "", removed))
            records_out[aid] = text
        if not records_out:
            continue
        files += 1
        if raw is None:  # it came back between the two looks
            raw = (source / rel).read_bytes()
        if fmt is InputFormat.PARQUET:
            target(rel).write_bytes(_parquet_rows(raw, rel, records_out, cfg, replace=strip_boilerplate))
        elif fmt in (InputFormat.JSON, InputFormat.JSONL):
            data = _records(raw, rel, fmt, records_out, cfg, replace=strip_boilerplate)
            target(rel).write_bytes(data)
        elif strip_boilerplate:
            target(_text_name(rel)).write_text(next(iter(records_out.values())), encoding="utf-8")
        else:
            target(rel).write_bytes(raw)
    write_csv(out / "manifest.csv", MANIFEST_COLUMNS, sorted(manifest, key=lambda r: str(r[0])))
    return CleanStats(kept_n, dropped_n, removed_total, files)


def _text_name(rel: str) -> str:
    """Where a stripped text-like file goes: plain UTF-8, a compression suffix (``.gz``, ``.zst`` …)
    dropped, HTML becomes ``.txt`` (a page whose name gives no format gets ``.txt`` added).

    >>> _text_name("a/b.HTM.zst"), _text_name("c.md.gz"), _text_name("d.txt"), _text_name("e.php?p=2")
    ('a/b.txt', 'c.md', 'd.txt', 'e.php?p=2.txt')
    """
    fmt, codec = detect_format(rel)
    name = rel.rsplit(".", 1)[0] if codec is not None else rel
    if fmt is None:
        return name + ".txt"
    return name.rsplit(".", 1)[0] + ".txt" if fmt is InputFormat.HTML else name


def _dumps(value: object) -> str:
    """JSON text as written back: non-ASCII characters as they are, unless a string holds a lone
    surrogate (an escape such as ``"\\ud800"`` in the input, which UTF-8 cannot hold): then all
    escaped, as JSON allows."""
    text = json.dumps(value, ensure_ascii=False)
    return text if utf8_encodable(text) else json.dumps(value)


def _read(source: Path, rel: str, cfg: DedupConfig) -> tuple[FileResult, bytes | None]:
    """A file's articles (as :func:`~dedup.ingest.read_file` reads them) and its bytes, read
    once (``None`` when they could not be read, or are more than ``--max-file-bytes``)."""
    path = source / rel
    try:
        if path.stat().st_size <= cfg.ingest.max_file_bytes:
            raw = path.read_bytes()
            return read_file_bytes(rel, raw, cfg.ingest), raw
    except OSError:
        pass  # read_file tells why
    return read_file(source, rel, cfg.ingest), None


class _KeptRecords:
    """Which records of a file to write: each kept article's first record (a later record with the
    same id was skipped as ``duplicate_id`` when the file was read), found as :mod:`dedup.ingest`
    names them (``--id-field``, else the line, list or row position)."""

    def __init__(self, rel: str, kept: dict[str, str], cfg: DedupConfig) -> None:
        self.rel, self.kept, self.id_field = rel, kept, cfg.ingest.id_field
        self.written: set[str] = set()

    def article(self, position: str, record: object) -> str | None:
        """The kept article a record is, if it is one not written yet."""
        if not isinstance(record, dict):
            return None
        aid = f"{self.rel}#{record_id(record, position, self.id_field)}"
        if aid not in self.kept or aid in self.written:
            return None
        self.written.add(aid)
        return aid


def _records(
    raw: bytes,
    rel: str,
    fmt: InputFormat,
    kept: dict[str, str],
    cfg: DedupConfig,
    replace: bool,
) -> bytes:
    """A JSON/JSONL file (its bytes ``raw``) with the kept records only, compressed as it was;
    ``replace``: their text field holds the (stripped) text, else each record is written as it was
    (an HTML field stays HTML)."""
    codec = detect_format(rel)[1]
    data = decompress(raw, codec, len(raw) + cfg.ingest.max_file_bytes)
    try:  # decoded as it was read: a file in a legacy encoding keeps its characters
        text = decode_bytes(data)
    except SkipFile:
        text = data.decode("utf-8", errors="replace")
    field = cfg.ingest.text_field
    records = _KeptRecords(rel, kept, cfg)

    def written(record: dict[str, object], aid: str) -> dict[str, object]:
        if not replace:
            return record
        # A field that held a list of paragraphs holds the kept ones, a line each.
        return {**record, field: _paragraph_list(kept[aid]) if isinstance(record.get(field), list) else kept[aid]}

    if fmt is InputFormat.JSONL:
        lines = []
        for lineno, line in jsonl_lines(text):
            try:
                record = load_json(line)
            except ValueError:
                continue
            aid = records.article(str(lineno), record)
            if aid is not None:
                lines.append(_dumps(written(record, aid)))
        data = ("\n".join(lines) + "\n").encode()
    else:
        doc = load_json(text)
        if isinstance(doc, list):
            chosen = [(r, records.article(str(i), r)) for i, r in enumerate(doc, start=1)]
            data = _dumps([written(r, aid) for r, aid in chosen if aid is not None]).encode()
        else:
            data = _dumps(written(doc, rel)).encode()
    return compress(data, codec)


def _paragraph_list(text: str) -> list[str]:
    """A text's non-blank lines: what a field that held a list of paragraphs holds again.

    >>> _paragraph_list("One.\\n\\nTwo.\\n")
    ['One.', 'Two.']
    """
    return [line for line in text.split("\n") if line.strip()]


_PARQUET_WRITES = {c: c for c in ("snappy", "gzip", "brotli", "lz4", "zstd")} | {
    "uncompressed": "none",
    "lz4_raw": "lz4",
}
"""The codec pyarrow writes for each codec a Parquet file's metadata names (another one: Snappy)."""


def _parquet_rows(raw: bytes, rel: str, kept: dict[str, str], cfg: DedupConfig, replace: bool) -> bytes:
    """A Parquet file (its bytes ``raw``) with the kept rows only, every column kept, written with
    the compression of its first column (``replace``: the text column holds the stripped texts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    codec = detect_format(rel)[1]
    data = decompress(raw, codec, len(raw) + cfg.ingest.max_file_bytes)
    records = _KeptRecords(rel, kept, cfg)
    rows = {
        int(position): aid
        for position, record in parquet_records(rel, data, cfg.ingest, [])
        if (aid := records.article(position, record))
    }
    parquet = pq.ParquetFile(io.BytesIO(data))
    table = parquet.read()
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[np.array(sorted(rows), dtype=np.int64) - 1] = True
    table = table.filter(pa.array(mask))
    if replace:
        at = table.schema.get_field_index(cfg.ingest.text_field)
        texts: list[object] = [kept[rows[r]] for r in sorted(rows)]
        kind = table.schema.field(at).type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):  # a paragraph an item
            texts = [_paragraph_list(str(text)) for text in texts]
        table = table.set_column(at, table.schema.field(at), pa.array(texts).cast(kind))
    meta = parquet.metadata
    found = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "snappy"
    out = io.BytesIO()
    pq.write_table(table, out, compression=_PARQUET_WRITES.get(found, "snappy"))
    return compress(out.getvalue(), codec)


__all__ = ["MANIFEST_COLUMNS", "CleanPlan", "CleanStats", "clean_corpus", "membership"]
