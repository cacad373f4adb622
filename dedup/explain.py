"""The evidence of one near-duplicate pair in words: the paragraphs ``pairs.csv`` says match, read
again from the corpus folder and shown side by side (``dedup explain``).

``pairs.csv`` names each matched paragraph by its index among the article's segments (``3-5:0.97``);
the segments are cut here the way the scan cut them (same reader, same segmenter, with the
parameters ``summary.json`` recorded), so index ``3`` is the text the scan called paragraph 3.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from dedup.config import IngestConfig, SegmentConfig
from dedup.errors import InputError
from dedup.ingest import read_file
from dedup.report import PAIRS_COLUMNS
from dedup.segment import split_paragraphs

_MATCH = re.compile(r"(\d+)-(\d+)(?::([0-9.]+)|~([0-9.]+)/([0-9.]+))")


@dataclass(frozen=True, slots=True)
class ShownMatch:
    """One evidence item of a pair, with the two paragraphs' texts."""

    index_a: int
    index_b: int
    full: bool
    """The same paragraph (rapidfuzz ``score``); else a partial match (``share_a``, ``share_b``)."""
    score: float
    share_a: float
    share_b: float
    text_a: str
    text_b: str


@dataclass(frozen=True, slots=True)
class ShownPair:
    """A ``pairs.csv`` row with its evidence in words."""

    row: dict[str, str]
    matches: list[ShownMatch]
    notes: list[str]
    """Why the texts may not be those the scan read (an article changed since)."""


def parse_matches(cell: str) -> list[tuple[int, int, bool, float, float, float]]:
    """The evidence items of a ``matches`` cell: ``(i, j, full, score, share_a, share_b)``.

    >>> parse_matches("0-1:0.97;2-2~0.45/0.30")
    [(0, 1, True, 0.97, 1.0, 1.0), (2, 2, False, 0.0, 0.45, 0.3)]
    """
    out = []
    for item in filter(None, cell.split(";")):
        found = _MATCH.fullmatch(item)
        if found is None:
            raise InputError(f"not a match of pairs.csv: {item!r}")
        i, j, score, share_a, share_b = found.groups()
        if score is not None:
            out.append((int(i), int(j), True, float(score), 1.0, 1.0))
        else:
            out.append((int(i), int(j), False, 0.0, float(share_a), float(share_b)))
    return out


def _configs(report: Path) -> tuple[IngestConfig, SegmentConfig]:
    """The reading and segmenting parameters the report was made with (the defaults without a
    ``summary.json``)."""
    try:
        params = json.loads((report / "summary.json").read_text(encoding="utf-8"))["parameters"]
        return IngestConfig(**params["ingest"]), SegmentConfig(**params["segment"])
    except FileNotFoundError:
        return IngestConfig(), SegmentConfig()
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{report / 'summary.json'} is not a dedup summary ({type(exc).__name__})") from None


def find_pair(report: Path, a: str, b: str) -> dict[str, str] | None:
    """The ``pairs.csv`` row of articles ``a`` and ``b`` (in either order), or ``None``."""
    first, second = min(a, b), max(a, b)
    path = report / "pairs.csv"
    csv.field_size_limit(2**31 - 1)  # an evidence cell of two long scraped lists can pass csv's 128 KiB
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != PAIRS_COLUMNS:
                raise InputError(f"{path} is not a dedup pairs.csv")
            return next((r for r in reader if r["path_a"] == first and r["path_b"] == second), None)
    except FileNotFoundError:
        raise InputError(f"no pairs.csv in {report}: give the reports folder of the run with --report") from None


def article_text(folder: Path, article_id: str, cfg: IngestConfig) -> str:
    """The text of one article of ``folder`` as the scan read it: a file's, or a JSON record's
    (``file.jsonl#id``; a file name may hold ``#`` too, so the longest name that is a file wins).

    Raises:
        InputError: no file holds the article now, or it is skipped.
    """
    names = [article_id, *(article_id[:at] for at in range(len(article_id) - 1, 0, -1) if article_id[at] == "#")]
    for name in names:
        if not (folder / name).is_file():
            continue
        result = read_file(folder, name, cfg)
        for article in result.articles:
            if article.id == article_id:
                return article.text
        if result.skips and result.skips[-1].path == name:
            skip = result.skips[-1]
            raise InputError(f"{name} is skipped now ({skip.reason}{': ' + skip.detail if skip.detail else ''})")
    raise InputError(f"no article {article_id!r} in {folder} (paths are relative to the folder the run scanned)")


def _stored_paragraphs(store: Path, article_id: str) -> tuple[int, dict[int, str]]:
    """An article's characters and indexed paragraphs as an index run stored them (normalised)."""
    from dedup.store import Store

    with Store.read_only(store) as db:
        found = db.article_paragraphs(article_id)
    if found is None:
        raise InputError(f"no article {article_id!r} in the store {store} (it keeps the articles of its last run)")
    return found


def explain_pair(folder: Path, report: Path, a: str, b: str) -> ShownPair:
    """The ``pairs.csv`` row of ``a`` and ``b`` in ``report``, with its matched paragraphs read from
    ``folder``, or, where ``folder`` is the store of an index run, as that store keeps them (their
    normalised texts: the corpus is not read, and may be gone or on a file system only Spark reads).

    Raises:
        InputError: the pair is not in ``pairs.csv``, or an article cannot be read.
    """
    row = find_pair(report, a, b)
    if row is None:
        raise InputError(f"{a} and {b} are not a near-duplicate pair in {report / 'pairs.csv'}")
    ingest, segment = _configs(report)
    notes: list[str] = []
    paragraphs: dict[str, dict[int, str]] = {}
    for side in ("path_a", "path_b"):
        if folder.is_file():
            chars, paragraphs[side] = _stored_paragraphs(folder, row[side])
        else:
            found = split_paragraphs(row[side], article_text(folder, row[side], ingest), segment)
            paragraphs[side] = dict(enumerate(p.text for p in found))
            chars = sum(len(p.text) for p in found)
        reported = _reported_chars(report, row[side])
        if reported is not None and chars != reported:
            notes.append(f"{row[side]} changed since the report: its paragraphs may not be those it matched")
    matches = []
    for i, j, full, score, share_a, share_b in parse_matches(row["matches"]):
        texts = paragraphs["path_a"], paragraphs["path_b"]
        if i not in texts[0] or j not in texts[1]:
            notes.append(f"paragraph {i}-{j} is past the end of the article now")
            continue
        matches.append(ShownMatch(i, j, full, score, share_a, share_b, texts[0][i], texts[1][j]))
    return ShownPair(row, matches, list(dict.fromkeys(notes)))


def _reported_chars(report: Path, article_id: str) -> int | None:
    """The article's ``chars`` in the report's ``articles.csv`` (``None`` without one)."""
    try:
        with (report / "articles.csv").open(newline="", encoding="utf-8") as fh:
            row = next((r for r in csv.DictReader(fh) if r.get("path") == article_id), None)
    except FileNotFoundError:
        return None
    return int(row["chars"]) if row is not None and row.get("chars", "").isdigit() else None


__all__ = ["ShownMatch", "ShownPair", "article_text", "explain_pair", "find_pair", "parse_matches"]
