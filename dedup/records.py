"""Typed records flowing between the pipeline stages (frozen, slotted dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dedup.fingerprint import Fingerprints


def paragraph_key(article_id: str, index: int) -> str:
    """The one place a paragraph key is built: ``"<article id>#<index>"``.

    >>> paragraph_key("a/b.txt", 3)
    'a/b.txt#3'
    """
    return f"{article_id}#{index}"


@dataclass(frozen=True, slots=True)
class Article:
    """One article as read from disk.

    Attributes:
        id: path relative to the scanned folder with ``/`` separators; ``file.jsonl#<id>`` for records.
        text: decoded (and, for HTML, extracted) text.
    """

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Skip:
    """A file or record that was not read, with the reason (one of :mod:`dedup.ingest`'s reasons)."""

    path: str
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One segment of an article; ``text`` is the raw form, ``norm`` the normalised one.

    ``sentences`` are the normalised sentences; ``" ".join(sentences) == norm``.
    """

    article_id: str
    index: int
    text: str
    norm: str
    words: int
    is_short: bool
    sentences: tuple[str, ...] = ()

    @property
    def chars(self) -> int:
        """Length of the raw text in characters."""
        return len(self.text)


@dataclass(frozen=True, slots=True)
class ArticleDigest:
    """What the ingest/segment/fingerprint workers hand back for one article.

    Attributes:
        id: article id.
        chars: total raw characters of all segments.
        short_segments: number of short (never indexed) segments.
        short_chars: characters in short segments.
        indices: paragraph index of each indexed (long) paragraph.
        norms: normalised text of each indexed paragraph.
        texts: raw text of each indexed paragraph.
        sentence_keys: uint64 key of every sentence of the indexed paragraphs, in order (exact
            repeats share a key); paragraph ``p``'s sentences are
            ``fingerprints.sentence_start[p]:fingerprints.sentence_start[p + 1]``.
        sentence_bands: ``(sentences, bands)`` uint64 LSH band keys of the same sentences (their
            signatures are not kept: the band keys are all that candidate search needs).
        fingerprints: paragraph signatures and shingle sets of the indexed paragraphs.
    """

    id: str
    chars: int
    short_segments: int
    short_chars: int
    indices: tuple[int, ...]
    norms: tuple[str, ...]
    texts: tuple[str, ...]
    sentence_keys: np.ndarray = field(repr=False)
    sentence_bands: np.ndarray = field(repr=False)
    fingerprints: Fingerprints = field(repr=False)


@dataclass(frozen=True, slots=True, order=True)
class ParagraphMatch:
    """Evidence for one article pair: paragraph ``index_a`` of a matches ``index_b`` of b.

    ``full`` matches carry the rapidfuzz score; partial ones the share of a's paragraph credited in
    b's paragraph (``score``) and of b's in a's (``score_b``).
    """

    index_a: int
    index_b: int
    score: float
    full: bool = True
    score_b: float = 1.0


@dataclass(frozen=True, slots=True)
class ArticlePair:
    """A verified near-duplicate article pair (``a < b`` by path)."""

    a: str
    b: str
    similarity: float
    containment_a: float
    containment_b: float
    matched_paragraphs: int
    best_score: float
    minhash_jaccard: float
    matches: tuple[ParagraphMatch, ...]


@dataclass(frozen=True, slots=True)
class ClusterMember:
    """One row of ``clusters.csv``."""

    cluster_id: str
    path: str
    cluster_size: int
    is_representative: bool
    similarity_to_representative: float
    chars: int
    shared_paragraphs: int


@dataclass(frozen=True, slots=True)
class Cluster:
    """A near-duplicate article cluster; ``members`` starts with the representative."""

    id: str
    representative: str
    members: tuple[ClusterMember, ...]


@dataclass(frozen=True, slots=True)
class BoilerplateGroup:
    """A paragraph group reused across articles (one row of ``boilerplate.csv``).

    ``first_seen``/``first_article`` are known only for reports made from a store.
    """

    id: str
    articles: int
    occurrences: int
    is_template: bool
    sample: str
    example_paths: tuple[str, ...]
    all_paths: tuple[str, ...] = field(default=(), repr=False)
    first_seen: str = ""
    first_article: str = ""


@dataclass(frozen=True, slots=True)
class ArticleReport:
    """One row of ``articles.csv``."""

    path: str
    paragraphs: int
    short_segments: int
    chars: int
    template_pct: float
    shared_pct: float
    unique_pct: float
    cluster_id: str


@dataclass(slots=True)
class RunStats:
    """Counts and per-stage timings of one run (mutable: stages add to it)."""

    files_seen: int = 0
    files_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    paragraphs: int = 0
    short_segments: int = 0
    unique_paragraphs: int = 0
    unique_sentences: int = 0
    candidate_pairs: int = 0
    verified_paragraph_pairs: int = 0
    partial_paragraph_pairs: int = 0
    paragraph_groups: int = 0
    boilerplate_groups: int = 0
    article_pairs: int = 0
    clusters: int = 0
    clustered_articles: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def add_skip(self, reason: str) -> None:
        """Count one skipped file or record."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with sorted skip reasons and rounded timings."""
        return {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": sum(self.skipped.values()),
            "articles": self.articles,
            "paragraphs": self.paragraphs,
            "short_segments": self.short_segments,
            "unique_paragraphs": self.unique_paragraphs,
            "unique_sentences": self.unique_sentences,
            "candidate_pairs": self.candidate_pairs,
            "verified_paragraph_pairs": self.verified_paragraph_pairs,
            "partial_paragraph_pairs": self.partial_paragraph_pairs,
            "paragraph_groups": self.paragraph_groups,
            "boilerplate_groups": self.boilerplate_groups,
            "article_pairs": self.article_pairs,
            "clusters": self.clusters,
            "clustered_articles": self.clustered_articles,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }
