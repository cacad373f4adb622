"""``dedup clean``: a cleaned copy of the corpus — one article per cluster, optionally without boilerplate.

The input folder is only read. Text files are copied byte for byte unless ``strip_boilerplate``
rewrites them; JSON/JSONL files are rewritten with the kept records only.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from dedup.config import DedupConfig
from dedup.ingest import InputFormat, detect_format, load_json, read_file, record_id, utf8_encodable
from dedup.pipeline import DedupResult
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


def _stripped(text: str, article_id: str, cfg: DedupConfig, boilerplate: frozenset[str]) -> tuple[str, int]:
    """The article text without its boilerplate paragraphs, and how many were removed."""
    kept, removed = [], 0
    paragraphs = {p.text: p for p in split_paragraphs(article_id, text, cfg.segment)}
    for segment in split_segments(text):
        p = paragraphs.get(segment)
        if p is not None and not p.is_short and p.norm in boilerplate:
            removed += 1
            continue
        kept.append(segment)
    return "\n".join(kept) + "\n", removed


def clean_corpus(result: DedupResult, source: Path, out: Path, cfg: DedupConfig, strip_boilerplate: bool) -> CleanStats:
    """Write the cleaned corpus and ``manifest.csv`` into ``out``.

    Args:
        result: the clusters and boilerplate of the corpus (from the store).
        source: the corpus folder (read only).
        out: destination folder (must not be inside ``source``).
        cfg: the run's parameters (segmentation, JSON fields).
        strip_boilerplate: also remove boilerplate paragraphs from the kept articles.

    Returns:
        Counts for the summary.
    """
    membership = {m.path: (c, m) for c in result.clusters for m in c.members}
    boilerplate = result.boilerplate_texts if strip_boilerplate else frozenset()
    manifest: list[tuple[object, ...]] = []
    by_file: dict[str, list[str]] = {}
    for a in result.articles:
        by_file.setdefault(a.path.split("#")[0], []).append(a.path)
    kept_n = dropped_n = removed_total = files = 0
    for rel in sorted(by_file):
        fmt, gz = detect_format(rel)
        read = read_file(source, rel, cfg.ingest)
        texts = {art.id: art.text for art in read.articles}
        records_out: dict[str, str] = {}
        for aid in by_file[rel]:
            cluster_member = membership.get(aid)
            if cluster_member and not cluster_member[1].is_representative:
                c, m = cluster_member
                dropped_n += 1
                manifest.append(
                    (
                        aid,
                        "dropped",
                        "near-duplicate",
                        c.id,
                        c.representative,
                        f"{m.similarity_to_representative:.4f}",
                        0,
                    )
                )
                continue
            if aid not in texts:
                manifest.append((aid, "missing", "no longer readable in the source folder", "", "", "", 0))
                continue
            text, removed = _stripped(texts[aid], aid, cfg, boilerplate) if boilerplate else (texts[aid], 0)
            kept_n += 1
            removed_total += removed
            cid = cluster_member[0].id if cluster_member else ""
            action = "stripped" if removed else "kept"
            reason = "representative" if cluster_member else "unique"
            manifest.append((aid, action, reason, cid, aid if cluster_member else "", "", removed))
            records_out[aid] = text
        if not records_out:
            continue
        files += 1
        if fmt in (InputFormat.JSON, InputFormat.JSONL):
            _write_records(source, out, rel, fmt, gz, records_out, cfg, replace=strip_boilerplate)
        elif strip_boilerplate:
            target = out / _text_name(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(next(iter(records_out.values())), encoding="utf-8")
        else:
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((source / rel).read_bytes())
    write_csv(out / "manifest.csv", MANIFEST_COLUMNS, sorted(manifest, key=lambda r: str(r[0])))
    return CleanStats(kept_n, dropped_n, removed_total, files)


def _text_name(rel: str) -> str:
    """Where a stripped text-like file goes: plain UTF-8, ``.gz`` dropped, HTML becomes ``.txt``."""
    name = rel[:-3] if rel.lower().endswith(".gz") else rel
    for ext in (".html", ".htm"):
        if name.lower().endswith(ext):
            return name[: -len(ext)] + ".txt"
    return name


def _dumps(value: object) -> str:
    """JSON text as written back: non-ASCII characters as they are, unless a string holds a lone
    surrogate (an escape such as ``"\\ud800"`` in the input, which UTF-8 cannot hold): then all
    escaped, as JSON allows."""
    text = json.dumps(value, ensure_ascii=False)
    return text if utf8_encodable(text) else json.dumps(value)


def _write_records(
    source: Path,
    out: Path,
    rel: str,
    fmt: InputFormat,
    gz: bool,
    kept: dict[str, str],
    cfg: DedupConfig,
    replace: bool,
) -> None:
    """Rewrite a JSON/JSONL file with the kept records only; ``replace``: their text field holds
    the (stripped) text, else each record is written as it was (an HTML field stays HTML).

    Record ids are derived exactly as :mod:`dedup.ingest` derives them (``--id-field``, else the
    line or list position), so ``rel#id`` names the same article.
    """
    raw = (source / rel).read_bytes()
    text = (gzip.decompress(raw) if gz else raw).decode("utf-8", errors="replace")
    field, id_field = cfg.ingest.text_field, cfg.ingest.id_field

    def article_id(position: str, record: dict[str, object]) -> str:
        return f"{rel}#{record_id(record, position, id_field)}"

    def written(record: dict[str, object], aid: str) -> dict[str, object]:
        return {**record, field: kept[aid]} if replace else record

    if fmt is InputFormat.JSONL:
        lines = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            try:
                record = load_json(line)
            except ValueError:
                continue
            if isinstance(record, dict) and article_id(str(lineno), record) in kept:
                lines.append(_dumps(written(record, article_id(str(lineno), record))))
        data = ("\n".join(lines) + "\n").encode()
    else:
        doc = load_json(text)
        if isinstance(doc, list):
            records = [
                written(r, article_id(str(i), r))
                for i, r in enumerate(doc, start=1)
                if isinstance(r, dict) and article_id(str(i), r) in kept
            ]
            data = _dumps(records).encode()
        else:
            data = _dumps(written(doc, rel)).encode()
    target = out / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(data, mtime=0) if gz else data)


__all__ = ["MANIFEST_COLUMNS", "CleanStats", "clean_corpus"]
