"""Typed records flowing between the pipeline stages (frozen, slotted dataclasses)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

import numpy as np

from dedup.fingerprint import Fingerprints, gather_ranges


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


SAMPLE_CHARS = 160


def text_sample(text: str, limit: int = SAMPLE_CHARS) -> str:
    """A paragraph as reports show it: whitespace collapsed, cut to ``limit`` characters with "…".

    >>> text_sample(" a   b  c ")
    'a b c'
    >>> text_sample("word " * 50, 12)
    'word word w…'
    """
    head = text[: limit + 1]
    if head.isprintable() and "  " not in head and head[:1] != " ":
        # Every whitespace but " " is unprintable: this head is its own collapsed form, and it
        # starts the collapsed text (the common case, found without splitting into words).
        longer = len(head) > limit and (head[-1] != " " or bool(text[limit + 1 :].strip()))
        return head[: limit - 1].rstrip() + "…" if longer else head.rstrip()
    # Collapsing a prefix gives a prefix of the collapsed text: a prefix long enough is all it takes.
    head = text if len(text) <= 4 * limit else text[: 4 * limit]
    sample = " ".join(head.split())
    if len(sample) <= limit and head is not text:
        sample = " ".join(text.split())  # mostly whitespace: collapse all of it
    if len(sample) > limit:
        sample = sample[: limit - 1].rstrip() + "…"
    return sample


@dataclass(frozen=True, slots=True)
class DigestBatch:
    """What the ingest/segment/fingerprint workers hand back for a batch of files, in flat arrays;
    also the unit the store keeps.

    Article ``k`` owns the indexed (long) paragraphs ``para_start[k]:para_start[k + 1]``.

    Attributes:
        ids: article ids.
        files: the file (relative path) each article was read from.
        chars: total raw characters of each article's segments.
        short_segments: number of short (never indexed) segments of each article.
        short_chars: characters in each article's short segments.
        para_start: ``(articles + 1,)`` offsets into the per-paragraph fields.
        indices: paragraph index (in its article) of each indexed paragraph.
        norms: normalised text of each indexed paragraph.
        para_keys: uint64 content key of each indexed paragraph (:func:`text_key` of its norm).
        samples: each indexed paragraph's raw text with whitespace collapsed, cut to 160 characters
            (what reports show; see :func:`text_sample`).
        lengths: raw length in characters of each indexed paragraph.
        sentence_keys: uint64 key of every sentence of the indexed paragraphs, in order (exact
            repeats share a key); paragraph ``p``'s sentences are
            ``fingerprints.sentence_start[p]:fingerprints.sentence_start[p + 1]``.
        sentence_bands: ``(rows, bands)`` uint64 LSH band keys of the same sentences, one row per
            distinct sentence of the batch (their signatures are not kept: the band keys are all
            that candidate search needs); see :meth:`bands_of`.
        fingerprints: paragraph signatures and shingle sets of the indexed paragraphs.
        sentence_rows: the row of ``sentence_bands`` of each sentence (repeats share one: template
            text repeats sentences, and a batch of 128 generated SEO articles held 5,636 sentences,
            3,376 distinct); ``None`` in batches stored before, which have a row per sentence.
    """

    ids: tuple[str, ...]
    files: tuple[str, ...]
    chars: tuple[int, ...]
    short_segments: tuple[int, ...]
    short_chars: tuple[int, ...]
    para_start: np.ndarray = field(repr=False)
    indices: tuple[int, ...] = field(repr=False)
    norms: tuple[str, ...] = field(repr=False)
    para_keys: np.ndarray = field(repr=False)
    samples: tuple[str, ...] = field(repr=False)
    lengths: tuple[int, ...] = field(repr=False)
    sentence_keys: np.ndarray = field(repr=False)
    sentence_bands: np.ndarray = field(repr=False)
    fingerprints: Fingerprints = field(repr=False)
    sentence_rows: np.ndarray | None = field(default=None, repr=False)

    def __setstate__(self, state: list[object]) -> None:
        # The state is the list of field values (dataclasses' own __getstate__). A batch pickled
        # before a field was added has no value for it: it gets its default.
        names = [f.name for f in fields(self)]
        for name, value in zip(names, [*state, *[None] * (len(names) - len(state))], strict=True):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.ids)

    def bands_of(self, sentences: np.ndarray) -> np.ndarray:
        """The ``(len(sentences), bands)`` band keys of the given sentences (positions in ``sentence_keys``)."""
        return self.sentence_bands[sentences if self.sentence_rows is None else self.sentence_rows[sentences]]

    def select(self, articles: Sequence[int]) -> DigestBatch:
        """The digests of the given articles only (in the given order), e.g. without a removed file's."""
        keep = np.asarray(articles, dtype=np.int64)
        rows = gather_ranges(self.para_start, keep)
        sentences = gather_ranges(self.fingerprints.sentence_start, rows)
        counts = self.para_start[keep + 1] - self.para_start[keep]
        listed = rows.tolist()
        band_rows = sentences if self.sentence_rows is None else self.sentence_rows[sentences]
        kept, remap = np.unique(band_rows, return_inverse=True)
        return DigestBatch(
            ids=tuple(self.ids[k] for k in keep.tolist()),
            files=tuple(self.files[k] for k in keep.tolist()),
            chars=tuple(self.chars[k] for k in keep.tolist()),
            short_segments=tuple(self.short_segments[k] for k in keep.tolist()),
            short_chars=tuple(self.short_chars[k] for k in keep.tolist()),
            para_start=np.concatenate(([0], np.cumsum(counts, dtype=np.int64))),
            indices=tuple(self.indices[r] for r in listed),
            norms=tuple(self.norms[r] for r in listed),
            para_keys=self.para_keys[rows],
            samples=tuple(self.samples[r] for r in listed),
            lengths=tuple(self.lengths[r] for r in listed),
            sentence_keys=self.sentence_keys[sentences],
            sentence_bands=self.sentence_bands[kept],
            fingerprints=self.fingerprints.select(rows),
            sentence_rows=remap.astype(np.int32),
        )


class ParagraphMatch(NamedTuple):
    """Evidence for one article pair: paragraph ``index_a`` of a matches ``index_b`` of b.

    ``full`` matches carry the rapidfuzz score; partial ones the share of a's paragraph credited in
    b's paragraph (``score``) and of b's in a's (``score_b``). A named tuple, not a frozen
    dataclass like the other records: a run makes one per matched paragraph pair (341k at 101k
    articles), and a frozen dataclass takes four times as long to build. Immutable, ordered by
    its fields.
    """

    index_a: int
    index_b: int
    score: float
    full: bool = True
    score_b: float = 1.0


@dataclass(frozen=True, slots=True)
class ArticlePair:
    """A verified near-duplicate article pair (``a < b`` by path).

    ``similarity`` is the paragraph-based score (larger of the two containments), and
    ``shingle_containment`` the share of one article's non-template shingles found in the other
    (the larger of the two, 0 below one minimal paragraph's worth); a pair is reported when either
    reaches its threshold.
    """

    a: str
    b: str
    similarity: float
    containment_a: float
    containment_b: float
    shingle_containment: float
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
    reused_candidate_pairs: int | None = None
    """Candidate pairs whose verification the store had kept (``dedup index``/``report``; ``None`` for a scan)."""
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
            **({} if self.reused_candidate_pairs is None else {"reused_candidate_pairs": self.reused_candidate_pairs}),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }
