"""Compose the stages: ingest → segment → fingerprint → index → verify → group → cluster.

Workers run :func:`digest_files` (read, segment, normalise, fingerprint) on batches of files; the
main process keeps one row per *distinct* paragraph text (exact repeats are matched for free) and
one compact record per article, so the corpus text is never held twice.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import itertools
import os
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dedup.cluster import connected_labels, guarded_clusters, representative_key, stable_id
from dedup.config import DedupConfig, Engine, Linkage
from dedup.engines import keep_freed_heap, map_forked, map_ordered, release_memory, release_memory_if_grown
from dedup.errors import ConfigError, InputError
from dedup.fingerprint import (
    SentenceMemo,
    distinct_sentences,
    fingerprint,
    gather_ranges,
    signature_jaccard,
)
from dedup.index import (
    band_keys,
    band_keys_of_rows,
    bucket_pairs,
    candidate_pairs_after_additions,
    candidate_pairs_from_keys,
    search_sorted,
    sorted_unique,
    stable_argsort,
)
from dedup.ingest import (
    REASON_EMPTY,
    REASON_TOO_LARGE,
    FileResult,
    InputFormat,
    SkipFile,
    bad_names,
    bytes_sha1s,
    detect_format,
    discover_files,
    duplicate_id,
    jsonl_part,
    looks_binary,
    parquet_part,
    parquet_row_groups,
    read_content,
    read_file,
    read_file_bytes,
    size_is_content,
    unsupported,
)
from dedup.records import (
    ArticlePair,
    ArticleReport,
    BoilerplateGroup,
    Cluster,
    ClusterMember,
    DigestBatch,
    ParagraphMatch,
    RunStats,
    Skip,
    text_sample,
)
from dedup.segment import Segment, SegmentMemo, segment_article
from dedup.spill import SpilledArray, SpilledBuckets, SpilledRows, SpilledTexts
from dedup.verify import score_pairs, sorted_tokens
from dedup.verify_cache import CACHE_VERSION, VerifyCache, build_cache, paragraph_identities

if TYPE_CHECKING:
    from scipy import sparse

    from dedup.engines.spark import UriFolder

ProgressHook = Callable[[str, int, int | None], None]
SkipHook = Callable[[Skip], None]

# Files per read task (and per stored digest batch). On the 102 MB benchmark corpus 128 against 32:
# 11.4-11.9 s against 12.3-12.4 s per scan, peak PSS 983-1016 MB against 1069-1101 MB (fewer,
# larger batches for the main process to fold in and keep); 256 was no faster.
_FILES_PER_TASK = 128
# A file of many records (JSON, JSONL, Parquet) weighs its likely content in bytes (five times its
# size when compressed or Parquet): a task takes no more files once they weigh this much. Eight
# Parquet shards of 10,000 articles (46 MB of text) made one task, read by one worker.
_TASK_RECORD_BYTES = 2 << 20
_RECORD_FORMATS = (InputFormat.JSON, InputFormat.JSONL, InputFormat.PARQUET)
_PART_BYTES = 8 << 20
"""A JSONL file of more than this (after decompression) is read in parts of about this size, by
as many tasks (see :func:`_jsonl_parts`), and so is a Parquet file of several row groups (see
:func:`_parquet_parts`)."""
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_VERIFY_CHUNK = 5_000
_SIG_ROWS_PER_READ = 16  # signature rows read at once from the spilled rows (16 x 4 bytes per paragraph)
_PAIRS_PER_PASS = 32_768  # pairs whose estimates are counted together (see _jaccard_at_least)
_PAIRS_PER_SHARED_INDEX = 8  # more candidates per paragraph than this: one shingle index for all chunks
_EXAMPLE_PATHS = 3


def _noop_progress(stage: str, advance: int, total: int | None) -> None:
    return None


def _noop_skip(skip: Skip) -> None:
    return None


# --------------------------------------------------------------------------- ingest + fingerprint


@dataclass(frozen=True, slots=True)
class _Batch:
    root: str
    paths: tuple[str, ...]
    cfg: DedupConfig


@dataclass(frozen=True, slots=True)
class _BatchResult:
    files: int
    files_read: int
    skips: tuple[Skip, ...]
    digests: DigestBatch
    hashes: tuple[tuple[str, str], ...] = ()
    """``(relative path, SHA-1)`` of each file read from bytes (:func:`digest_file_bytes`)."""
    part_of: str | None = None
    """The file whose part this is (:class:`_Part`, :class:`_ParquetPart`; ``None``: whole files)."""
    outcomes: tuple[tuple[str, str, int], ...] = ()
    """A part's records with a text (see :func:`~dedup.ingest.jsonl_part`)."""
    text_bytes: int | None = None
    """A Parquet part: its text's own size (the whole file's is held to ``--max-file-mb``)."""
    whole_checks: bool = False
    """A Parquet part: whether the file is read or skipped depends on every part (kept until the last)."""


@dataclass(frozen=True, slots=True)
class _Part:
    """A read task of one part of a large JSONL file: whole lines of valid UTF-8 (see
    :func:`_jsonl_parts`), the first of them line ``first_line``."""

    rel: str
    data: bytes
    first_line: int
    last: bool
    cfg: DedupConfig


@dataclass(frozen=True, slots=True)
class _ParquetPart:
    """A read task of some row groups of a large Parquet file (see :func:`_parquet_parts`), the
    first of their rows row ``first_row`` of the file."""

    root: str
    rel: str
    groups: tuple[int, ...]
    first_row: int
    last: bool
    cfg: DedupConfig


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: the hot loops make millions of acyclic objects, and the
    collector would scan the whole heap again and again (up to half of the time on large batches)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def digest_files(batch: _Batch | _Part | _ParquetPart) -> _BatchResult:
    """Worker task: read, segment, normalise and fingerprint a batch of files, or a part of one.

    Args:
        batch: the scanned root, relative paths and the run's config (or a part of one file:
            :class:`_Part`, :class:`_ParquetPart`).

    Returns:
        One digest per article, the skips, and how many files were read (a part: the file, with
        its last part).
    """
    with _no_gc():
        if isinstance(batch, _Part):
            read, outcomes = jsonl_part(batch.rel, batch.data, batch.first_line, batch.cfg.ingest)
            done = _digest_results([(batch.rel, read)], int(batch.last), batch.cfg)
            return _BatchResult(done.files, int(batch.last), done.skips, done.digests, (), batch.rel, outcomes)
        if isinstance(batch, _ParquetPart):
            cfg = batch.cfg
            read, outcomes, size = parquet_part(Path(batch.root), batch.rel, batch.groups, batch.first_row, cfg.ingest)
            done = _digest_results([(batch.rel, read)], int(batch.last), cfg)
            files_read = int(batch.last)  # the whole file's outcome is settled with its last part
            return _BatchResult(done.files, files_read, done.skips, done.digests, (), batch.rel, outcomes, size, True)
        return _digest_files(batch)


def digest_file_bytes(files: Sequence[tuple[str, bytes]], cfg: DedupConfig) -> _BatchResult:
    """Worker task of the Spark engine reading a Hadoop file system: :func:`digest_files` for files
    whose bytes Spark read (relative path and bytes of each), with each file's SHA-1 (what
    :func:`dedup.store.file_sha1` gives for a local file), which ``dedup index`` keeps."""
    with _no_gc():
        results = ((rel, read_file_bytes(rel, raw, cfg.ingest)) for rel, raw in files)
        done = _digest_results(results, len(files), cfg)
        return _BatchResult(done.files, done.files_read, done.skips, done.digests, bytes_sha1s(files))


def _digest_files(batch: _Batch) -> _BatchResult:
    root = Path(batch.root)
    results = ((rel, read_file(root, rel, batch.cfg.ingest)) for rel in batch.paths)
    return _digest_results(results, len(batch.paths), batch.cfg)


def _digest_results(results: Iterable[tuple[str, FileResult]], n_files: int, cfg: DedupConfig) -> _BatchResult:
    skips: list[Skip] = []
    # Per article: its file, id, and (index, raw text, normalised segment) of its indexed paragraphs.
    pending: list[tuple[str, str, list[tuple[int, str, Segment]]]] = []
    chars: list[int] = []
    short_counts: list[int] = []
    short_chars: list[int] = []
    files_read = 0
    segment_memo, sentence_memo = _memos(cfg)
    for rel, result in results:
        skips.extend(result.skips)
        files_read += result.read_ok
        for article in result.articles:
            segments = segment_article(article.text, cfg.segment, segment_memo)
            if not segments:
                skips.append(Skip(article.id, "empty", "no words"))
                continue
            indexed = [(i, raw, seg) for i, (raw, seg) in enumerate(segments) if not seg[2]]
            pending.append((rel, article.id, indexed))
            chars.append(sum(len(raw) for raw, _ in segments))
            short_counts.append(len(segments) - len(indexed))
            short_chars.append(chars[-1] - sum(len(raw) for _, raw, _ in indexed))
    indexed = [p for _, _, ps in pending for p in ps]
    sentences = [seg[3] for _, _, seg in indexed]
    distinct, occurrence = distinct_sentences(sentences)
    table, distinct_keys = sentence_memo.table(distinct)
    occurrences = (distinct, occurrence)
    fp = fingerprint(sentences, cfg.shingle, cfg.lsh, sentences=occurrences, table=table, sentence_sigs=False)
    bands = np.ascontiguousarray(band_keys(table.sigs, cfg.lsh).T)  # a row per distinct sentence
    keys = distinct_keys[occurrence]
    norms = tuple(seg[0] for _, _, seg in indexed)
    digests = DigestBatch(
        ids=tuple(aid for _, aid, _ in pending),
        files=tuple(rel for rel, _, _ in pending),
        chars=tuple(chars),
        short_segments=tuple(short_counts),
        short_chars=tuple(short_chars),
        para_start=np.concatenate(([0], np.cumsum([len(ps) for _, _, ps in pending], dtype=np.int64))),
        indices=tuple(i for i, _, _ in indexed),
        norms=norms,
        para_keys=np.fromiter(map(text_key, norms), dtype=np.uint64, count=len(norms)),
        samples=tuple(text_sample(raw) for _, raw, _ in indexed),
        lengths=tuple(len(raw) for _, raw, _ in indexed),
        sentence_keys=keys,
        sentence_bands=bands,
        fingerprints=fp,
        sentence_rows=occurrence.astype(np.int32),
    )
    return _BatchResult(n_files, files_read, tuple(skips), digests)


_MEMOS: dict[tuple[object, ...], tuple[SegmentMemo, SentenceMemo]] = {}


def _memos(cfg: DedupConfig) -> tuple[SegmentMemo, SentenceMemo]:
    """This process's memos of split segments and sentence fingerprints for the run's parameters
    (one set at a time): a worker meets the same headings and template sentences batch after batch."""
    params = (cfg.segment, cfg.shingle, cfg.lsh.num_perm, cfg.lsh.seed)
    if params not in _MEMOS:
        _MEMOS.clear()
        _MEMOS[params] = (SegmentMemo(), SentenceMemo(cfg.shingle, cfg.lsh, text_key))
    return _MEMOS[params]


def text_key(norm: str) -> int:
    """64-bit content key of a normalised sentence or paragraph (exact repeats share it)."""
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass(slots=True)
class Corpus:
    """Compact in-memory corpus: articles (sorted by id), distinct paragraph texts and sentences.

    Paragraph occurrences are stored flat: article ``k`` owns occurrences
    ``occ_start[k]:occ_start[k + 1]``. Distinct paragraph ``u`` has signature ``sig_rows[:, u]``
    (``sig_rows[j]``: the j-th MinHash value of every distinct paragraph), and shingle set
    ``shingles[shingle_start[u]:shingle_start[u + 1]]``; distinct sentence ``s`` has LSH band keys
    ``sentence_bands[:, s]``, content key ``sentence_keys[s]``, and occurs in the distinct paragraphs
    ``owner_uid[owner_start[s]:owner_start[s + 1]]`` (ascending). ``para_keys[u]`` is the content
    key of distinct paragraph ``u`` (:func:`text_key`). ``low_bytes`` holds the low byte of every
    signature value, in text-key order (row ``i`` for paragraph ``stable_argsort(para_keys)[i]``):
    the order the band buckets pair paragraphs in, so that no candidate worker makes a reordered
    copy (22 MB each at 102 MB).

    The signatures and the sentences' band keys wait in temporary files (:class:`SpilledRows`,
    88 and 55 MB at 102 MB of articles; a test may give arrays): candidate generation reads them
    a band or a few permutations at a time. They, and the low bytes, serve candidate generation
    only: a run that has its candidates may :meth:`release_candidate_arrays`, keeping each
    article's signature (``article_sigs``) for the reports.
    """

    ids: list[str] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    short_segments: list[int] = field(default_factory=list)
    occ_start: list[int] = field(default_factory=lambda: [0])
    # 8 bytes per occurrence (a list took 36 at 102 MB of articles: 22 MB for the three).
    occ_uid: array[int] = field(default_factory=lambda: array("q"))
    occ_index: array[int] = field(default_factory=lambda: array("q"))
    occ_chars: array[int] = field(default_factory=lambda: array("q"))
    norms: SpilledTexts = field(default_factory=SpilledTexts)
    samples: SpilledTexts = field(default_factory=SpilledTexts)
    sig_rows: SpilledRows | np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.uint32))
    low_bytes: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.uint8))
    para_keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    shingles: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    shingle_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    sentence_bands: SpilledRows | np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.uint64))
    sentence_keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    owner_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    owner_uid: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    # Per distinct paragraph, the shingle set of each of its sentences (for sentence-level credit).
    psent_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    psent_sid: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    psent_shingles: SpilledArray | np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    psent_shingle_start: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    # Per article, the element-wise minimum of its paragraphs' signatures (the MinHash of all its
    # shingles); set when the paragraph signatures are released.
    article_sigs: np.ndarray | None = None
    skips: list[Skip] = field(default_factory=list)
    """The files and records of the folder that were not read (``skipped.csv``), in path order."""

    def occurrences(self, article: int) -> range:
        """Occurrence positions of one article."""
        return range(self.occ_start[article], self.occ_start[article + 1])

    def sentence_owners(self, sid: int) -> list[int]:
        """The distinct paragraphs holding a distinct sentence, ascending."""
        return self.owner_uid[self.owner_start[sid] : self.owner_start[sid + 1]].tolist()

    @property
    def shingle_counts(self) -> np.ndarray:
        """Number of distinct shingles of every distinct paragraph."""
        return np.diff(self.shingle_start)

    def signatures_of(self, articles: np.ndarray) -> np.ndarray:
        """The MinHash of all the shingles of each given article (element-wise minimum of its
        paragraphs' signatures; all maximum for an article without paragraphs)."""
        if self.article_sigs is not None:
            if len(self.article_sigs) < len(self.ids):
                raise ValueError("the corpus' signatures were released without the articles' signatures")
            return self.article_sigs[articles]
        occ_start = np.asarray(self.occ_start, dtype=np.int64)
        uids = np.asarray(self.occ_uid, dtype=np.int64)[gather_ranges(occ_start, articles)]
        counts = occ_start[articles + 1] - occ_start[articles]
        starts = np.concatenate(([0], np.cumsum(counts)))
        # Run by run, a signature row at a time (reduceat along a contiguous row).
        width = self.sig_rows.shape[0]
        out = np.full((len(articles), width), np.iinfo(self.sig_rows.dtype).max, dtype=self.sig_rows.dtype)
        filled = np.flatnonzero(counts > 0)
        if len(filled):
            for lo in range(0, width, _SIG_ROWS_PER_READ):
                for j, row in enumerate(self.sig_rows[lo : lo + _SIG_ROWS_PER_READ], start=lo):
                    out[filled, j] = np.minimum.reduceat(row[uids], starts[filled])
        return out

    def release_candidate_arrays(self, keep_article_sigs: bool = True, article_sigs: np.ndarray | None = None) -> None:
        """Free the paragraph signatures (and low bytes), the sentences' band keys and owners, which only candidate
        generation reads, after keeping every article's signature (:meth:`signatures_of`) unless
        ``keep_article_sigs`` is false (no report will show a MinHash Jaccard). ``article_sigs``:
        those signatures, when they were made already."""
        if self.article_sigs is None:
            if keep_article_sigs:
                if article_sigs is None:
                    article_sigs = self.signatures_of(np.arange(len(self.ids), dtype=np.int64))
                self.article_sigs = article_sigs
            else:
                self.article_sigs = np.empty((0, self.sig_rows.shape[0]), dtype=self.sig_rows.dtype)
        self.sig_rows = np.empty((self.sig_rows.shape[0], 0), dtype=self.sig_rows.dtype)
        self.low_bytes = np.empty((0, self.low_bytes.shape[1]), dtype=np.uint8)
        self.sentence_bands = np.empty((self.sentence_bands.shape[0], 0), dtype=self.sentence_bands.dtype)
        self.owner_start, self.owner_uid = np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64)
        release_memory()

    def release_verification_arrays(self) -> None:
        """Free what only verification reads (the sentences' shingle sets and ids, 54 MB at 102 MB
        of articles): the analysis reads each sentence's shingle count only
        (:meth:`sentence_shingle_counts`)."""
        self.psent_shingles = np.empty(0, dtype=np.uint32)
        self.psent_sid = np.empty(0, dtype=np.int64)
        self.sentence_keys = np.empty(0, dtype=np.uint64)
        release_memory()

    def sentence_shingle_counts(self, uid: int) -> np.ndarray:
        """The number of shingles of each sentence of a distinct paragraph."""
        return np.diff(self.psent_shingle_start[self.psent_start[uid] : self.psent_start[uid + 1] + 1])


def _sort_articles(corpus: Corpus) -> None:
    """Reorder the corpus' articles (and their paragraph occurrences) by id."""
    order = sorted(range(len(corpus.ids)), key=corpus.ids.__getitem__)
    if order == list(range(len(order))):
        return
    occ_uid, occ_index, occ_chars, occ_start = array("q"), array("q"), array("q"), [0]
    for k in order:
        lo, hi = corpus.occ_start[k], corpus.occ_start[k + 1]
        occ_uid.extend(corpus.occ_uid[lo:hi])
        occ_index.extend(corpus.occ_index[lo:hi])
        occ_chars.extend(corpus.occ_chars[lo:hi])
        occ_start.append(len(occ_uid))
    corpus.ids = [corpus.ids[k] for k in order]
    corpus.chars = [corpus.chars[k] for k in order]
    corpus.short_segments = [corpus.short_segments[k] for k in order]
    corpus.occ_uid, corpus.occ_index, corpus.occ_chars, corpus.occ_start = occ_uid, occ_index, occ_chars, occ_start


def _record_bytes(root: Path, rel: str) -> int:
    """What a file of many records weighs in a read task (see ``_TASK_RECORD_BYTES``); 0 for
    another file (not even stat-ed), or one that cannot be."""
    if detect_format(rel)[0] not in _RECORD_FORMATS:
        return 0
    try:
        size = os.stat(os.path.join(root, rel)).st_size
    except OSError:
        return 0
    return size if size_is_content(rel) else 5 * size


def _jsonl_parts(root: Path, rel: str, cfg: DedupConfig) -> Iterator[_Part] | None:
    """The parts of a JSONL file of more than ``_PART_BYTES`` (after decompression): about that
    many bytes each, cut after a line feed, each line numbered as in the whole file. ``None``
    where the file is not read in parts: smaller, not valid UTF-8 throughout (its encoding is
    detected on the whole file), with a byte order mark, binary, empty, or skipped for what a
    whole read says (too large, unreadable, corrupt: that read then says it).

    The file's content stays in this process until its last part is handed out; a worker holds
    only its part and what it makes of it (a whole 60 MB file took 950 MB in one worker)."""
    fmt, codec = detect_format(rel)
    if fmt is not InputFormat.JSONL:
        return None
    try:
        data = read_content(root / rel, codec, cfg.ingest.max_file_bytes)
    except SkipFile:
        return None
    if len(data) <= _PART_BYTES or data.startswith(_BOMS) or data.isspace() or looks_binary(data):
        return None
    cuts = [0]
    while cuts[-1] < len(data):
        end = data.find(b"\n", cuts[-1] + _PART_BYTES - 1)
        cuts.append(len(data) if end < 0 else end + 1)
    view = memoryview(data)
    try:
        for lo, hi in itertools.pairwise(cuts):
            str(view[lo:hi], "utf-8")  # a cut after a line feed leaves every part valid on its own
    except UnicodeDecodeError:
        return None

    def parts() -> Iterator[_Part]:
        line = 1
        for lo, hi in itertools.pairwise(cuts):
            yield _Part(rel, data[lo:hi], line, hi == len(data), cfg)
            line += data.count(b"\n", lo, hi) + data.count(b"\r", lo, hi) - data.count(b"\r\n", lo, hi)

    return parts()


def _parquet_parts(root: Path, rel: str, cfg: DedupConfig) -> Iterator[_ParquetPart] | None:
    """The parts of a Parquet file of several row groups: consecutive groups of about
    ``_PART_BYTES`` (uncompressed) each. ``None`` where the file has one part, or its footer
    cannot be read (a whole read then says why). A file written with one row group (pandas,
    pyarrow under a million rows) is read whole."""
    if detect_format(rel)[0] is not InputFormat.PARQUET or unsupported(rel) is not None:
        return None
    groups = parquet_row_groups(root / rel)
    if groups is None:
        return None
    parts: list[tuple[tuple[int, ...], int]] = []  # (groups, first row)
    current: list[int] = []
    weight, row, first = 0, 1, 1
    for g, (rows, size) in enumerate(groups):
        if current and weight + size > _PART_BYTES:
            parts.append((tuple(current), first))
            current, weight, first = [], 0, row
        current.append(g)
        weight += size
        row += rows
    if current:
        parts.append((tuple(current), first))
    if len(parts) < 2:
        return None
    return (
        _ParquetPart(str(root), rel, chosen, first_row, k == len(parts) - 1, cfg)
        for k, (chosen, first_row) in enumerate(parts)
    )


def _iter_batches(root: Path, paths: Sequence[str], cfg: DedupConfig) -> Iterator[_Batch | _Part | _ParquetPart]:
    """Read tasks of consecutive files: up to ``_FILES_PER_TASK``, fewer where files of many
    records weigh ``_TASK_RECORD_BYTES`` (one such file larger than that is a task of its own, and
    a JSONL or Parquet file of more than ``_PART_BYTES`` one task per part, see
    :func:`_jsonl_parts` and :func:`_parquet_parts`)."""
    task: list[str] = []
    weight = 0
    for rel in paths:
        size = _record_bytes(root, rel)
        parts: Iterator[_Part | _ParquetPart] | None = None
        if size > _PART_BYTES:
            parts = _jsonl_parts(root, rel, cfg) or _parquet_parts(root, rel, cfg)
        if parts is not None:
            if task:
                yield _Batch(str(root), tuple(task), cfg)
                task, weight = [], 0
            yield from parts
            continue
        if task and weight + size > _TASK_RECORD_BYTES:
            yield _Batch(str(root), tuple(task), cfg)
            task, weight = [], 0
        task.append(rel)
        weight += size
        if len(task) == _FILES_PER_TASK:
            yield _Batch(str(root), tuple(task), cfg)
            task, weight = [], 0
    if task:
        yield _Batch(str(root), tuple(task), cfg)


_TRIM_BYTES = 16 << 20  # results from this size on give their parts' heap pages back (16 ms a call)


def _stack(parts: list[np.ndarray], empty: np.ndarray, transpose: bool = False) -> np.ndarray:
    """The parts end to end (``np.concatenate``; with ``transpose``, of their transposes along the
    last axis, C-contiguous), *emptying* ``parts``: each part is freed once copied, so the peak is
    the result and one part, not the result and every part (``np.concatenate`` and ``.T`` copies
    held them all: at 101k stored articles the load peaked 1 GB above what it kept). The parts
    are small enough to live in the C heap, so a large result hands their pages back at once.

    >>> parts = [np.array([[1, 2], [3, 4]]), np.array([[5, 6]])]
    >>> _stack(parts, np.empty((0, 2)), transpose=True).tolist(), parts
    ([[1, 3, 5], [2, 4, 6]], [])
    """
    if not parts:
        return np.ascontiguousarray(empty.T) if transpose else empty
    total = sum(len(part) for part in parts)
    shape = (*parts[0].shape[1:], total) if transpose else (total, *parts[0].shape[1:])
    out = np.empty(shape, dtype=parts[0].dtype)
    parts.reverse()
    at = 0
    while parts:
        part = parts.pop()
        if transpose:
            out[..., at : at + len(part)] = part.T
        else:
            out[at : at + len(part)] = part
        at += len(part)
    if out.nbytes >= _TRIM_BYTES:
        release_memory()
    return out


def ingest_corpus(
    root: Path,
    cfg: DedupConfig,
    stats: RunStats,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
    exclude: Iterable[Path] = (),
) -> Corpus:
    """Read every file under ``root`` into a :class:`Corpus` (workers in parallel, results in order),
    but those in ``exclude`` (see :func:`~dedup.ingest.discover_files`).

    Raises:
        InputError: ``root`` is not a readable directory.
    """
    if not root.is_dir():
        raise InputError(f"input folder not found: {root}")

    def batches(hook: SkipHook) -> Iterator[DigestBatch]:
        paths, _ = list_folder(root, exclude, stats, hook)
        return iter_batches(root, paths, cfg, stats, hook, on_progress)

    return _read_corpus(batches, cfg, stats, on_skip)


def _read_corpus(
    batches: Callable[[SkipHook], Iterable[DigestBatch]], cfg: DedupConfig, stats: RunStats, on_skip: SkipHook
) -> Corpus:
    """The corpus of the digest batches ``batches(hook)`` gives (folded in as they arrive, never all
    held at once), with every skip that ``hook`` saw on the way (``Corpus.skips``)."""
    skips: list[Skip] = []
    corpus = build_corpus(batches(collecting(on_skip, skips)), cfg, stats)
    corpus.skips = sorted_skips(skips)
    return corpus


def collecting(on_skip: SkipHook, into: list[Skip]) -> SkipHook:
    """``on_skip`` that also appends each skip to ``into``."""

    def hook(skip: Skip) -> None:
        into.append(skip)
        on_skip(skip)

    return hook


def sorted_skips(skips: Iterable[Skip]) -> list[Skip]:
    """Skips in the order ``skipped.csv`` lists them: by path, then reason and detail."""
    return sorted(skips, key=lambda s: (s.path, s.reason, s.detail))


def list_folder(
    root: Path, exclude: Iterable[Path], stats: RunStats, on_skip: SkipHook
) -> tuple[list[str], list[Skip]]:
    """The files of a local folder to read (:func:`~dedup.ingest.discover_files`), and the folders
    and other entries that could not be listed or read. Those, and the files whose names are not
    UTF-8 (:func:`~dedup.ingest.bad_names`), are skips, counted and reported here; every name
    counts in ``stats.files_seen``."""
    unreadable: list[Skip] = []
    paths, bad = bad_names(discover_files(root, exclude, unreadable))
    stats.files_seen = len(paths) + len(bad)
    for skip in [*unreadable, *bad]:
        _count_skip(skip, stats, on_skip, None)
    return paths, unreadable


def ingest_uri(
    uri: str,
    cfg: DedupConfig,
    stats: RunStats,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
) -> Corpus:
    """:func:`ingest_corpus` for a folder on a Hadoop file system (``hdfs://``, ``s3a://``,
    ``file://`` ...), listed and read by Spark (:func:`dedup.engines.spark.map_uri_files`).

    Raises:
        ConfigError: the engine is not Spark.
        DedupError: the folder cannot be listed, or Spark failed.
    """
    if cfg.engine is not Engine.SPARK:
        raise ConfigError(f"{uri} is not a local folder: reading it needs --engine spark")
    return _read_corpus(lambda hook: iter_uri_batches(uri, cfg, stats, hook, on_progress), cfg, stats, on_skip)


def iter_uri_batches(
    uri: str | UriFolder,
    cfg: DedupConfig,
    stats: RunStats,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
    only: Sequence[str] | None = None,
    skips_out: list[Skip] | None = None,
    hashes_out: dict[str, str] | None = None,
) -> Iterator[DigestBatch]:
    """:func:`iter_batches` for the files under a Hadoop file system URI, listed (unless ``uri`` is
    the folder Spark listed already) and read by Spark; ``only``: just these (relative paths), else
    every file listed (``stats.files_seen``). ``hashes_out`` gets the SHA-1 of every file read."""
    from dedup.engines.spark import map_uri_files

    limit = cfg.ingest.max_file_bytes
    listing: list[tuple[str, int, int]] = []
    task = functools.partial(digest_file_bytes, cfg=cfg)
    try:
        results = map_uri_files(uri, task, limit, listing, cfg.spark_master, _FILES_PER_TASK, only)
        first = next(results, None)  # Spark lists the folder first
        chosen = None if only is None else set(only)
        wanted = listing if chosen is None else [f for f in listing if f[0] in chosen]
        if only is None:
            stats.files_seen = len(listing)
        on_progress("read", 0, len(wanted))
        for rel, size, _ in wanted:  # not read: a local run skips them too, with the same reasons
            if size > limit:
                skip = unsupported(rel) or Skip(rel, REASON_TOO_LARGE, f"{size} bytes > limit {limit}")
                _count_skip(skip, stats, on_skip, skips_out)
                on_progress("read", 1, None)
        batches = itertools.chain([first] if first is not None else [], results)
        yield from _digests_of(batches, stats, on_skip, on_progress, skips_out, hashes_out)
    finally:
        _MEMOS.clear()


def _digests_of(
    results: Iterable[_BatchResult],
    stats: RunStats,
    on_skip: SkipHook,
    on_progress: ProgressHook,
    skips_out: list[Skip] | None = None,
    hashes_out: dict[str, str] | None = None,
    limit: int = 0,
) -> Iterator[DigestBatch]:
    """The digests of the read workers' results, counting their files and skips as they pass
    (and collecting the files' hashes into ``hashes_out``, where the results have them); the
    parts of a file made one (``limit``: ``--max-file-mb`` in bytes, see :func:`_whole_files`)."""
    for result in _whole_files(results, limit):
        stats.files_read += result.files_read
        if hashes_out is not None:
            hashes_out.update(result.hashes)
        for skip in result.skips:
            _count_skip(skip, stats, on_skip, skips_out)
        yield result.digests
        on_progress("read", result.files, None)


def _whole_files(results: Iterable[_BatchResult], limit: int) -> Iterator[_BatchResult]:
    """The results, those of the parts of a file (in order) made what reading the whole file
    gives (``limit``: ``--max-file-mb`` in bytes):

    - a record whose id a record of an earlier part took is a ``duplicate_id`` (an article there
      is dropped, with its skip if it had no words; another skip is replaced);
    - the parts of a Parquet file are kept until its last one: a whole read skips the file when
      any row group is damaged, or when its text is larger than ``limit`` altogether.
    """
    taken: dict[str, set[str]] = {}
    held: dict[str, list[_BatchResult]] = {}
    for result in results:
        rel = result.part_of
        if rel is None:
            yield result
            continue
        parts = [result]
        if result.whole_checks:
            held.setdefault(rel, []).append(result)
            if not result.files:
                continue
            parts = _settled(held.pop(rel), limit)
        for part in parts:
            yield _ids_taken_before(part, taken.setdefault(rel, set()))
        if result.files:  # the file's last part
            del taken[rel]


def _settled(parts: list[_BatchResult], limit: int) -> list[_BatchResult]:
    """The parts of a Parquet file as they are, or one result holding the skip of the whole file
    (the first part's that has one, or ``too_large`` for the parts' text together)."""
    rel = parts[0].part_of
    skip = next((s for part in parts for s in part.skips if s.path == rel), None)
    size = sum(part.text_bytes or 0 for part in parts)
    if skip is None and size > limit:
        skip = Skip(rel or "", REASON_TOO_LARGE, f"{size} bytes > limit {limit}")
    if skip is None:
        return parts
    last = parts[-1]
    return [dataclasses.replace(last, files_read=0, skips=(skip,), digests=last.digests.select([]), outcomes=())]


def _ids_taken_before(result: _BatchResult, ids: set[str]) -> _BatchResult:
    """A part's result with the ids that earlier parts of its file took (``ids``, which it
    extends) made duplicates."""
    rel = result.part_of or ""
    skips = list(result.skips)
    dropped: dict[str, Skip] = {}
    for position, rid, at in result.outcomes:
        if rid not in ids:
            if at < 0:
                ids.add(rid)
        elif at >= 0:
            skips[at] = duplicate_id(rel, position, rid)
        else:
            dropped[f"{rel}#{rid}"] = duplicate_id(rel, position, rid)
    digests = result.digests
    if dropped:
        skips = [s for s in skips if not (s.path in dropped and s.reason == REASON_EMPTY)]
        skips.extend(dropped.values())
        digests = digests.select([k for k, aid in enumerate(digests.ids) if aid not in dropped])
    return dataclasses.replace(result, skips=tuple(skips), digests=digests, outcomes=())


def _count_skip(skip: Skip, stats: RunStats, on_skip: SkipHook, skips_out: list[Skip] | None) -> None:
    stats.add_skip(skip.reason)
    on_skip(skip)
    if skips_out is not None:
        skips_out.append(skip)


def _import_later_stages() -> None:
    """Import what only the later stages use (SciPy's sparse matrices: 0.11 s of a 0.35 s start)
    while the read workers run: reading does not need it, and each worker forked later has it."""
    import scipy.sparse  # noqa: F401


def iter_batches(
    root: Path,
    paths: Sequence[str],
    cfg: DedupConfig,
    stats: RunStats,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
    skips_out: list[Skip] | None = None,
) -> Iterator[DigestBatch]:
    """Read and fingerprint the given files with the run's workers (or on Spark, ``cfg.engine``); digest
    batches stream out in path order."""
    on_progress("read", 0, len(paths))
    try:
        if cfg.engine is Engine.SPARK:
            from dedup.engines.spark import map_ordered_spark

            # Executors may run in another folder: they get the root's absolute path.
            tasks = map_ordered_spark(digest_files, _iter_batches(root.resolve(), paths, cfg), cfg.spark_master)
        else:
            tasks = map_ordered(
                digest_files,
                _iter_batches(root, paths, cfg),
                cfg.workers,
                meanwhile=_import_later_stages,
                initializer=keep_freed_heap,
            )
        yield from _digests_of(tasks, stats, on_skip, on_progress, skips_out, limit=cfg.ingest.max_file_bytes)
    finally:
        _MEMOS.clear()  # a one-worker run kept them in this process: free them with the stage


def _stack_in_order(
    parts: list[np.ndarray], order: np.ndarray, empty_shape: tuple[int, int], dtype: type
) -> np.ndarray:
    """The rows of the parts end to end, put in ``order`` (row ``i`` of the result is row
    ``order[i]`` of the parts), *emptying* ``parts`` like :func:`_stack`.

    >>> _stack_in_order([np.array([[1], [2]]), np.array([[3]])], np.array([2, 0, 1]), (0, 1), np.int64).ravel().tolist()
    [3, 1, 2]
    """
    if not parts:
        return np.empty(empty_shape, dtype=dtype)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    out = np.empty((len(order), *parts[0].shape[1:]), dtype=parts[0].dtype)
    parts.reverse()
    at = 0
    while parts:
        part = parts.pop()
        out[position[at : at + len(part)]] = part
        at += len(part)
    release_memory()  # the parts' chunks, freed one by one, stay in the heap otherwise
    return out


def build_corpus(batches: Iterable[DigestBatch], cfg: DedupConfig, stats: RunStats, samples: bool = True) -> Corpus:
    """Assemble the in-memory corpus from digest batches (distinct texts shared).

    Distinct paragraphs and sentences are numbered in arrival order, articles are then put in id
    order; no result depends on the arrival order (a nightly run brings stored articles first).
    Distinct paragraphs are told apart by their 64-bit content keys, like sentences (and like the
    verification cache). Each batch is folded in with a few numpy calls; only the repeats of
    paragraphs already met take a Python step each (which article's sample to show).
    ``samples=False`` (no report will show them) leaves ``samples`` empty and skips that step.
    """
    corpus = Corpus(
        sig_rows=SpilledRows(cfg.lsh.num_perm, np.uint32), sentence_bands=SpilledRows(cfg.lsh.band_count, np.uint64)
    )
    uid_of: dict[int, int] = {}
    sid_of = _KeyIds()
    sample_source: list[str] = []
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    spilled = {"shingles": SpilledArray(np.uint32), "sentence_shingles": SpilledArray(np.uint32)}
    with _no_gc():
        for batch in batches:
            corpus.ids.extend(batch.ids)
            corpus.chars.extend(batch.chars)
            corpus.short_segments.extend(batch.short_segments)
            offset = len(corpus.occ_uid)
            corpus.occ_index.extend(batch.indices)
            corpus.occ_chars.extend(batch.lengths)
            corpus.occ_start.extend((batch.para_start[1:] + offset).tolist())
            if not len(batch.norms):
                continue
            article_of = np.repeat(np.arange(len(batch.ids)), np.diff(batch.para_start))
            # A plain dict here, _KeyIds for sentences (see _number_new): most paragraphs are new and
            # met once, where a dict of ints is the fastest (loading 100k articles: 9.4 s, 10.0 s with
            # _KeyIds); for sentences a dict was no faster and held 60 MB more at that size.
            before = len(uid_of)
            uids = np.array([uid_of.setdefault(key, len(uid_of)) for key in batch.para_keys.tolist()], dtype=np.int64)
            new_rows = np.flatnonzero(uids >= before)
            new_rows = new_rows[np.unique(uids[new_rows], return_index=True)[1]]  # first appearances, in order
            new_list = new_rows.tolist()
            corpus.norms.extend([batch.norms[k] for k in new_list])
            if samples:
                corpus.samples.extend([batch.samples[k] for k in new_list])
                sample_source.extend([batch.ids[a] for a in article_of[new_rows].tolist()])
                repeat = np.ones(len(uids), dtype=bool)
                repeat[new_rows] = False
                rows = np.flatnonzero(repeat)
                for k, uid, a in zip(rows.tolist(), uids[rows].tolist(), article_of[rows].tolist(), strict=True):
                    # The sample shown for a text comes from its first article by id, whatever the
                    # order the articles arrived in (a nightly run brings them in another order).
                    if batch.ids[a] < sample_source[uid]:
                        corpus.samples[uid], sample_source[uid] = batch.samples[k], batch.ids[a]
            corpus.occ_uid.frombytes(uids.astype(np.int64).tobytes())
            if len(new_rows):
                _add_paragraphs(corpus, parts, spilled, sid_of, batch, new_rows)
    del uid_of, sid_of, sample_source  # 20 MB at 102 MB of articles: gone before the arrays are stacked
    no_counts, no_keys = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    corpus.para_keys = _stack(parts.pop("para_keys", []), no_keys)
    # The low bytes go straight to their rows in text-key order, the order candidate generation
    # pairs paragraphs in (see Corpus): no second copy to reorder.
    corpus.low_bytes = _stack_in_order(
        parts.pop("low_bytes", []), stable_argsort(corpus.para_keys), (0, cfg.lsh.num_perm), np.uint8
    )
    wanted = {
        "shingle_counts": (no_counts, False),
        "sentence_shingle_counts": (no_counts, False),
        "sentences": (no_counts, False),
        "sentence_ids": (no_counts, False),
        "sentence_keys": (no_keys, False),
    }
    # Two threads stack the arrays: NumPy copies without holding the interpreter lock (loading a
    # 101k-article store: 0.83 s alone, 0.61 s in two threads, for 20 MB more at the peak; 0.16 and
    # 0.10 s at the end of a 102 MB scan's read stage).
    # The spilled rows are rewritten row by row beside them, before any worker forks.
    assert isinstance(corpus.sig_rows, SpilledRows)
    assert isinstance(corpus.sentence_bands, SpilledRows)
    with ThreadPoolExecutor(min(2, max(1, cfg.workers))) as pool:
        finished = [pool.submit(corpus.sig_rows.finish), pool.submit(corpus.sentence_bands.finish)]
        futures = {name: pool.submit(_stack, parts[name], empty, tr) for name, (empty, tr) in wanted.items()}
        # The paragraphs' shingle sets waited in a temporary file while the workers read (44 MB
        # at 102 MB): they come back as one array, with no parts to concatenate. The sentences'
        # stay there: verification reads those of the pairs that may earn partial credit.
        futures["shingles"] = pool.submit(spilled["shingles"].to_array)
        spilled["sentence_shingles"].flush()
        stacked = {name: future.result() for name, future in futures.items()}
        for future in finished:
            future.result()
    corpus.shingles = stacked["shingles"]
    corpus.shingle_start = np.concatenate(([0], np.cumsum(stacked["shingle_counts"])))
    corpus.psent_shingles = spilled["sentence_shingles"]
    corpus.psent_shingle_start = np.concatenate(([0], np.cumsum(stacked["sentence_shingle_counts"])))
    per_uid = stacked["sentences"]
    corpus.psent_start = np.concatenate(([0], np.cumsum(per_uid)))
    corpus.psent_sid = stacked["sentence_ids"]
    corpus.sentence_keys = stacked["sentence_keys"]
    del stacked
    n_sentences = corpus.sentence_bands.shape[1]
    # Owners of each distinct sentence: the distinct paragraphs holding it, ascending.
    slot_uid = np.repeat(np.arange(len(per_uid), dtype=np.int64), per_uid)
    codes = sorted_unique(corpus.psent_sid * max(len(per_uid), 1) + slot_uid)
    owner_sid = codes // max(len(per_uid), 1)
    corpus.owner_uid = codes % max(len(per_uid), 1)
    corpus.owner_start = np.searchsorted(owner_sid, np.arange(n_sentences + 1)).astype(np.int64)
    _sort_articles(corpus)
    stats.articles = len(corpus.ids)
    stats.paragraphs = len(corpus.occ_uid)
    stats.short_segments = sum(corpus.short_segments)
    stats.unique_paragraphs = len(corpus.norms)
    stats.unique_sentences = n_sentences
    release_memory()  # the batches' buffers, freed piecemeal, stay in the heap otherwise
    return corpus


class _KeyIds:
    """Ids of distinct 64-bit keys, numbered in order of arrival, looked up a whole array at a time.

    Sorted runs of ``(key, id)``, merged like a binary counter (a run is merged into the one before
    while it is at least half its size), so there are about log2(n) runs and each key is re-sorted
    about log2(n) times: a few vectorised calls per batch instead of a dict lookup per key.

    >>> ids = _KeyIds()
    >>> ids.add(np.array([7, 3], dtype=np.uint64)).tolist(), ids.add(np.array([5], dtype=np.uint64)).tolist()
    ([0, 1], [2])
    >>> ids.lookup(np.array([5, 4, 7], dtype=np.uint64)).tolist(), len(ids)
    ([2, -1, 0], 3)
    """

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The id of each key, -1 for keys never added."""
        out = np.full(len(keys), -1, dtype=np.int64)
        for run_keys, run_ids in self.runs:
            pos = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[pos] == keys
            out[hit] = run_ids[pos[hit]]
        return out

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Number new distinct keys (none added before) in the given order; returns their ids."""
        ids = np.arange(self.count, self.count + len(keys), dtype=np.int64)
        self.count += len(keys)
        if len(keys):
            order = np.argsort(keys)
            self.runs.append((keys[order], ids[order]))
        while len(self.runs) > 1 and 2 * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (later_keys, later_ids), (keys_, ids_) = self.runs.pop(), self.runs.pop()
            merged = np.concatenate((keys_, later_keys))
            order = np.argsort(merged)
            self.runs.append((merged[order], np.concatenate((ids_, later_ids))[order]))
        return ids


def _number_new(ids: _KeyIds, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The id of each key, numbering the keys never met in order of first appearance, and the
    positions of those first appearances (in order).

    >>> ids = _KeyIds()
    >>> [x.tolist() for x in _number_new(ids, np.array([9, 4, 9], dtype=np.uint64))]
    [[0, 1, 0], [0, 1]]
    >>> [x.tolist() for x in _number_new(ids, np.array([5, 4, 5, 7], dtype=np.uint64))]
    [[2, 1, 2, 3], [0, 3]]
    """
    distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    known = ids.lookup(distinct)
    fresh = np.flatnonzero(known < 0)
    fresh = fresh[np.argsort(first[fresh], kind="stable")]  # in order of first appearance
    known[fresh] = ids.add(distinct[fresh])
    return known[inverse.reshape(-1)], first[fresh]


def _add_paragraphs(
    corpus: Corpus,
    parts: dict[str, list[np.ndarray]],
    spilled: dict[str, SpilledArray],
    sid_of: _KeyIds,
    batch: DigestBatch,
    rows: np.ndarray,
) -> None:
    """Collect the fingerprint rows of a batch's paragraphs that are new to the corpus (``rows``,
    ascending); their signatures and new sentences' band keys go to the corpus' spilled rows,
    their shingle sets to ``spilled``.
    Shingles are picked with boolean masks (a byte per shingle, where an index array takes
    eight), and a batch whose paragraphs are all new gives its arrays as they are."""
    assert isinstance(corpus.sig_rows, SpilledRows)
    assert isinstance(corpus.sentence_bands, SpilledRows)
    fp = batch.fingerprints
    every = len(rows) == len(batch.para_keys)
    picked = np.zeros(len(batch.para_keys), dtype=bool)
    picked[rows] = True
    sentence_counts = np.diff(fp.sentence_start)
    in_sentences = np.repeat(picked, sentence_counts)
    sentences = np.flatnonzero(in_sentences)

    def pick(values: np.ndarray, mask: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
        if every:
            return values
        return values[mask if starts is None else np.repeat(mask, np.diff(starts))]

    sigs = pick(fp.paragraph_sigs, picked)
    corpus.sig_rows.append(sigs)
    parts["low_bytes"].append(sigs.astype(np.uint8))
    parts["para_keys"].append(pick(batch.para_keys, picked))
    spilled["shingles"].add(pick(fp.shingles, picked, fp.shingle_start))
    parts["shingle_counts"].append(np.diff(fp.shingle_start)[rows])
    parts["sentences"].append(sentence_counts[rows])
    spilled["sentence_shingles"].add(pick(fp.sentence_shingles, in_sentences, fp.sentence_shingle_start))
    parts["sentence_shingle_counts"].append(np.diff(fp.sentence_shingle_start)[sentences])
    # Distinct sentences by key, numbered by first arrival; band keys are kept once per sentence.
    # Only the batch's distinct keys are looked up (one vectorised np.unique per batch).
    sentence_ids, new_sentences = _number_new(sid_of, batch.sentence_keys[sentences])
    parts["sentence_ids"].append(sentence_ids)
    corpus.sentence_bands.append(batch.bands_of(sentences[new_sentences]))
    parts["sentence_keys"].append(batch.sentence_keys[sentences[new_sentences]])


# --------------------------------------------------------------------------- paragraph pairs


@dataclass(frozen=True, slots=True)
class ParagraphEdges:
    """Verified pairs of distinct paragraph texts (``a < b``).

    ``full`` pairs passed rapidfuzz (``score >= min_similarity``): they are the same paragraph. The
    others are *partial*: one paragraph's shingles are largely contained in the other's (a revised or
    extended paragraph, or one built from sentences of the other); they give partial credit.
    """

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    shared: np.ndarray
    full: np.ndarray
    credit_a: tuple[np.ndarray | None, ...] = ()
    credit_b: tuple[np.ndarray | None, ...] = ()


def _sentence_pairs(corpus: Corpus, cfg: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """Paragraph pairs that share an identical sentence or an LSH-similar one, and the template mask.

    A sentence whose *spread* — the distinct paragraphs holding it or a near-identical sentence —
    exceeds ``lsh.max_sentence_spread`` is a template sentence and nominates nothing: it would pair
    every paragraph written from the template, and earns no partial credit. A band bucket larger
    than that is not paired: its members are templates (each has more near-identical sentences than
    the cap), so a sentence only ever becomes a template as articles are added, never stops being one.

    Returns:
        ``(pairs, template)``: candidate paragraph pairs, and a boolean per distinct sentence.
    """
    owners = corpus.sentence_owners
    n_owners = np.diff(corpus.owner_start)
    if cfg.lsh.max_bucket_neighbors + 1 >= cfg.lsh.max_sentence_spread:
        ok, similar = _similar_sentences_by_bounds(corpus.sentence_bands, n_owners, cfg.lsh.max_sentence_spread)
    else:
        ok, similar = _similar_sentences(corpus, cfg)
    pairs: list[tuple[int, int]] = []
    for sid in np.flatnonzero(ok & (n_owners > 1)).tolist():
        uids = owners(sid)
        pairs.extend((a, b) for i, a in enumerate(uids) for b in uids[i + 1 :])
    for s, t in similar.tolist():
        pairs.extend((a, b) if a < b else (b, a) for a in owners(s) for b in owners(t) if a != b)
    return np.array(pairs, dtype=np.int64).reshape(-1, 2), ~ok


def _similar_sentences(corpus: Corpus, cfg: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(ok, similar)``: which sentences are not templates, and the LSH-similar pairs of those.

    Every similar pair is made (band buckets up to the spread cap, windowed by
    ``max_bucket_neighbors``), and each sentence's spread summed over its distinct partners.
    """
    cap = cfg.lsh.max_sentence_spread
    n_owners = np.diff(corpus.owner_start)
    similar = candidate_pairs_from_keys(corpus.sentence_bands, cfg.lsh, max_bucket=cap, order_by=corpus.sentence_keys)
    spread = n_owners.copy()
    if len(similar):
        np.add.at(spread, similar[:, 0], n_owners[similar[:, 1]])
        np.add.at(spread, similar[:, 1], n_owners[similar[:, 0]])
    crowded = np.zeros(len(n_owners), dtype=bool)  # in a bucket too large to pair: a template
    for band in corpus.sentence_bands:
        order, lengths = _buckets(band)
        crowded[order[np.repeat(lengths > cap, lengths)]] = True
    ok = (spread <= cap) & ~crowded
    return ok, similar[ok[similar[:, 0]] & ok[similar[:, 1]]]


