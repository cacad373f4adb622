"""Frozen, validated configuration: one dataclass per pipeline stage, nested in :class:`DedupConfig`.

Every public threshold is a fraction in [0, 1] and its name says which metric it applies to.
Validation happens in ``__post_init__`` so a bad value fails before the first article is read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from dedup.errors import ConfigError


class Linkage(str, Enum):
    """How linked articles become clusters."""

    GUARDED = "guarded"
    SINGLE = "single"


class Engine(str, Enum):
    """What runs the per-file stage (reading and fingerprinting); matching always runs here."""

    LOCAL = "local"
    SPARK = "spark"


class KeepPolicy(str, Enum):
    """Which member of a cluster is its representative (the one ``dedup clean`` keeps)."""

    LONGEST = "longest"
    FIRST = "first"
    SHORTEST = "shortest"


def _check_fraction(name: str, value: float, *, open_low: bool = False) -> None:
    low_ok = value > 0 if open_low else value >= 0
    if not (isinstance(value, int | float) and low_ok and value <= 1 and not math.isnan(value)):
        bracket = "(" if open_low else "["
        raise ConfigError(f"{name} must be in {bracket}0, 1], got {value!r}")


def _coerce_enum(obj: object, name: str, kind: type[Enum]) -> None:
    """Turn a string field of a frozen dataclass into its enum member (ConfigError when unknown)."""
    value = getattr(obj, name)
    if isinstance(value, kind):
        return
    try:
        object.__setattr__(obj, name, kind(value))
    except ValueError:
        choices = ", ".join(str(k.value) for k in kind)
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}") from None


def _check_positive(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How files are found and read.

    Attributes:
        text_field: JSON/JSONL key holding the article text.
        id_field: JSON/JSONL key holding the record id (line number when absent).
        max_file_bytes: files (decompressed) above this size are skipped as ``too_large``.
        text_is_html: the JSON/JSONL text field holds HTML (a scraped page): its main text is
            extracted as for an ``.html`` file.
        text_is_markdown: the JSON/JSONL text field holds Markdown (what crawlers for language
            models write): it is read as its text, as for an ``.md`` file.
    """

    text_field: str = "text"
    id_field: str = "id"
    max_file_bytes: int = 64 * 1024 * 1024
    text_is_html: bool = False
    text_is_markdown: bool = False

    def __post_init__(self) -> None:
        if self.text_is_html and self.text_is_markdown:
            raise ConfigError("text_is_html and text_is_markdown exclude each other: the text field holds one")
        if not self.text_field:
            raise ConfigError("text_field must not be empty")
        if not self.id_field:
            raise ConfigError("id_field must not be empty")
        _check_positive("max_file_bytes", self.max_file_bytes)


@dataclass(frozen=True, slots=True)
class SegmentConfig:
    """How articles are cut into paragraphs.

    Attributes:
        min_words: segments with fewer normalised words, or fewer than twice as many that look like
            a heading or list item, are *short*: kept in the report but never indexed, so a shared
            heading list cannot make two articles look alike.
        min_sentence_words: sentence fragments shorter than this join their neighbour.
    """

    min_words: int = 10
    min_sentence_words: int = 5

    def __post_init__(self) -> None:
        _check_positive("min_words", self.min_words)
        _check_positive("min_sentence_words", self.min_sentence_words)


@dataclass(frozen=True, slots=True)
class ShingleConfig:
    """Word n-gram shingling.

    Attributes:
        size: words per shingle. 3 keeps lightly spun paragraphs (a synonym every ~20 words)
            above Jaccard 0.7, where 5-grams would drop them near 0.6.
    """

    size: int = 3

    def __post_init__(self) -> None:
        _check_positive("shingle size", self.size)


def _candidate_probability(s: Any, bands: int, rows: int) -> Any:
    return 1.0 - (1.0 - s**rows) ** bands


def optimal_bands_rows(
    threshold: float, num_perm: int, fp_weight: float = 0.05, fn_weight: float = 0.95
) -> tuple[int, int]:
    """Pick ``(bands, rows)`` minimising the weighted false-positive and false-negative areas.

    Same objective as datasketch's ``MinHashLSH`` but weighted towards recall (0.05 / 0.95):
    verification restores precision, nothing restores a pair LSH never proposed.

    Args:
        threshold: Jaccard threshold the S-curve should switch at.
        num_perm: number of MinHash permutations available.
        fp_weight: weight of the false-positive area (below the threshold).
        fn_weight: weight of the false-negative area (above the threshold).

    Returns:
        ``(bands, rows)`` with ``bands * rows <= num_perm``.

    >>> optimal_bands_rows(0.8, 128)
    (16, 8)
    """
    import numpy as np

    lo = np.linspace(0.0, threshold, 201)
    hi = np.linspace(threshold, 1.0, 201)
    best, best_err = (1, 1), math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(_candidate_probability(lo, bands, rows), lo)
            fn = np.trapezoid(1.0 - _candidate_probability(hi, bands, rows), hi)
            err = fp * fp_weight + fn * fn_weight
            if err < best_err - 1e-12:
                best, best_err = (bands, rows), err
    return best


@dataclass(frozen=True, slots=True)
class LshConfig:
    """MinHash and banding parameters.

    Attributes:
        num_perm: MinHash permutations (datasketch's name).
        seed: permutation seed (datasketch semantics: ``np.random.RandomState(seed)``).
        jaccard_threshold: shingle-Jaccard level the band S-curve is tuned for.
        bands: LSH bands; derived from ``jaccard_threshold`` unless both bands and rows are given.
        rows: rows (hash values) per band.
        max_bucket_neighbors: inside one band bucket each paragraph is paired with at most this many
            following members (in paragraph order); keeps template-heavy buckets linear, not quadratic.
        max_sentence_spread: a sentence found (identical or near-identical) in more distinct
            paragraphs than this is a template sentence and proposes no candidate pairs.
        min_estimate: a pair proposed by the paragraph bands alone is verified only when its
            shingle Jaccard reaches this: judged on the signature estimate, and counted exactly on
            the shingle sets when the estimate falls less than 1.5 standard errors under it (pairs
            sharing a sentence are always verified).
    """

    num_perm: int = 128
    seed: int = 1
    jaccard_threshold: float = 0.6
    bands: int | None = None
    rows: int | None = None
    max_bucket_neighbors: int = 64
    max_sentence_spread: int = 20
    min_estimate: float = 0.4

    def __post_init__(self) -> None:
        _check_positive("num_perm", self.num_perm, 2)
        _check_fraction("jaccard_threshold", self.jaccard_threshold, open_low=True)
        _check_positive("max_bucket_neighbors", self.max_bucket_neighbors)
        _check_positive("max_sentence_spread", self.max_sentence_spread, 2)
        _check_fraction("min_estimate", self.min_estimate)
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("bands and rows must be given together (or neither, to derive them)")
        if self.bands is None:
            bands, rows = _derived_bands_rows(self.jaccard_threshold, self.num_perm)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        _check_positive("bands", self.band_count)
        _check_positive("rows", self.row_count)
        if self.band_count * self.row_count > self.num_perm:
            raise ConfigError(f"bands * rows must be <= num_perm ({self.num_perm}), got {self.bands} * {self.rows}")

    @property
    def band_count(self) -> int:
        """Number of bands (never None after construction)."""
        return int(self.bands or 0)

    @property
    def row_count(self) -> int:
        """Rows per band (never None after construction)."""
        return int(self.rows or 0)


_BANDS_CACHE: dict[tuple[float, int], tuple[int, int]] = {}


def _derived_bands_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    key = (round(threshold, 6), num_perm)
    if key not in _BANDS_CACHE:
        _BANDS_CACHE[key] = optimal_bands_rows(threshold, num_perm)
    return _BANDS_CACHE[key]


@dataclass(frozen=True, slots=True)
class VerifyConfig:
    """Paragraph-pair verification with rapidfuzz.

    Attributes:
        min_similarity: a candidate paragraph pair is the same paragraph (full credit) when
            ``max(fuzz.ratio, fuzz.token_sort_ratio) / 100`` reaches this fraction.
        min_containment: otherwise it is a partial match when this share of the smaller
            paragraph's shingles is found in the other; it then credits the shared shingles only.
    """

    min_similarity: float = 0.8
    min_containment: float = 0.5

    def __post_init__(self) -> None:
        _check_fraction("min_similarity", self.min_similarity, open_low=True)
        _check_fraction("min_containment", self.min_containment, open_low=True)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Paragraph groups, boilerplate and article clusters.

    Attributes:
        min_article_similarity: article pairs at or above this similarity (the larger of the two
            containments, see README) are near-duplicates.
        min_shingle_containment: article pairs where at least this share of one article's
            non-template shingles is found in the other are near-duplicates too (revisions whose
            every paragraph was edited, copies of part of a longer article). Template shingles are
            those found in ``boilerplate_min_articles`` articles or more; fewer than one minimal
            paragraph's worth of shared shingles (``min_words - shingle size + 1``) never counts.
        cluster_floor: with guarded linkage every cluster member must match the representative
            directly at or above this similarity (guard against A~B~C chains where A and C share
            nothing); ``None`` means ``min_article_similarity``.
        boilerplate_min_articles: a paragraph group found in at least this many distinct articles is
            boilerplate (template) and, by default, ignored when scoring article pairs.
        include_boilerplate: score article pairs on all paragraphs, boilerplate included.
        keep: representative policy.
        linkage: ``guarded`` (every member matches the representative at ``cluster_floor``) or
            ``single`` (connected components: A~B~C is one cluster even when A and C differ, as
            successive revisions of one page do).
    """

    min_article_similarity: float = 0.4
    min_shingle_containment: float = 0.8
    cluster_floor: float | None = 0.1
    boilerplate_min_articles: int = 10
    include_boilerplate: bool = False
    keep: KeepPolicy = KeepPolicy.LONGEST
    linkage: Linkage = Linkage.GUARDED

    def __post_init__(self) -> None:
        _check_fraction("min_article_similarity", self.min_article_similarity, open_low=True)
        _check_fraction("min_shingle_containment", self.min_shingle_containment, open_low=True)
        if self.cluster_floor is None:
            object.__setattr__(self, "cluster_floor", self.min_article_similarity)
        _check_fraction("cluster_floor", float(self.cluster_floor or 0.0))
        _check_positive("boilerplate_min_articles", self.boilerplate_min_articles, 2)
        _coerce_enum(self, "keep", KeepPolicy)
        _coerce_enum(self, "linkage", Linkage)

    @property
    def floor(self) -> float:
        """The chaining guard floor (never None after construction)."""
        return float(self.cluster_floor if self.cluster_floor is not None else self.min_article_similarity)


@dataclass(frozen=True, slots=True)
class DedupConfig:
    """Every parameter of a run, nested by stage.

    Attributes:
        workers: processes of this machine for the local stages (and the per-file stage with the
            local engine).
        engine: what runs the per-file stage: ``local`` (``workers`` processes) or ``spark``
            (:mod:`dedup.engines.spark`). Results never depend on it.
        spark_master: the Spark master URL of a session the spark engine starts (``None``: Spark's
            own configuration, else ``local[*]``).
    """

    ingest: IngestConfig = field(default_factory=IngestConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    lsh: LshConfig = field(default_factory=LshConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    workers: int = 1
    engine: Engine = Engine.LOCAL
    spark_master: str | None = None

    def __post_init__(self) -> None:
        _check_positive("workers", self.workers)
        _coerce_enum(self, "engine", Engine)
        if self.spark_master is not None and self.engine is not Engine.SPARK:
            raise ConfigError("spark_master is only used with engine spark (--engine spark)")

    @property
    def tag(self) -> str:
        """Short parameter tag for logs and store headers, e.g. ``p128_b24x4_n3_s1``."""
        return f"p{self.lsh.num_perm}_b{self.lsh.bands}x{self.lsh.rows}_n{self.shingle.size}_s{self.lsh.seed}"

    def to_dict(self) -> dict[str, Any]:
        """All parameters as plain JSON-serialisable values (for ``summary.json``)."""
        out = asdict(self)
        out["cluster"]["keep"] = self.cluster.keep.value
        out["cluster"]["linkage"] = self.cluster.linkage.value
        out["engine"] = self.engine.value
        return out