def _buckets(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The items of one band bucket by bucket (an argsort of their keys), and each bucket's size.

    >>> order, lengths = _buckets(np.array([7, 3, 7, 7], dtype=np.uint64))
    >>> lengths.tolist(), order[0].item(), sorted(order[1:].tolist())
    ([1, 3], 1, [0, 2, 3])
    """
    order = np.argsort(band)
    sorted_keys = band[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return order, np.diff(np.append(starts, len(band)))


def _similar_sentences_by_bounds(keys: np.ndarray, n_owners: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_similar_sentences` when every bucket up to the cap is paired in full (the window is
    at least ``cap - 1``), without making every similar pair.

    A sentence's spread lies between its owners plus the most owners its partners bring in one
    band (lower bound) and plus their sum over all bands (upper bound, partners found in several
    bands counted several times). Most sentences are decided by the bounds (on the generated
    92 MB corpus 228k of 268k; the exact way makes 9.9M band pairs for them); only the others
    have their distinct partners summed. Pairs are then made among the sentences that are not
    templates.
    """
    n = keys.shape[1]
    if n == 0:
        return np.zeros(0, dtype=bool), np.empty((0, 2), dtype=np.int64)
    lower = np.zeros(n, dtype=np.int64)
    upper = np.zeros(n, dtype=np.int64)
    crowded = np.zeros(n, dtype=bool)  # in a bucket too large to pair: a template
    bands: list[tuple[np.ndarray, np.ndarray]] = []  # members of small buckets, grouped; bucket of each
    for band in range(len(keys)):
        order, lengths = _buckets(keys[band])
        small = (lengths >= 2) & (lengths <= cap)
        crowded[order[np.repeat(lengths > cap, lengths)]] = True
        ids = order[np.repeat(small, lengths)]
        run_lengths = lengths[small]
        if not len(ids):
            continue
        run_starts = np.concatenate(([0], np.cumsum(run_lengths)[:-1]))
        brought = np.repeat(np.add.reduceat(n_owners[ids], run_starts), run_lengths) - n_owners[ids]
        lower[ids] = np.maximum(lower[ids], brought)  # a sentence is in one bucket per band
        upper[ids] += brought
        # Kept as int32 for the second pass (24 bands of int64 held 110 MB at 102 MB of text).
        bands.append((ids.astype(np.int32), np.repeat(np.arange(len(run_lengths), dtype=np.int32), run_lengths)))
    ok = (n_owners + upper <= cap) & ~crowded
    undecided = np.flatnonzero(~ok & ~crowded & (n_owners + lower <= cap))
    if len(undecided):
        is_undecided = np.zeros(n, dtype=bool)
        is_undecided[undecided] = True
        directed = []
        for ids, run in bands:
            pairs = _pairs_in_runs(ids, run, is_undecided, both=False)
            directed += [pairs[is_undecided[pairs[:, 0]]], pairs[is_undecided[pairs[:, 1]]][:, ::-1]]
        codes = sorted_unique(np.concatenate([d[:, 0] * n + d[:, 1] for d in directed]))
        spread = n_owners + np.bincount(codes // n, weights=n_owners[codes % n], minlength=n).astype(np.int64)
        ok[undecided] = spread[undecided] <= cap
    codes = [p[:, 0] * n + p[:, 1] for ids, run in bands if len(p := _pairs_in_runs(ids, run, ok, both=True))]
    unique = sorted_unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return ok, np.stack((unique // n, unique % n), axis=1)


def _pairs_in_runs(ids: np.ndarray, run: np.ndarray, wanted: np.ndarray, both: bool) -> np.ndarray:
    """Every pair ``(min, max)`` of items of one run (``ids`` grouped by ``run``, runs ascending):
    pairs of ``wanted`` items only (``both``), or every pair of the runs that hold a wanted item."""
    keep = wanted[ids]
    if not both:
        holds = np.zeros(int(run[-1]) + 1, dtype=bool)
        holds[run[keep]] = True
        keep = holds[run]
    ids, run = ids[keep].astype(np.int64), run[keep]
    local = bucket_pairs(run.astype(np.uint64), max_neighbors=max(len(run), 1))  # a run is one bucket
    a, b = ids[local[:, 0]], ids[local[:, 1]]
    return np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1)


def _unique_pairs(parts: list[np.ndarray], n: int) -> np.ndarray:
    """Sorted distinct ``(a, b)`` rows with ``a != b`` from several ``(k, 2)`` arrays (a < b in each)."""
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    codes = sorted_unique(np.concatenate([p[:, 0] * n + p[:, 1] for p in parts]))
    pairs = np.stack((codes // n, codes % n), axis=1)
    return pairs[pairs[:, 0] != pairs[:, 1]]


def _incidence(flat: np.ndarray, starts: np.ndarray) -> sparse.csr_matrix:
    """Binary CSR matrix: row ``i`` has a 1 in column ``h`` for each hash ``h`` in ``flat[starts[i]:starts[i+1]]``.

    The hashes are the column indices themselves (no renumbering); each row's hashes are sorted and
    distinct, so the matrix is in canonical form and row products merge sorted index lists.
    """
    from scipy import sparse  # imported while the first files are read (see iter_batches)

    # One byte per entry: products of ones are ones, and scipy sums int8 rows into int64.
    data = np.ones(len(flat), dtype=np.int8)
    return sparse.csr_matrix((data, flat.astype(np.int64), starts), shape=(len(starts) - 1, 1 << 32))


def _row_dots(left: sparse.csr_matrix, rows_l: np.ndarray, right: sparse.csr_matrix, rows_r: np.ndarray) -> np.ndarray:
    """``left[rows_l[i]] · right[rows_r[i]]`` for every i: shared hashes of each pair of rows."""
    if not len(rows_l):
        return np.zeros(0, dtype=np.int64)
    product = left[rows_l].multiply(right[rows_r])
    return np.asarray(product.sum(axis=1)).ravel().astype(np.int64)


def _in_runs(mask: np.ndarray, group: np.ndarray, singles: np.ndarray) -> np.ndarray:
    """Keep True values with a True neighbour in the same group, or alone in a one-item group.

    >>> mask, group = np.array([1, 0, 1, 1, 1, 1], bool), np.array([0, 0, 0, 0, 1, 2])
    >>> _in_runs(mask, group, np.array([0, 0, 0, 0, 1, 1], bool)).tolist()
    [False, False, True, True, True, True]
    """
    prev = np.zeros(len(mask), dtype=bool)
    nxt = np.zeros(len(mask), dtype=bool)
    prev[1:] = mask[:-1] & (group[1:] == group[:-1])
    nxt[:-1] = mask[1:] & (group[1:] == group[:-1])
    return mask & (prev | nxt | singles)


def _ranges(flat: SpilledArray | np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``flat[starts[i]:stops[i]]`` end to end, from an array or a :class:`SpilledArray`."""
    if isinstance(flat, SpilledArray):
        return flat.gather(starts, stops)
    rows = np.arange(len(starts))
    return flat[gather_ranges(np.stack((starts, stops), axis=1).ravel(), 2 * rows)]


def _gathered(flat: SpilledArray | np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``flat[lo[i]:hi[i]]`` end to end, and the ``(len(lo) + 1,)`` offsets of the pieces.

    >>> _gathered(np.array([7, 8, 9]), np.array([2, 0]), np.array([3, 2]))
    (array([9, 7, 8]), array([0, 1, 3]))
    """
    return _ranges(flat, lo, hi), np.concatenate(([0], np.cumsum(hi - lo)))


class _ShingleIndex:
    """Sparse incidence matrices of paragraphs and of their sentences over the corpus' shingles.

    Only the paragraphs ``only`` (sorted, distinct; ``None``: all) have rows, numbered among
    themselves, and only the sentences of the paragraphs given to :meth:`index_sentences`: a
    verification chunk's index costs what its own paragraphs cost, never a pass over the whole
    corpus (with a row per paragraph and per sentence of the corpus, the 360 chunks of a 454 MB
    scan spent 24 s making empty rows).
    """

    def __init__(
        self,
        corpus: Corpus,
        template: np.ndarray | None = None,
        only: np.ndarray | None = None,
        sentences: bool = True,
    ) -> None:
        """``sentences=False``: no sentence is indexed until :meth:`index_sentences`."""
        self._corpus, self._template = corpus, template
        self._all = only is None
        self.rows = np.arange(len(corpus.shingle_start) - 1) if only is None else only
        starts = corpus.shingle_start
        self.paragraphs = _incidence(*_gathered(corpus.shingles, starts[self.rows], starts[self.rows + 1]))
        self.index_sentences(only if sentences else np.empty(0, dtype=np.int64))

    def _local(self, uids: np.ndarray) -> np.ndarray:
        return uids if self._all else np.searchsorted(self.rows, uids)

    def index_sentences(self, only: np.ndarray | None) -> None:
        """Index the sentences of these distinct paragraphs only (sorted, distinct; ``None``: all)."""
        corpus = self._corpus
        paras = np.arange(len(corpus.psent_start) - 1) if only is None else only
        counts = corpus.psent_start[paras + 1] - corpus.psent_start[paras]
        self._sentence_paras = paras
        self._sentence_base = np.concatenate(([0], np.cumsum(counts)))  # first row of each paragraph's
        sentence_rows = gather_ranges(corpus.psent_start, paras)
        lo, hi = corpus.psent_shingle_start[sentence_rows], corpus.psent_shingle_start[sentence_rows + 1]
        flat, starts = _gathered(corpus.psent_shingles, lo, hi)
        self.sentences = _incidence(flat, starts)
        self.sentence_sizes = hi - lo
        # Sentences that are templates (see _sentence_pairs) never earn credit.
        self.creditable = ~self._template[corpus.psent_sid[sentence_rows]] if self._template is not None else None

    def shared(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact shared-shingle counts of paragraph pairs."""
        return _row_dots(self.paragraphs, self._local(a), self.paragraphs, self._local(b))

    def sentence_credit(self, uids: np.ndarray, others: np.ndarray, bar: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-sentence credit of each ``uids[i]`` in ``others[i]``, flat, with ``(len(uids) + 1,)`` offsets.

        A sentence counts when at least ``bar`` of its shingles are in the other paragraph *and* it
        is part of a run of two or more consecutive such sentences (or is its paragraph's only
        sentence): copied or revised passages come in runs, while template sentences shared by
        unrelated articles match one at a time. ``uids`` must have their sentences indexed.
        """
        psent_start = self._corpus.psent_start
        counts = psent_start[uids + 1] - psent_start[uids]
        offsets = np.concatenate(([0], np.cumsum(counts)))
        pair_of = np.repeat(np.arange(len(uids)), counts)
        first = self._sentence_base[np.searchsorted(self._sentence_paras, uids)]
        rows = np.arange(offsets[-1]) - offsets[:-1][pair_of] + first[pair_of]
        found = _row_dots(self.sentences, rows, self.paragraphs, self._local(others)[pair_of])
        share = found / np.maximum(self.sentence_sizes[rows], 1)
        ok = share >= bar
        if self.creditable is not None:
            ok &= self.creditable[rows]
        counted = _in_runs(ok, pair_of, counts[pair_of] == 1)
        return np.where(counted, share, 0.0), offsets


def template_sentences(corpus: Corpus, cfg: DedupConfig) -> np.ndarray:
    """Boolean per distinct sentence: True for template sentences (see ``_sentence_pairs``)."""
    return _sentence_pairs(corpus, cfg)[1]


def _jaccard_at_least(corpus: Corpus, pairs: np.ndarray, bar: float, near: float) -> np.ndarray:
    """Boolean per paragraph pair: is its shingle Jaccard at least ``bar``?

    Decided on the MinHash estimate where that is clear: kept at an estimate of ``bar`` or more,
    dropped under ``near``; the pairs estimated in ``[near, bar)`` have their exact Jaccard counted.
    The estimate (:func:`signature_jaccard`) is counted a few permutations at a time over every
    pair, read from the spilled signature rows (no pair's signature is ever gathered whole).
    """
    width = corpus.sig_rows.shape[0]
    a, b = pairs[:, 0], pairs[:, 1]
    equal = np.zeros(len(pairs), dtype=np.uint8 if width < 256 else np.int64)  # a byte is faster to add
    for lo in range(0, width, _SIG_ROWS_PER_READ):
        rows = corpus.sig_rows[lo : lo + _SIG_ROWS_PER_READ]
        # The pairs a slice at a time, every row of the group over one slice: the slice's indices
        # stay in the CPU caches (9.7M pairs over all rows at once re-read 156 MB of indices per row).
        for p in range(0, len(pairs), _PAIRS_PER_PASS):
            a_p, b_p, equal_p = a[p : p + _PAIRS_PER_PASS], b[p : p + _PAIRS_PER_PASS], equal[p : p + _PAIRS_PER_PASS]
            for row in rows:
                np.add(equal_p, row[a_p] == row[b_p], out=equal_p, casting="unsafe")
    estimate = equal / np.float64(width)
    keep = estimate >= bar
    doubt = np.flatnonzero((estimate >= near) & ~keep)
    if len(doubt):
        keep[doubt] = _exact_jaccards(corpus, pairs[doubt]) >= bar
    return keep


def _exact_jaccards(corpus: Corpus, pairs: np.ndarray, chunk: int = 2_500) -> np.ndarray:
    """Shingle Jaccard of each paragraph pair, counted on the shingle sets.

    The pairs are counted a chunk at a time, each on an incidence matrix of its own paragraphs:
    one matrix of all the paragraphs of the pairs took 98 MB for the 106k pairs of a band task at
    102 MB (4.6M shingles, 21 bytes each in the matrix and its making), in each candidate worker,
    where chunks of 10k pairs take 36 MB, in the same time (0.14 s), and chunks of 2,500 pairs
    11 MB (105k pairs: 0.21-0.22 s with either).
    """
    sizes = corpus.shingle_counts
    out = np.zeros(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), chunk):
        a, b = pairs[lo : lo + chunk, 0], pairs[lo : lo + chunk, 1]
        only = sorted_unique(np.concatenate((a, b)))
        flat = corpus.shingles[gather_ranges(corpus.shingle_start, only)]
        index = _incidence(flat, np.concatenate(([0], np.cumsum(sizes[only]))))
        shared = _row_dots(index, np.searchsorted(only, a), index, np.searchsorted(only, b))
        union = sizes[a] + sizes[b] - shared
        out[lo : lo + chunk] = shared / np.maximum(union, 1)
    return out


def _near_bar(bar: float, width: int) -> float:
    """The estimate under which a pair's Jaccard is taken to be under ``bar``: one and a half
    standard errors of a ``width``-permutation estimate below it (a pair at exactly ``bar`` is
    estimated lower with a chance of about 7 %, one at ``bar + 0.02`` of about 3 %).

    >>> round(_near_bar(0.4, 128), 4)
    0.335
    """
    return max(0.0, bar - 1.5 * float(np.sqrt(bar * (1.0 - bar) / max(width, 1))))


def _min_equal(bar: float, width: int) -> int:
    """The fewest equal values out of ``width`` that give an estimate of at least ``bar``.

    >>> _min_equal(0.4, 128)
    52
    """
    return next(k for k in range(width + 1) if k / np.float64(width) >= bar) if bar <= 1 else width + 1


def _strong_band_pairs(
    corpus: Corpus,
    cfg: DedupConfig,
    bands: range | None = None,
    earlier: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Paragraph pairs proposed by the paragraph LSH bands whose shingle Jaccard is at least ``lsh.min_estimate``.

    Paragraph-LSH candidates only matter as possible full matches. Paragraphs written from one
    template share a quarter of their shingles, so the bands propose them in numbers that grow
    with the square of the corpus, and nearly none verifies: on a 23 MB generated corpus the pairs
    proposed by the bands alone with an estimate in [0.2, 0.4) were 163k candidates for 35 matches.
    On a 454 MB corpus the bands propose 80M pairs, 1.7M of them strong. They are filtered band by
    band, first on the low byte of each signature value (equal values have equal low bytes, so
    that estimate is an upper bound of the exact one and the filter never drops a strong pair),
    compared inside the band's buckets where the rows sit together; the few distinct survivors of
    all the bands are then compared in full, once each. A pair estimated less than 1.5 standard
    errors under the bar has its exact Jaccard counted (see :func:`_jaccard_at_least`): the bands
    find the reordered template siblings that verify at a Jaccard of 0.4-0.5, and the estimate's
    noise (0.043 at 0.4 with 128 permutations) used to drop some of them.

    Inside a bucket larger than the window, paragraphs are paired with their neighbours in
    content-key order (never arrival order, see :func:`build_corpus`). ``bands``: only these bands
    (the union over a split of the bands is the result for all of them). ``earlier``: ``(fresh,
    pairs)`` when only the ``fresh`` paragraphs were added since a run whose result was ``pairs``
    (see :func:`_earlier_band_pairs`): that result is brought up to date instead of made again.
    """
    bar = cfg.lsh.min_estimate
    width = corpus.sig_rows.shape[0]
    near = _near_bar(bar, width)
    keys = band_keys_of_rows(corpus.sig_rows, cfg.lsh, bands)
    keep = lambda pairs: _jaccard_at_least(corpus, pairs, bar, near)  # noqa: E731
    min_equal = _min_equal(near, width)
    low_bytes = corpus.low_bytes
    if earlier is None:
        return candidate_pairs_from_keys(
            keys,
            cfg.lsh,
            keep=keep,
            order_by=corpus.para_keys,
            rows=low_bytes,
            min_equal=min_equal,
            rows_in_order=True,
        )
    fresh, pairs = earlier
    return candidate_pairs_after_additions(
        keys, cfg.lsh, fresh, pairs, corpus.para_keys, low_bytes, min_equal, keep, rows_in_order=True
    )


def _band_params(cfg: DedupConfig) -> tuple[object, ...]:
    """What the strong band pairs depend on besides the paragraphs' fingerprints."""
    lsh = cfg.lsh
    return (CACHE_VERSION, "exact-near-bar", lsh.band_count, lsh.row_count, lsh.max_bucket_neighbors, lsh.min_estimate)


def _earlier_band_pairs(
    corpus: Corpus, cfg: DedupConfig, cache: VerifyCache | None, by_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(fresh, pairs)`` for :func:`_strong_band_pairs` when the cache's run had every paragraph of
    the corpus but a few new ones (a nightly run that added files), else ``None``.

    Paragraphs are matched by text key; a paragraph of that run that is gone (a file changed or
    removed), a key shared by two texts, other parameters, or more than an eighth of the paragraphs
    new, and everything is computed again (the same pairs, at the usual cost). ``by_key``: the
    paragraphs in text-key order.
    """
    if cache is None or cache.band_params != _band_params(cfg) or not len(cache.band_keys):
        return None
    if cache.band_pairs.dtype != np.int64 or cache.band_pairs.max(initial=0) >= len(cache.band_keys):
        return None  # not positions in band_keys (made by another version)
    keys, order = corpus.para_keys, by_key
    ordered = keys[order]
    if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
        return None
    known = cache.band_keys
    at = np.searchsorted(ordered, known)
    if at.max(initial=0) >= len(ordered) or (ordered[at] != known).any():
        return None
    uid_of = order[at]  # this run's number of each paragraph of that run
    fresh = np.ones(len(keys), dtype=bool)
    fresh[uid_of] = False
    if 8 * int(fresh.sum()) > len(keys):
        return None
    a, b = uid_of[cache.band_pairs[:, 0]], uid_of[cache.band_pairs[:, 1]]
    return fresh, np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1)


def _candidates_of(source: range | None) -> Any:
    """Worker task: the sentence-nominated pairs and template mask (``None``), or the strong
    band-only pairs of a range of bands."""
    corpus, cfg = _VERIFY_STATE["corpus"]
    with _no_gc():
        if source is None:
            found = _sentence_pairs(corpus, cfg)
        else:
            found = _strong_band_pairs(corpus, cfg, source, _VERIFY_STATE.get("earlier"))
    release_memory()  # the task's temporaries: a worker that takes the next task starts small again
    return found


def _candidate_tasks(cfg: DedupConfig) -> list[range | None]:
    """The paragraph bands in ``2 * workers - 1`` parts, the last one two thirds the size of the
    others (24 bands, two workers: 9, 9 and 6), then the sentence task (``None``).

    Workers take the tasks in this order. The bands take two to three and a half times as long as
    the sentences (a 454 MB scan: 13 s and 6 s; 102 MB: 1.7 and 0.5 s, where a part of 8 bands
    takes 0.55 s and one of 4 bands 0.34 s; a +1 % nightly run at 101k articles: 4.9 and 1.4 s).
    The smaller last part evens out the workers' ends: with equal parts of 8 bands, one worker
    of a 102 MB scan was left alone for 0.35 s at the end of the stage (stage 1.5 s, now 1.35 s).

    The sentence task comes last because a band task that follows it in the same worker reuses
    the malloc arena it left full of holes (see :func:`dedup.engines.local._in_own_arena`): at
    102 MB such a band task reached 485 MB resident against 439 MB first or after another band
    task, and the sentence task reaches 408-409 MB either way.
    """
    parts = min(cfg.lsh.band_count, max(1, 2 * cfg.workers - 1))
    weights = np.full(parts, 3.0)
    weights[-1] = 2.0 if parts > 1 else 3.0
    bounds = np.floor(np.concatenate(([0.0], np.cumsum(weights))) * cfg.lsh.band_count / weights.sum() + 1e-9)
    return [*(range(lo, hi) for lo, hi in itertools.pairwise(bounds.astype(int).tolist()) if hi > lo), None]


def verify_candidates(corpus: Corpus, cfg: DedupConfig, stats: RunStats, release: bool = False) -> ParagraphEdges:
    """Candidate pairs (paragraph LSH, sentence LSH, shared sentences), then verification.

    Each candidate gets its exact shared-shingle count (sparse row products, no Python loop per
    pair). rapidfuzz scores the pairs that could be the same paragraph (shingle Jaccard at least
    0.2); those at ``min_similarity`` are *full* matches. The others are *partial* when some
    sentences of one paragraph are mostly (``min_containment``) found in the other; they credit
    those sentences only. ``release``: the caller needs the corpus' candidate arrays no more
    (:meth:`Corpus.release_candidate_arrays` once the candidates are found).
    """
    with _no_gc():
        return _verify_candidates(corpus, cfg, stats, None, False, release)[0]


def verify_candidates_cached(
    corpus: Corpus,
    cfg: DedupConfig,
    stats: RunStats,
    cache: VerifyCache | None,
    release: bool = False,
    reports: bool = True,
) -> tuple[ParagraphEdges, VerifyCache]:
    """:func:`verify_candidates`, re-using the outcomes an earlier run kept (see :mod:`dedup.verify_cache`).

    ``reports=False``: the analysis will run with ``reports=False`` too, so a released corpus keeps
    no article signatures.

    Returns:
        The edges (equal to those of :func:`verify_candidates`) and the cache of this run's outcomes.
    """
    with _no_gc():
        edges, fresh_cache = _verify_candidates(corpus, cfg, stats, cache, True, release, reports)
    assert fresh_cache is not None
    return edges, fresh_cache


def _cache_params(cfg: DedupConfig) -> tuple[object, ...]:
    return (CACHE_VERSION, cfg.verify.min_similarity, cfg.verify.min_containment)


def _dirty_paragraphs(corpus: Corpus, template: np.ndarray, cache: VerifyCache) -> np.ndarray:
    """Boolean per distinct paragraph: one of its sentences is a template sentence now and was not
    when the cache was made, or the other way round."""
    dirty = np.zeros(len(corpus.norms), dtype=bool)
    keys, known = corpus.sentence_keys, cache.template_keys
    was = np.zeros(len(keys), dtype=bool)
    if len(known):
        was = known[np.minimum(search_sorted(known, keys), len(known) - 1)] == keys
    changed = was != template
    if changed.any():
        owner = np.repeat(np.arange(len(corpus.norms)), np.diff(corpus.psent_start))
        dirty[owner[changed[corpus.psent_sid]]] = True
    return dirty


def _verify_candidates(
    corpus: Corpus,
    cfg: DedupConfig,
    stats: RunStats,
    cache: VerifyCache | None,
    want_cache: bool,
    release: bool,
    reports: bool = True,
) -> tuple[ParagraphEdges, VerifyCache | None]:
    t0 = time.perf_counter()
    n = len(corpus.norms)
    if corpus.article_sigs is not None and corpus.sig_rows.shape[1] < n:
        raise ValueError("the corpus' candidate arrays were released: match a corpus once")
    # The candidate sources (sentences, and the paragraph bands in parts) are independent: with two
    # workers or more they run side by side in forked processes.
    _VERIFY_STATE["corpus"] = (corpus, cfg)
    by_key = np.argsort(corpus.para_keys) if want_cache else None
    _VERIFY_STATE["earlier"] = _earlier_band_pairs(corpus, cfg, cache, by_key) if by_key is not None else None
    try:
        # Meanwhile this process makes the articles' signatures that a release keeps (0.14 s at
        # 102 MB, read from the spilled rows; after the workers it lengthened the stage as much).
        article_sigs: list[np.ndarray] = []
        wanted = release and reports and corpus.article_sigs is None
        meanwhile = (lambda: article_sigs.append(corpus.signatures_of(np.arange(len(corpus.ids))))) if wanted else None
        *by_paragraph, (by_sentence, template) = map_forked(
            _candidates_of, _candidate_tasks(cfg), cfg.workers, meanwhile=meanwhile
        )
    finally:
        _VERIFY_STATE.clear()
    if release:  # before the verification workers fork: they and the analysis never read them
        corpus.release_candidate_arrays(keep_article_sigs=reports, article_sigs=(article_sigs or [None])[0])
    cand = _unique_pairs([*by_paragraph, by_sentence], n)
    strong = _unique_pairs(by_paragraph, n) if want_cache else cand[:0]
    stats.candidate_pairs = len(cand)
    stats.seconds["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    params = _cache_params(cfg)
    found, rows = np.zeros(len(cand), dtype=bool), np.zeros(len(cand), dtype=np.int64)
    ident = np.empty(0, dtype=np.uint64)
    if want_cache:
        ident = paragraph_identities(corpus.para_keys, corpus.psent_start, corpus.psent_sid, corpus.sentence_keys)
        if cache is not None and cache.params == params:
            found, rows = cache.lookup(ident, cand, _dirty_paragraphs(corpus, template, cache))
        stats.reused_candidate_pairs = int(found.sum())
    todo = np.flatnonzero(~found)
    # Chunks are verified in forked workers that share the corpus copy-on-write; results come
    # back in chunk order, so the edges are the same whatever the worker count. Each chunk indexes
    # the shingles of its own paragraphs only (see _verify_pairs), unless the pairs are many for
    # their paragraphs: then one index of those paragraphs, made here, serves every chunk (40,000
    # near-identical lines make 9.7M pairs, whose 1,950 chunks took 16 s with their own indexes,
    # 10 s with one).
    only = sorted_unique(cand[todo].ravel())
    shared_index = _ShingleIndex(corpus, template, only) if len(todo) > _PAIRS_PER_SHARED_INDEX * len(only) else None
    # Where each chunk indexes its own paragraphs, those several chunks hold have their words
    # sorted once, beforehand; with a shared index, each worker keeps the ones it sorted.
    presorted = _presorted_words(corpus, cand[todo], _VERIFY_CHUNK, cfg.workers) if shared_index is None else None
    _VERIFY_STATE["job"] = _VerifyJob(corpus, template, cand[todo], cfg, shared_index, *(presorted or (None, None)))
    chunks = [(lo, min(lo + _VERIFY_CHUNK, len(todo))) for lo in range(0, len(todo), _VERIFY_CHUNK)]
    try:
        results = list(map_forked(_verify_chunk, chunks, cfg.workers))
    finally:
        _VERIFY_STATE.clear()
    # The outcome of every candidate: from the cache, or from this run's verification.
    kept = np.zeros(len(cand), dtype=bool)
    score = np.zeros(len(cand))
    shared = np.zeros(len(cand), dtype=np.int64)
    full = np.zeros(len(cand), dtype=bool)
    credits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if found.any():
        assert cache is not None
        hit, hit_rows = np.flatnonzero(found), rows[found]
        kept[hit], score[hit] = cache.kept[hit_rows], cache.score[hit_rows]
        shared[hit], full[hit] = cache.shared[hit_rows], cache.full[hit_rows]
        partial_hit = cache.kept[hit_rows] & ~cache.full[hit_rows]
        for i, row in zip(hit[partial_hit].tolist(), hit_rows[partial_hit].tolist(), strict=True):
            lo_credit, hi_credit = cache.credits(row) or (np.empty(0), np.empty(0))
            swap = ident[cand[i, 0]] > ident[cand[i, 1]]
            credits[i] = (hi_credit, lo_credit) if swap else (lo_credit, hi_credit)
    for (lo, _), r in zip(chunks, results, strict=True):
        where = todo[lo + r.rows]
        kept[where], score[where], shared[where], full[where] = True, r.score, r.shared, r.full
        for j, k in enumerate(r.partial.tolist()):
            credits[int(where[k])] = (r.ca[r.off_a[j] : r.off_a[j + 1]], r.cb[r.off_b[j] : r.off_b[j + 1]])
    edge = np.flatnonzero(kept)
    # None (a full match) for every edge but the partial ones, which are few: no step per edge.
    credit_a: list[np.ndarray | None] = [None] * len(edge)
    credit_b: list[np.ndarray | None] = [None] * len(edge)
    for i, at in zip(credits, np.searchsorted(edge, list(credits)).tolist(), strict=True):
        credit_a[at], credit_b[at] = credits[i]
    edges = ParagraphEdges(
        cand[edge, 0], cand[edge, 1], score[edge], shared[edge], full[edge], tuple(credit_a), tuple(credit_b)
    )
    stats.verified_paragraph_pairs = int(edges.full.sum())
    stats.partial_paragraph_pairs = int(len(edges.full) - edges.full.sum())
    stats.seconds["verify"] = time.perf_counter() - t0
    fresh_cache = None
    if want_cache:
        outcome = (kept, score, shared, full, credits)
        assert by_key is not None
        position = np.empty(n, dtype=np.int64)
        position[by_key] = np.arange(n)
        bands = (_band_params(cfg), corpus.para_keys[by_key], position[strong])
        fresh_cache = build_cache(params, corpus.sentence_keys[template], ident, cand, *outcome, bands=bands)
    if release:
        corpus.release_verification_arrays()
    return edges, fresh_cache


@dataclass(frozen=True, slots=True)
class _VerifyJob:
    corpus: Corpus
    template: np.ndarray
    cand: np.ndarray
    cfg: DedupConfig
    index: _ShingleIndex | None = None  # one index for every chunk (else each chunk makes its own)
    # The sorted words of the paragraphs that several chunks need, made once (see
    # _presorted_words), and the row of each distinct paragraph's among them (-1: none).
    presorted: SpilledTexts | None = None
    presorted_row: np.ndarray | None = None
    # The sorted words of each distinct paragraph once made, per worker (None before): only with
    # a shared index, where the pairs are many for their paragraphs.
    sorted_cache: dict[str, np.ndarray] = field(default_factory=dict)

    def texts_and_tokens(self, uids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Object arrays of the given distinct paragraphs' texts and of their words in sorted order
        (for token_sort_ratio).

        With a shared index (the pairs many for their paragraphs: 40,000 near-identical lines,
        each in about 500 pairs) each worker keeps the sorted words it made; reading them from the
        pre-sorted file in every chunk instead made that case 2 s slower (25.6 s against 23.5 s).
        Otherwise they are read when :func:`_presorted_words` made them, else made here.
        """
        texts = _object_array(self.corpus.norms.take(uids))
        if self.index is not None:
            if "tokens" not in self.sorted_cache:
                self.sorted_cache["tokens"] = np.full(len(self.corpus.norms), None, dtype=object)
            cache = self.sorted_cache["tokens"]
            todo = np.flatnonzero(np.equal(cache[uids], None))
            if len(todo):
                cache[uids[todo]] = _object_array([sorted_tokens(text) for text in texts[todo].tolist()])
            return texts, cache[uids]
        if self.presorted is None or self.presorted_row is None:
            return texts, _object_array([sorted_tokens(text) for text in texts.tolist()])
        row = self.presorted_row[uids]
        tokens = np.empty(len(uids), dtype=object)
        ready = np.flatnonzero(row >= 0)
        tokens[ready] = self.presorted.take(row[ready])
        rest = np.flatnonzero(row < 0)
        tokens[rest] = [sorted_tokens(text) for text in texts[rest].tolist()]
        return texts, tokens


_WORD_SORTS_WORTH_A_STAGE = 50_000  # repeated word sorts from which a stage makes them once instead
_WORD_SORT_TASK = 20_000  # paragraphs per word-sorting task


def _presorted_words(
    corpus: Corpus, pairs: np.ndarray, chunk: int, workers: int
) -> tuple[SpilledTexts, np.ndarray] | None:
    """The sorted words (:func:`sorted_tokens`) of every paragraph that more than one verification
    chunk of ``pairs`` holds, made once each in forked workers, and each distinct paragraph's row
    among them (-1 for the others); ``None`` when fewer than ``_WORD_SORTS_WORTH_A_STAGE`` sorts
    would be repeated.

    A chunk sorts the words of its own paragraphs (9 us for a 470-character one), and a paragraph
    paired across many chunks was sorted in each: at 454 MB of generated articles the chunks made
    1.65M sorts for 614k paragraphs, 15.9 s of the workers' time. At 102 MB they made 135k for 108k,
    where a stage of its own does not pay.
    """
    n_chunks = -(-len(pairs) // chunk)
    if n_chunks < 2:
        return None
    slot = np.arange(len(pairs), dtype=np.int64) // chunk
    held = sorted_unique(np.concatenate((pairs[:, 0] * n_chunks + slot, pairs[:, 1] * n_chunks + slot)))
    uids, chunks_of = np.unique(held // n_chunks, return_counts=True)
    if int((chunks_of - 1).sum()) < _WORD_SORTS_WORTH_A_STAGE:
        return None
    shared = uids[chunks_of > 1]
    presorted = SpilledTexts()
    _VERIFY_STATE["sort"] = corpus
    try:
        parts = [shared[lo : lo + _WORD_SORT_TASK] for lo in range(0, len(shared), _WORD_SORT_TASK)]
        for words in map_forked(_sort_words, parts, workers):
            presorted.extend(words)
    finally:
        _VERIFY_STATE.clear()
    presorted.flush()  # before the verification workers fork
    row = np.full(len(corpus.norms), -1, dtype=np.int64)
    row[shared] = np.arange(len(shared))
    return presorted, row


def _sort_words(uids: np.ndarray) -> list[str]:
    """Worker task: the sorted words of the given distinct paragraphs."""
    corpus: Corpus = _VERIFY_STATE["sort"]
    return [sorted_tokens(text) for text in corpus.norms.take(uids)]


_VERIFY_STATE: dict[str, Any] = {}


def _object_array(items: list[str]) -> np.ndarray:
    """A 1-D object array of the items (``np.array`` would make a fixed-width string array)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


@dataclass(frozen=True, slots=True)
class _VerifiedChunk:
    """The kept pairs of one candidate chunk (``rows``: their positions in the chunk).

    ``partial[j]`` is the position among them of the j-th partial pair, whose per-sentence credits
    are ``ca[off_a[j]:off_a[j + 1]]`` and ``cb[off_b[j]:off_b[j + 1]]``.
    """

    rows: np.ndarray
    score: np.ndarray
    shared: np.ndarray
    full: np.ndarray
    partial: np.ndarray
    ca: np.ndarray
    off_a: np.ndarray
    cb: np.ndarray
    off_b: np.ndarray


def _verify_chunk(bounds: tuple[int, int]) -> _VerifiedChunk:
    """Verify candidates ``cand[lo:hi]`` of the current job (see :func:`verify_candidates`).

    Freed memory is handed back once 16 MB of it piles up: kept, each verification worker held
    104-112 MB of private pages at the end of the 102 MB benchmark's stage (a chunk needs about
    50), trimmed after every chunk 45-64 MB, for 0.05-0.1 s more in the stage, and 8 s more for
    the 1,950 chunks of 40,000 near-identical lines.
    """
    with _no_gc():
        verified = _verify_pairs(_VERIFY_STATE["job"], *bounds)
    release_memory_if_grown(16 << 20)
    return verified


def _verify_pairs(job: _VerifyJob, lo: int, hi: int) -> _VerifiedChunk:

    corpus, cfg = job.corpus, job.cfg
    a, b = job.cand[lo:hi, 0], job.cand[lo:hi, 1]
    # The chunk's own paragraphs' shingles, indexed here: one index of every paragraph, made before
    # the workers forked, held 200 MB of sparse matrices through the whole stage at 102 MB (the
    # stage's peak, 550 MB in all), where a chunk's take a few MB, in no more time. Sentences are
    # indexed only for the pairs that may earn partial credit (below).
    index = job.index or _ShingleIndex(corpus, job.template, sorted_unique(np.concatenate((a, b))), sentences=False)
    # Per pair, not per paragraph of the corpus (a chunk's work grows with its pairs only).
    starts = corpus.shingle_start
    shared = index.shared(a, b)
    union = (starts[a + 1] - starts[a]) + (starts[b + 1] - starts[b]) - shared
    scores = np.zeros(len(a))
    # rapidfuzz only where the paragraphs could be the same (shingle Jaccard >= 0.2).
    maybe = np.flatnonzero(shared >= 0.2 * union)
    # Each distinct paragraph of the chunk is decoded and word-sorted once; the pairs' lists are
    # then gathered from object arrays (a text met in a thousand pairs was decoded a thousand
    # times, and the Python steps per pair cost five times rapidfuzz's own).
    distinct, slot = np.unique(np.concatenate((a[maybe], b[maybe])), return_inverse=True)
    texts, tokens = job.texts_and_tokens(distinct)
    left, right = slot[: len(maybe)], slot[len(maybe) :]
    scores[maybe] = score_pairs(
        texts[left].tolist(),
        texts[right].tolist(),
        left_sorted=tokens[left].tolist(),
        right_sorted=tokens[right].tolist(),
    )
    full = scores >= cfg.verify.min_similarity
    # Partial credit needs a run of two sentences (two shared shingles each at least), or a
    # one-sentence paragraph (two shared shingles at least).
    psent_start = corpus.psent_start
    single = (psent_start[a + 1] - psent_start[a] == 1) | (psent_start[b + 1] - psent_start[b] == 1)
    part = np.flatnonzero(~full & ((shared >= 4) | (single & (shared >= 2))))
    if job.index is None:
        index.index_sentences(sorted_unique(np.concatenate((a[part], b[part]))))
    bar = cfg.verify.min_containment
    ca, off_a = index.sentence_credit(a[part], b[part], bar)
    cb, off_b = index.sentence_credit(b[part], a[part], bar)
    any_a = np.add.reduceat(ca > 0, off_a[:-1]) > 0 if len(ca) else np.zeros(len(part), bool)
    any_b = np.add.reduceat(cb > 0, off_b[:-1]) > 0 if len(cb) else np.zeros(len(part), bool)
    credited = np.flatnonzero(any_a | any_b)
    partial = np.zeros(len(a), dtype=bool)
    partial[part[credited]] = True
    keep = np.flatnonzero(full | partial)
    position = np.cumsum(full | partial) - 1  # position of each kept pair among the kept ones

    def gather(flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = offsets[credited + 1] - offsets[credited]
        return flat[gather_ranges(offsets, credited)], np.concatenate(([0], np.cumsum(counts)))

    ca_kept, off_a_kept = gather(ca, off_a)
    cb_kept, off_b_kept = gather(cb, off_b)
    return _VerifiedChunk(
        keep,
        scores[keep],
        shared[keep],
        full[keep],
        position[part[credited]],
        ca_kept,
        off_a_kept,
        cb_kept,
        off_b_kept,
    )


# --------------------------------------------------------------------------- groups and articles


@dataclass(frozen=True, slots=True)
class _Link:
    """One paragraph match inside an article pair.

    ``credit_a``/``credit_b``: per-sentence credit of each side's paragraph (share of the sentence's
    shingles found in the other paragraph), ``None`` for a full match (every sentence credited).
    """

    score: float
    credit_a: np.ndarray | None
    credit_b: np.ndarray | None
    full: bool


def _products(
    left: np.ndarray, left_n: np.ndarray, right: np.ndarray, right_n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each item, every ``(l, r)`` with ``l`` in ``left + range(left_n)`` and ``r`` in
    ``right + range(right_n)``, row-major, items in order (nested loops in one vectorised pass).

    >>> [x.tolist() for x in _products(np.array([0, 5]), np.array([2, 1]), np.array([10, 7]), np.array([2, 1]))]
    [[0, 0, 1, 1, 5], [10, 11, 10, 11, 7]]
    """
    item, step = _steps(left_n * right_n)
    width = right_n[item]
    return left[item] + step // width, right[item] + step % width


def _steps(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items taking ``counts[i]`` steps each: the item of every step and its number within the item.

    >>> [x.tolist() for x in _steps(np.array([2, 0, 3]))]
    [[0, 0, 2, 2, 2], [0, 1, 0, 1, 2]]
    """
    item = np.repeat(np.arange(len(counts)), counts)
    return item, np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass(slots=True)
class _PairLinks:
    """The paragraph matches of every content pair ``X < Y``, as flat records grouped by pair.

    Pair ``k`` is ``keys[k]``, numbered in order of its first match; its records are
    ``start[k]:start[k + 1]`` (``pair`` is ``k`` for each), in the order they were found. A record
    pairs occurrence ``px`` (of X) with ``py`` (of Y) through ``link``: ``-1`` for the same text,
    else an edge index, whose sides are swapped (``flip``) when the edge's ``a`` text is on Y's
    side. ``full`` tells a full match.
    """

    keys: list[tuple[int, int]]
    index: dict[tuple[int, int], int]
    start: np.ndarray
    pair: np.ndarray
    px: np.ndarray
    py: np.ndarray
    link: np.ndarray
    flip: np.ndarray
    full: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def records(self, k: int, only: np.ndarray | None = None) -> zip[tuple[int, int, int, bool]]:
        """``(px, py, link, flip)`` of pair ``k``, in order (those where ``only`` is True, if given)."""
        lo, hi = int(self.start[k]), int(self.start[k + 1])
        columns = (self.px, self.py, self.link, self.flip)
        if only is None:
            return zip(*(column[lo:hi].tolist() for column in columns), strict=True)
        rows = lo + np.flatnonzero(only[lo:hi])
        return zip(*(column[rows].tolist() for column in columns), strict=True)

    def best_matches(self, score: np.ndarray) -> np.ndarray:
        """Which records are the best match, within their pair, of their occurrence of X or of
        their occurrence of Y: a full match before a partial one, then the higher ``score`` (one
        per record), then the earlier occurrence on the other side. At most one record per
        occurrence on each side, so a pair has at most as many as its two sides' occurrences.

        >>> links = _PairLinks([(0, 1)], {}, np.array([0, 3]), np.zeros(3, dtype=np.int64), np.array([0, 0, 1]),
        ...     np.array([5, 6, 6]), np.zeros(3), np.zeros(3), np.ones(3, dtype=bool))
        >>> links.best_matches(np.array([0.9, 0.85, 0.95])).tolist()
        [True, False, True]
        """
        keep = np.zeros(len(self.px), dtype=bool)
        for mine, other in ((self.px, self.py), (self.py, self.px)):
            order = np.lexsort((other, -score, ~self.full, mine, self.pair))  # the last key sorts first
            pair, mine_sorted = self.pair[order], mine[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = (pair[1:] != pair[:-1]) | (mine_sorted[1:] != mine_sorted[:-1])
            keep[order[first]] = True
        return keep

    def matched(self, side: int) -> np.ndarray:
        """Per pair, how many distinct occurrences of X (side 0) or Y (side 1) have a full match."""
        pos = (self.px if side == 0 else self.py)[self.full]
        width = int(pos.max(initial=0)) + 1
        codes = sorted_unique(self.pair[self.full] * width + pos)
        return np.bincount(codes // width, minlength=len(self.keys))

    def full_chars(self, side: int, occ_chars: np.ndarray) -> np.ndarray:
        """Per pair, the characters of the distinct occurrences of one side that have a match
        (what a pair whose matches are all full covers of that side)."""
        pos = self.px if side == 0 else self.py
        width = int(pos.max(initial=0)) + 1
        codes = sorted_unique(self.pair * width + pos)
        return np.bincount(codes // width, weights=occ_chars[codes % width], minlength=len(self.keys))


def _pair_links(
    uids: np.ndarray, owner: np.ndarray, pos: np.ndarray, edges: ParagraphEdges, n_contents: int
) -> _PairLinks:
    """Every paragraph match between two contents, from the occurrences of their first articles.

    ``uids``, ``owner`` and ``pos``: text, content and position of each occurrence, in position
    order (so in content order). The occurrences of one text in one content form a *run*. Two runs
    of one text in two contents match (score 1, full), and so do two runs of the two texts of an
    edge in two contents: occurrence by occurrence in order, the last occurrence of the shorter run
    standing in for the rest. Every occurrence is matched, which is all the coverage counts, with
    ``max(m, n)`` records for runs of ``m`` and ``n`` occurrences instead of ``m * n`` (a scrape
    that repeats a paragraph a thousand times in two articles would otherwise make a million
    evidence rows). The records come in the order nested loops would find them: texts in order of
    first occurrence, each with every pair of its runs, then the edges in order, each with every
    pair of runs of their two texts; a match found twice (one text's runs in both orders) is kept
    once. Two occurrences are met by one text or one edge only (edges are distinct pairs of
    distinct texts), so no match is ever chosen over another.
    """
    order = np.argsort(uids, kind="stable")  # by text, then by position
    grouped, content = uids[order], owner[order]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (grouped[1:] != grouped[:-1]) | (content[1:] != content[:-1])
    run_start = np.flatnonzero(new_run)
    run_size = np.diff(np.append(run_start, len(order)))
    run_text = grouped[run_start]
    new_text = np.ones(len(run_start), dtype=bool)
    new_text[1:] = run_text[1:] != run_text[:-1]
    text_run = np.flatnonzero(new_text)  # first run of each text
    text_runs = np.diff(np.append(text_run, len(run_start)))
    texts = run_text[text_run]
    by_first = np.argsort(order[run_start[text_run]], kind="stable")  # texts in order of first occurrence
    by_first = by_first[text_runs[by_first] > 1]  # only texts found in two contents or more
    same_l, same_r = _products(text_run[by_first], text_runs[by_first], text_run[by_first], text_runs[by_first])
    at_a = np.minimum(np.searchsorted(texts, edges.a), max(len(texts) - 1, 0))
    at_b = np.minimum(search_sorted(texts, edges.b), max(len(texts) - 1, 0))
    present = np.flatnonzero((texts[at_a] == edges.a) & (texts[at_b] == edges.b)) if len(texts) else edges.a[:0]
    at_a, at_b = at_a[present], at_b[present]
    edge_l, edge_r = _products(text_run[at_a], text_runs[at_a], text_run[at_b], text_runs[at_b])
    run_l, run_r = np.concatenate((same_l, edge_l)), np.concatenate((same_r, edge_r))
    run_link = np.concatenate((np.full(len(same_l), -1), np.repeat(present, text_runs[at_a] * text_runs[at_b])))
    # Runs in two contents; one text's runs meet in both orders, and the first meeting (the
    # earlier run on the left, runs being in content order) is the one kept.
    apart = (content[run_start[run_l]] != content[run_start[run_r]]) & ((run_link >= 0) | (run_l < run_r))
    run_l, run_r, run_link = run_l[apart], run_r[apart], run_link[apart]
    # Occurrence by occurrence along the longer run of each pair of runs.
    size_l, size_r = run_size[run_l], run_size[run_r]
    item, step = _steps(np.maximum(size_l, size_r))
    i = order[run_start[run_l][item] + np.minimum(step, size_l[item] - 1)]
    j = order[run_start[run_r][item] + np.minimum(step, size_r[item] - 1)]
    link = run_link[item]
    ci, cj = owner[i], owner[j]
    flip = ci > cj
    px, py = np.where(flip, pos[j], pos[i]), np.where(flip, pos[i], pos[j])
    x, y = np.minimum(ci, cj), np.maximum(ci, cj)
    codes, first_row, pair = np.unique(x * max(n_contents, 1) + y, return_index=True, return_inverse=True)
    by_first_row = np.argsort(first_row, kind="stable")  # content pairs in order of their first match
    rank = np.empty(len(codes), dtype=np.int64)
    rank[by_first_row] = np.arange(len(codes))
    pair = rank[pair.reshape(-1)]
    grouped_rows = np.argsort(pair, kind="stable")
    in_order = codes[by_first_row]
    keys = list(zip((in_order // max(n_contents, 1)).tolist(), (in_order % max(n_contents, 1)).tolist(), strict=True))
    link = link[grouped_rows]
    return _PairLinks(
        keys=keys,
        index={key: k for k, key in enumerate(keys)},
        start=np.concatenate(([0], np.cumsum(np.bincount(pair, minlength=len(codes))))),
        pair=pair[grouped_rows],
        px=px[grouped_rows],
        py=py[grouped_rows],
        link=link,
        flip=flip[grouped_rows],
        full=np.where(link < 0, True, edges.full[np.maximum(link, 0)] if len(edges.full) else True),
    )


@dataclass(slots=True)
class DedupResult:
    """Everything a run produces, ready for the report writers."""

    config: DedupConfig
    stats: RunStats
    clusters: list[Cluster]
    pairs: list[ArticlePair]
    groups: list[BoilerplateGroup]
    articles: list[ArticleReport]
    scored: dict[tuple[str, str], float] = field(default_factory=dict)
    """Similarity of every article pair with at least one matched paragraph, below the threshold too
    (first path of each exact-copy set only); used by ``dedup eval`` to explain misses."""
    shingle_scored: dict[tuple[str, str], float] = field(default_factory=dict)
    """Shingle containment (when above 0) of the article pairs scored: those with a matched paragraph,
    and those whose shingle containment reaches the smaller of the cluster floor and
    ``min_shingle_containment`` (same keys as ``scored``)."""
    boilerplate_keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    """Content keys (:func:`text_key` of the normalised text, ascending) of every paragraph in a
    boilerplate group (``dedup clean --strip-boilerplate``); made with or without reports."""
    skips: list[Skip] = field(default_factory=list)
    """Every file and record skipped, in path order (``skipped.csv``)."""
    copies: dict[str, str] = field(default_factory=dict)
    """Exact copies: every article whose indexed text another article has too, mapped to the first
    of them by path (the one ``pairs.csv`` lists the others and their pairs against)."""


def _content_jaccards(corpus: Corpus, first_article: list[int], pairs: list[tuple[int, int]]) -> list[float]:
    """MinHash Jaccard estimate of each content pair: a content's signature is the element-wise
    minimum of its (first article's) paragraph signatures, i.e. the MinHash of all its shingles."""
    if not pairs:
        return []
    xy = np.asarray(pairs, dtype=np.int64)
    needed, slot = np.unique(xy, return_inverse=True)
    sigs = corpus.signatures_of(np.asarray(first_article, dtype=np.int64)[needed])
    slot = slot.reshape(-1, 2)
    return signature_jaccard(sigs[slot[:, 0]], sigs[slot[:, 1]]).tolist()


def _group_tables(corpus: Corpus, edges: ParagraphEdges, content_of: np.ndarray) -> dict[str, np.ndarray]:
    """Group label of every distinct text, and per-group article / content / occurrence counts."""
    n = len(corpus.norms)
    label = connected_labels(n, edges.a[edges.full], edges.b[edges.full])
    occ_uid = np.asarray(corpus.occ_uid, dtype=np.int64)
    occ_article = np.repeat(np.arange(len(corpus.ids)), np.diff(corpus.occ_start))
    occ_group = label[occ_uid] if len(occ_uid) else occ_uid

    def distinct_per_group(values: np.ndarray) -> np.ndarray:
        codes = sorted_unique(occ_group * (values.max(initial=0) + 1) + values)
        groups = codes // (values.max(initial=0) + 1)
        return np.bincount(groups, minlength=n)

    return {
        "label": label,
        "occ_group": occ_group,
        "occ_article": occ_article,
        "articles": distinct_per_group(occ_article),
        "contents": distinct_per_group(content_of[occ_article]) if len(occ_article) else np.zeros(n, int),
        "occurrences": np.bincount(occ_group, minlength=n),
    }


def run(
    root: Path,
    cfg: DedupConfig,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
) -> DedupResult:
    """Scan a folder and return clusters, pairs, boilerplate groups and per-article shares.

    Args:
        root: folder to scan (recursively).
        cfg: every parameter of the run.
        on_skip: called once per skipped file or record.
        on_progress: called with ``(stage, advance, total)`` as work completes.

    Returns:
        The :class:`DedupResult`; nothing is written.

    Raises:
        InputError: the folder does not exist.
    """
    corpus, edges, stats = match_corpus(root, cfg, on_skip, on_progress, release=True)
    return analyse(corpus, edges, cfg, stats)


def match_corpus(
    root: Path | str,
    cfg: DedupConfig,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
    release: bool = False,
    exclude: Iterable[Path] = (),
) -> tuple[Corpus, ParagraphEdges, RunStats]:
    """Read and fingerprint the corpus, then find and verify paragraph pairs (stages 1-5).

    ``root``: a local folder, or (a ``str``) a Hadoop file system URI read with the Spark engine.

    ``release``: only :func:`analyse` will read the corpus (see :meth:`Corpus.release_candidate_arrays`).
    ``exclude``: folders and files of a local ``root`` that are not read (the run's own reports).
    """
    stats = RunStats()
    t0 = time.perf_counter()
    if isinstance(root, str):
        corpus = ingest_uri(root, cfg, stats, on_skip, on_progress)
    else:
        corpus = ingest_corpus(root, cfg, stats, on_skip, on_progress, exclude)
    stats.seconds["read_fingerprint"] = time.perf_counter() - t0
    on_progress("match", 0, None)
    edges = verify_candidates(corpus, cfg, stats, release)
    return corpus, edges, stats


def analyse(
    corpus: Corpus, edges: ParagraphEdges, cfg: DedupConfig, stats: RunStats, reports: bool = True
) -> DedupResult:
    """Paragraph groups → boilerplate → article pair scores → guarded clusters → report rows.

    Only ``cfg.cluster`` is read here, so a threshold sweep can re-run this stage alone.
    ``reports=False`` (a nightly run that writes no report): the pairs come without their evidence
    and MinHash Jaccard (``matches`` empty, ``best_score`` and ``jaccard`` 0), and there are no
    per-article rows and no boilerplate texts; the pairs, their scores, the clusters, the groups and
    the stats are those of a full run. Groups have an empty ``sample`` when the corpus was built
    without samples (see :func:`build_corpus`).
    """
    with _no_gc():
        return _analyse(corpus, edges, cfg, stats, reports)


def _containment_task(_: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Worker task: :func:`_shingle_containment` of the arguments the analysis left in ``_VERIFY_STATE``."""
    with _no_gc():
        return _shingle_containment(*_VERIFY_STATE["containment"])


def _shingle_containment(
    corpus: Corpus, first_article: list[int], occ_used: np.ndarray, cap: int, min_shared: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shingle containment of every content pair sharing at least ``min_shared`` non-template shingles.

    A content's shingle set is the union of the shingles of its indexed paragraphs that count
    (``occ_used``: not boilerplate, unless boilerplate is included), less the *template shingles*:
    those found in ``cap`` contents or more. Shared counts come from one sparse product of the
    content-by-shingle incidence matrix restricted to shingles held by 2 to ``cap - 1`` contents,
    so its cost is bounded by ``cap**2`` per shingle whatever the corpus size.

    Returns:
        ``(x, y, share_x, share_y)`` with ``x < y``, sorted: the share of each side's shingles
        found in the other.
    """
    from scipy import sparse  # imported while the first files are read (see iter_batches)

    n = len(first_article)
    empty = np.empty(0, dtype=np.int64)
    if n < 2:
        return empty, empty, np.empty(0), np.empty(0)
    occ_start = np.asarray(corpus.occ_start, dtype=np.int64)
    firsts = np.asarray(first_article, dtype=np.int64)
    pos = gather_ranges(occ_start, firsts)
    owner = np.repeat(np.arange(n, dtype=np.int64), occ_start[firsts + 1] - occ_start[firsts])
    used = occ_used[pos] if len(pos) else np.zeros(0, dtype=bool)
    uids = np.asarray(corpus.occ_uid, dtype=np.int64)[pos[used]]
    owner = owner[used]
    # Distinct (shingle, content) pairs as 64-bit keys (shingle high, content low): one in-place
    # sort, neighbours compared (an argsort or np.unique with inverse costs ten times more). On a
    # 454 MB corpus there are 50M keys (400 MB). They are made a slice of paragraphs at a time and
    # spilled to temporary files by the top bits of their shingle, then sorted and read a bucket at
    # a time, in shingle order: a bucket holds every key of its shingles, and the shared columns
    # come out numbered as from one sorted array (the whole array, 100 MB at 102 MB of articles,
    # was this stage's peak).
    sizes = np.zeros(n, dtype=np.int64)
    contents: list[np.ndarray] = []
    shared_runs: list[np.ndarray] = []
    for codes in _content_shingle_buckets(corpus, uids, owner):
        codes.sort()
        codes = _unique_sorted_in_place(codes)
        halves = codes.view(np.uint32)  # (low, high) 32-bit halves of each key, as strided views
        low, high = (halves[0::2], halves[1::2]) if sys.byteorder == "little" else (halves[1::2], halves[0::2])
        # Runs of one shingle: their length is the shingle's document frequency.
        first = np.empty(len(codes), dtype=bool)
        if len(codes):
            first[0] = True
            np.not_equal(high[1:], high[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        run = np.diff(np.append(starts, len(codes)))
        run_kept = run < cap
        sizes += np.bincount(low[np.repeat(run_kept, run)], minlength=n)
        run_shared = run_kept & (run >= 2)
        contents.append(low[np.repeat(run_shared, run)].astype(np.int64))
        shared_runs.append(run[run_shared])
        del codes, halves, low, high
    del uids, owner
    content, run = np.concatenate(contents), np.concatenate(shared_runs)
    del contents, shared_runs
    column = np.repeat(np.arange(len(run)), run)
    incidence = sparse.csr_matrix((np.ones(len(column), dtype=np.float32), (content, column)), shape=(n, len(run)))
    product = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    k = product.data.astype(np.int64)
    ok = k >= min_shared
    x, y, k = product.row[ok].astype(np.int64), product.col[ok].astype(np.int64), k[ok]
    order = np.argsort(x * n + y, kind="stable")
    x, y, k = x[order], y[order], k[order]
    return x, y, k / sizes[x], k / sizes[y]


_KEY_CHUNK = 1 << 20  # keys per step when building or compacting a large key array in place


_KEY_BUCKET_BITS = 2  # the (shingle, content) keys go to 4 buckets by their shingle's top bits


def _content_shingle_buckets(corpus: Corpus, uids: np.ndarray, owner: np.ndarray) -> Iterator[np.ndarray]:
    """``shingle << 32 | owner`` for every shingle of every paragraph ``uids[i]`` (owned by
    ``owner[i]``), made a slice of paragraphs at a time and yielded by bucket: the keys whose
    shingle has the same top bits, buckets in ascending order (keys in order within a bucket)."""
    buckets = SpilledBuckets(1 << _KEY_BUCKET_BITS, np.uint64)
    counts = corpus.shingle_start[uids + 1] - corpus.shingle_start[uids]
    ends = np.cumsum(counts)
    lo = 0
    while lo < len(uids):
        # Enough paragraphs for about _KEY_CHUNK keys (at least one).
        hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + _KEY_CHUNK, side="right")))
        part = corpus.shingles[gather_ranges(corpus.shingle_start, uids[lo:hi])].astype(np.uint64)
        part <<= np.uint64(32)
        part |= np.repeat(owner[lo:hi].astype(np.uint64), counts[lo:hi])
        top = part >> np.uint64(64 - _KEY_BUCKET_BITS) if _KEY_BUCKET_BITS else np.zeros(len(part), dtype=np.uint64)
        buckets.add(part, top.astype(np.uint8))
        lo = hi
    for b in range(1 << _KEY_BUCKET_BITS):
        yield buckets.take(b)


def _unique_sorted_in_place(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted 1-D array, compacted into its own buffer, which is then
    shrunk (no second array of its size).

    >>> _unique_sorted_in_place(np.array([1, 1, 2, 5, 5, 5, 9], dtype=np.uint64)).tolist()
    [1, 2, 5, 9]
    """
    kept = 0
    previous = None
    for lo in range(0, len(values), _KEY_CHUNK):
        chunk = values[lo : lo + _KEY_CHUNK].copy()  # read before the writes below reach it
        keep = np.empty(len(chunk), dtype=bool)
        keep[0] = previous is None or chunk[0] != previous
        np.not_equal(chunk[1:], chunk[:-1], out=keep[1:])
        previous = chunk[-1]
        chunk = chunk[keep]
        values[kept : kept + len(chunk)] = chunk
        kept += len(chunk)
    if values.base is None and values.flags.c_contiguous:
        values.resize(kept, refcheck=False)  # realloc: the tail's pages go back
        return values
    return values[:kept]


_NOT_SEEN = np.empty(0)  # marks a paragraph with no credit yet in covered()


def _analyse(corpus: Corpus, edges: ParagraphEdges, cfg: DedupConfig, stats: RunStats, reports: bool) -> DedupResult:
    t_start = time.perf_counter()
    n_articles = len(corpus.ids)
    # Contents: articles with identical indexed text (same distinct-paragraph sequence) are exact
    # copies; they are scored once and counted once when deciding what is boilerplate.
    content_key: dict[tuple[int, ...], int] = {}
    content_of = np.full(n_articles, -1, dtype=np.int64)
    content_members: list[list[int]] = []
    for k in range(n_articles):
        occ = corpus.occurrences(k)
        if not len(occ):
            continue
        key = tuple(corpus.occ_uid[occ.start : occ.stop])
        c = content_key.setdefault(key, len(content_members))
        if c == len(content_members):
            content_members.append([])
        content_members[c].append(k)
        content_of[k] = c
    n_contents = len(content_members)
    # Articles without indexed paragraphs get a dummy content id past the end for the counts.
    content_for_count = np.where(content_of >= 0, content_of, n_contents + np.arange(n_articles))
    tables = _group_tables(corpus, edges, content_for_count)
    template_group = tables["contents"] >= cfg.cluster.boilerplate_min_articles
    use_group = np.ones_like(template_group) if cfg.cluster.include_boilerplate else ~template_group

    occ_chars = np.asarray(corpus.occ_chars, dtype=np.int64)
    occ_group = tables["occ_group"]
    occ_used = use_group[occ_group] if len(occ_group) else np.zeros(0, dtype=bool)

    # Occurrences of each distinct text in the *first* article of each content.
    first_article = [members[0] for members in content_members]
    base_chars = np.zeros(n_contents, dtype=np.int64)
    # Paragraph matches of every content pair X < Y (see _PairLinks); set by link_matches().
    links = _pair_links(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), edges, n_contents)

    def link_matches() -> None:
        """Set ``links`` and ``base_chars``."""
        nonlocal links
        firsts = np.asarray(first_article, dtype=np.int64)
        occ_start = np.asarray(corpus.occ_start, dtype=np.int64)
        pos = gather_ranges(occ_start, firsts)
        owner = np.repeat(np.arange(len(firsts), dtype=np.int64), occ_start[firsts + 1] - occ_start[firsts])
        used = occ_used[pos] if len(pos) else np.zeros(0, dtype=bool)
        pos, owner = pos[used], owner[used]
        base_chars[:] = np.bincount(owner, weights=occ_chars[pos], minlength=n_contents).astype(np.int64)
        links = _pair_links(np.asarray(corpus.occ_uid, dtype=np.int64)[pos], owner, pos, edges, n_contents)

    identical = _Link(1.0, None, None, True)
    edge_links: dict[tuple[int, bool], _Link] = {}

    def link_of(i: int, flip: bool) -> _Link:
        """The match of a record: the same text, or edge ``i`` (sides swapped when ``flip``)."""
        if i < 0:
            return identical
        if (i, flip) not in edge_links:
            a, b = edges.credit_a[i], edges.credit_b[i]
            edge_links[i, flip] = _Link(float(edges.score[i]), b if flip else a, a if flip else b, bool(edges.full[i]))
        return edge_links[i, flip]

    def found_of(k: int) -> dict[tuple[int, int], _Link]:
        """Pair ``k``'s matches by ``(posX, posY)``, in the order found."""
        return {(px, py): link_of(i, flip) for px, py, i, flip in links.records(k)}

    weight_cache: dict[int, np.ndarray] = {}

    def sentence_weights(uid: int) -> np.ndarray:
        """Shingles per sentence of a distinct paragraph (weights of the per-sentence credits)."""
        if uid not in weight_cache:
            weight_cache[uid] = corpus.sentence_shingle_counts(uid).astype(np.float64)
        return weight_cache[uid]

    def credit_share(pos: int, credit: np.ndarray | None) -> float:
        if credit is None:
            return 1.0
        w = sentence_weights(corpus.occ_uid[pos])
        return float(credit @ w / w.sum())

    occ_chars_list = corpus.occ_chars  # Python ints: indexing the NumPy array per item is slower

    def covered(found: dict[tuple[int, int], _Link], side: int) -> tuple[float, int]:
        """Characters of one side credited by the matches, and how many of its paragraphs fully match.

        Credits are merged per sentence (the best over all partner paragraphs), so a paragraph whose
        sentences were copied from several paragraphs of the other article is credited in full.
        """
        best: dict[int, np.ndarray | None] = {}
        if side == 0:
            items = [(pos[0], value.credit_a) for pos, value in found.items()]
        else:
            items = [(pos[1], value.credit_b) for pos, value in found.items()]
        for p, credit in items:
            if credit is None:
                best[p] = None  # a full match: nothing more to merge
            elif (old := best.get(p, _NOT_SEEN)) is _NOT_SEEN:
                best[p] = credit
            elif old is not None:
                best[p] = np.maximum(old, credit)
        chars = sum(occ_chars_list[p] * (1.0 if c is None else credit_share(p, c)) for p, c in best.items())
        return chars, sum(1 for c in best.values() if c is None)

    occ_article = tables["occ_article"]

    def boilerplate_groups() -> list[BoilerplateGroup]:
        """The reused paragraph groups, most widespread first."""
        groups_out: list[BoilerplateGroup] = []
        reused = np.flatnonzero(tables["articles"] >= 2)
        # (group, article) and (group, text) of every occurrence of a reused group, sorted and
        # distinct: each group's articles (in id order, so in path order) and texts are then slices.
        in_reused = np.zeros(len(tables["articles"]), dtype=bool)
        in_reused[reused] = True
        mine = np.flatnonzero(in_reused[occ_group]) if len(occ_group) else np.empty(0, np.int64)
        width = max(n_articles, len(corpus.norms), 1)
        by_article = sorted_unique(occ_group[mine] * width + occ_article[mine])
        by_text = sorted_unique(occ_group[mine] * width + np.asarray(corpus.occ_uid, dtype=np.int64)[mine])
        article_bounds = np.searchsorted(by_article // width, np.append(reused, len(in_reused))).tolist()
        text_bounds = np.searchsorted(by_text // width, np.append(reused, len(in_reused))).tolist()
        group_articles, group_texts = (by_article % width).tolist(), (by_text % width).tolist()
        # The groups' texts, read from the spill file at once (each is some group's, so read once).
        norm_of = dict(zip(group_texts, corpus.norms.take(group_texts), strict=True))
        canonicals = [
            group_texts[lo] if hi - lo == 1 else min(group_texts[lo:hi], key=norm_of.__getitem__)
            for lo, hi in itertools.pairwise(text_bounds)
        ]
        samples = corpus.samples.take(canonicals) if corpus.samples else [""] * len(canonicals)
        ids = corpus.ids
        # Plain lists: one conversion instead of a NumPy scalar per group and field.
        articles_of, occurrences_of = tables["articles"].tolist(), tables["occurrences"].tolist()
        template_of = template_group.tolist()
        for i, g in enumerate(reused.tolist()):
            paths = tuple([ids[k] for k in group_articles[article_bounds[i] : article_bounds[i + 1]]])
            groups_out.append(
                BoilerplateGroup(
                    id=stable_id("g", norm_of[canonicals[i]]),
                    articles=articles_of[g],
                    occurrences=occurrences_of[g],
                    is_template=template_of[g],
                    sample=samples[i],
                    example_paths=paths[:_EXAMPLE_PATHS],
                    all_paths=paths,
                )
            )
        groups_out.sort(key=lambda g: (-g.articles, g.id))
        return groups_out

    pair_cover: list[tuple[float, int, float]] = []  # per pair of ``links``
    matched_sides: list[list[int]] = [[], []]  # per pair of ``links``: fully matched paragraphs of X, of Y
    groups_out: list[BoilerplateGroup] = []

    def cover(x: int, y: int, found: dict[tuple[int, int], _Link]) -> tuple[float, int, float]:
        """Share of X and of Y the matches cover, and how many of X's paragraphs fully match."""
        chars_x, matched_x = covered(found, 0)
        cont_x = chars_x / base_chars[x] if base_chars[x] else 0.0
        cont_y = covered(found, 1)[0] / base_chars[y] if base_chars[y] else 0.0
        return cont_x, matched_x, cont_y

    def cover_all() -> None:
        """:func:`cover` of every pair of ``links``: in one pass for the pairs whose matches are all
        full (the characters of the distinct matched paragraphs of each side), one by one for the others."""
        chars = [links.full_chars(side, occ_chars).tolist() for side in (0, 1)]
        matched_sides[:] = [links.matched(side).tolist() for side in (0, 1)]
        partial = np.zeros(len(links), dtype=bool)
        partial[links.pair[~links.full]] = True
        base = base_chars
        for k, ((x, y), is_partial) in enumerate(zip(links.keys, partial.tolist(), strict=True)):
            if is_partial:
                pair_cover.append(cover(x, y, found_of(k)))
            else:
                # Sums of whole characters: the same floats as cover()'s sums, in any order.
                cont_x = float(chars[0][k]) / base[x] if base[x] else 0.0
                cont_y = float(chars[1][k]) / base[y] if base[y] else 0.0
                pair_cover.append((cont_x, matched_sides[0][k], cont_y))

    def while_containment_runs() -> None:
        """What needs no shingle containment: the paragraph matches, how much of each side of
        every matched content pair they cover, and the boilerplate groups."""
        link_matches()
        cover_all()
        groups_out.extend(boilerplate_groups())

    # Whole-article shingle containment: finds revisions whose paragraphs were all edited (no
    # paragraph pair verifies) and copies of part of a longer article. It does not depend on the
    # paragraph matches: with two workers or more a forked worker computes it while this process
    # links them and does the rest that needs no containment.
    _VERIFY_STATE["containment"] = (
        corpus,
        first_article,
        occ_used,
        n_contents + 1 if cfg.cluster.include_boilerplate else cfg.cluster.boilerplate_min_articles,
        max(1, cfg.segment.min_words - cfg.shingle.size + 1),
    )
    try:
        ((doc_x, doc_y, doc_sx, doc_sy),) = map_forked(
            _containment_task, [None], cfg.workers, meanwhile=while_containment_runs
        )
    finally:
        _VERIFY_STATE.clear()

    occ_index = corpus.occ_index
    threshold = cfg.cluster.min_article_similarity
    min_shingles = cfg.cluster.min_shingle_containment
    doc_share = np.round(np.minimum(np.maximum(doc_sx, doc_sy), 1.0), 4)
    shingle_share = dict(zip(zip(doc_x.tolist(), doc_y.tolist(), strict=True), doc_share.tolist(), strict=True))
    doc_floor = min(cfg.cluster.floor, cfg.cluster.min_shingle_containment)
    # The pairs to score: those with paragraph matches (pair k of links), then those found by
    # shingle containment alone (-1).
    to_score = [(key, k) for k, key in enumerate(links.keys)]
    for key in zip(doc_x[doc_share >= doc_floor].tolist(), doc_y[doc_share >= doc_floor].tolist(), strict=True):
        if key not in links.index:
            to_score.append((key, -1))
    neighbors: dict[int, dict[int, float]] = defaultdict(dict)
    direct: dict[int, dict[int, float]] = defaultdict(dict)
    content_pairs: list[tuple[int, int, float, float, float, float, int, int]] = []
    scored: dict[tuple[str, str], float] = {}
    shingle_scored: dict[tuple[str, str], float] = {}
    for (x, y), linked_pair in to_score:
        # A pair found by shingle containment alone has no paragraph match.
        cont_x, matched_x, cont_y = pair_cover[linked_pair] if linked_pair >= 0 else cover(x, y, {})
        sim = round(float(min(1.0, max(cont_x, cont_y))), 4)
        shingles = shingle_share.get((x, y), 0.0)
        best = max(sim, shingles)
        key = (corpus.ids[first_article[x]], corpus.ids[first_article[y]])
        if linked_pair >= 0:
            scored[key] = sim
        if shingles:
            shingle_scored[key] = shingles
        direct[x][y] = direct[y][x] = best
        if sim >= threshold or shingles >= min_shingles:
            neighbors[x][y] = neighbors[y][x] = best
            content_pairs.append(
                (x, y, sim, round(min(cont_x, 1.0), 4), round(min(cont_y, 1.0), 4), shingles, matched_x, linked_pair)
            )
    stats.paragraph_groups = int(np.count_nonzero(tables["articles"] >= 2))
    stats.boilerplate_groups = int(np.count_nonzero(template_group & (tables["articles"] >= 2)))

    # ------------------------------------------------------------------ clusters
    ids = corpus.ids
    article_rank = representative_key(cfg.cluster.keep)

    def content_rank(c: int) -> tuple[object, ...]:
        return min(article_rank((ids[k], corpus.chars[k])) for k in content_members[c])

    linked = set(neighbors) | {c for c, m in enumerate(content_members) if len(m) > 1}
    clusters: list[Cluster] = []
    cluster_of = [""] * n_articles
    groups_of_contents = guarded_clusters(
        linked,
        neighbors,
        cfg.cluster.floor,
        content_rank,
        solo_ok=lambda c: len(content_members[c]) > 1,
        direct=direct,
        guard=cfg.cluster.linkage is Linkage.GUARDED,
    )
    for rep_c, member_contents in groups_of_contents:
        rep_article = min(content_members[rep_c], key=lambda k: article_rank((ids[k], corpus.chars[k])))
        member_articles = sorted(k for c in member_contents for k in content_members[c])
        cid = stable_id("c", ids[member_articles[0]])
        rows = []
        for k in member_articles:
            c = int(content_of[k])
            if c == rep_c:
                sim, shared = 1.0, len(corpus.occurrences(k))
            else:
                sim = direct[rep_c].get(c, 0.0)
                pair = links.index.get((min(c, rep_c), max(c, rep_c)), -1)
                shared = matched_sides[0 if c < rep_c else 1][pair] if pair >= 0 else 0
            rows.append(
                ClusterMember(cid, ids[k], len(member_articles), k == rep_article, sim, corpus.chars[k], shared)
            )
        rows.sort(key=lambda m: (not m.is_representative, m.path))
        clusters.append(Cluster(cid, ids[rep_article], tuple(rows)))
        for k in member_articles:
            cluster_of[k] = cid
    clusters.sort(key=lambda c: c.id)
    stats.clusters = len(clusters)
    stats.clustered_articles = sum(len(c.members) for c in clusters)

    # ------------------------------------------------------------------ article pairs
    pairs: list[ArticlePair] = []
    edge_full, edge_score = edges.full.tolist(), edges.score.tolist()
    record_score = np.where(links.link < 0, 1.0, edges.score[np.maximum(links.link, 0)] if len(edges.score) else 1.0)
    # Each paragraph's best match only (see _PairLinks.best_matches). The best score of a pair is
    # among them: a partial match scores under the full ones' bar, so none beats a full match.
    shown = links.best_matches(record_score) if reports else None
    if reports:
        jaccards = _content_jaccards(corpus, first_article, [(x, y) for x, y, *_ in content_pairs])
    else:
        jaccards = [0.0] * len(content_pairs)
    for (x, y, sim, cont_x, cont_y, shingles, matched, linked_pair), jac in zip(content_pairs, jaccards, strict=True):
        # Sorted as plain tuples (ParagraphMatch orders by its fields in this order), then wrapped.
        rows = []
        best_score = 0.0
        for px, py, i, flip in links.records(linked_pair, shown) if reports and linked_pair >= 0 else ():
            if i < 0 or edge_full[i]:
                score = 1.0 if i < 0 else edge_score[i]
                rows.append((occ_index[px], occ_index[py], score, True, 1.0))
            else:
                v = link_of(i, flip)
                score = v.score
                credits = round(credit_share(px, v.credit_a), 4), round(credit_share(py, v.credit_b), 4)
                rows.append((occ_index[px], occ_index[py], credits[0], False, credits[1]))
            best_score = max(best_score, score)
        rows.sort()
        evidence = tuple(map(ParagraphMatch._make, rows))
        pairs.append(
            ArticlePair(
                ids[first_article[x]],
                ids[first_article[y]],
                sim,
                cont_x,
                cont_y,
                shingles,
                matched,
                best_score,
                round(jac, 4),
                evidence,
            )
        )
    copies: dict[str, str] = {}
    for members in content_members:
        if len(members) == 1:
            continue
        first = members[0]
        copies.update((ids[k], ids[first]) for k in members)
        n_par = len(corpus.occurrences(first))
        if reports:
            full = tuple(ParagraphMatch(occ_index[p], occ_index[p], 1.0) for p in corpus.occurrences(first))
            copy_tail = (1.0, 1.0, full)
        else:
            copy_tail = (0.0, 0.0, ())
        for k in members[1:]:
            pairs.append(ArticlePair(ids[first], ids[k], 1.0, 1.0, 1.0, 1.0, n_par, *copy_tail))
    pairs.sort(key=lambda p: (p.a, p.b))
    stats.article_pairs = len(pairs)

    # ------------------------------------------------------------------ per-article shares
    def article_rows() -> list[ArticleReport]:
        rows: list[ArticleReport] = []
        occ_template = template_group[occ_group] if len(occ_group) else np.zeros(0, dtype=bool)
        occ_shared = ~occ_template & (tables["articles"][occ_group] >= 2) if len(occ_group) else occ_template

        def chars_per_article(mask: np.ndarray | None = None) -> list[int]:
            weights = occ_chars if mask is None else occ_chars * mask
            return np.bincount(occ_article, weights=weights, minlength=n_articles).astype(np.int64).tolist()

        totals, templates, shareds = chars_per_article(), chars_per_article(occ_template), chars_per_article(occ_shared)
        n_paragraphs = np.diff(np.asarray(corpus.occ_start)).tolist()
        for k, (total, template, shared) in enumerate(zip(totals, templates, shareds, strict=True)):
            if total:
                template_pct, shared_pct = round(100.0 * template / total, 1), round(100.0 * shared / total, 1)
                # The remainder, so the three shares always add up to exactly 100.0.
                unique_pct = round(100.0 - template_pct - shared_pct, 1)
            else:
                template_pct = shared_pct = unique_pct = 0.0
            rows.append(
                ArticleReport(
                    path=ids[k],
                    paragraphs=n_paragraphs[k],
                    short_segments=corpus.short_segments[k],
                    chars=corpus.chars[k],
                    template_pct=template_pct,
                    shared_pct=shared_pct,
                    unique_pct=unique_pct,
                    cluster_id=cluster_of[k],
                )
            )
        return rows

    rows_out = article_rows() if reports else []
    boilerplate_keys = np.sort(corpus.para_keys[np.flatnonzero(template_group[tables["label"]])])
    stats.seconds["cluster"] = time.perf_counter() - t_start
    return DedupResult(
        cfg,
        stats,
        clusters,
        pairs,
        groups_out,
        rows_out,
        scored,
        shingle_scored,
        boilerplate_keys,
        corpus.skips,
        copies,
    )


__all__ = [
    "Corpus",
    "DedupResult",
    "ParagraphEdges",
    "analyse",
    "build_corpus",
    "digest_files",
    "ingest_corpus",
    "iter_batches",
    "list_folder",
    "match_corpus",
    "run",
    "template_sentences",
    "verify_candidates",
    "verify_candidates_cached",
]
