"""Word-shingle MinHash signatures with datasketch semantics, batched in numpy.

datasketch hashes every shingle with SHA-1 in Python and permutes one value at a time: the
per-shingle Python objects are the bottleneck. Here each *word* is hashed once (and cached), n-gram
hashes are combined from word hashes with vectorised integer arithmetic, and the datasketch
``affine32`` permutation (MurmurHash3 ``fmix32`` pre-mix, then ``a * h + b mod 2**32``, minimum per
permutation) runs on whole blocks of shingles at once. Given the same 32-bit shingle hashes the
result is bit-for-bit ``datasketch.MinHash(num_perm, seed, hashfunc=identity).update_batch(...)``,
which ``tests/test_fingerprint.py`` checks.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dedup.config import LshConfig, ShingleConfig

WordHash = Callable[[str], int]

_MASK64 = (1 << 64) - 1
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio odd constant: spreads XOR-ed word hashes
_BLOCK_SHINGLES = 1 << 12


def blake2_word_hash(word: str) -> int:
    """Stable 64-bit hash of one word (blake2b, 8 bytes, little-endian).

    >>> blake2_word_hash("kratom") == blake2_word_hash("kratom")
    True
    """
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


class _WordHashCache(dict[str, int]):
    """Per-process memo of word hashes: a corpus has far fewer distinct words than tokens."""

    def __init__(self, func: WordHash, limit: int = 2_000_000) -> None:
        super().__init__()
        self._func = func
        self._limit = limit

    def __missing__(self, word: str) -> int:
        value = self._func(word) & _MASK64
        if len(self) < self._limit:
            self[word] = value
        return value


_DEFAULT_CACHE = _WordHashCache(blake2_word_hash)


def _word_hash_lookup(hashfunc: WordHash | None) -> Callable[[str], int]:
    if hashfunc is None:
        return _DEFAULT_CACHE.__getitem__
    return lambda w: hashfunc(w) & _MASK64


def shingle_hash(word_hashes: Sequence[int]) -> int:
    """Combine the 64-bit hashes of an n-gram's words into its 32-bit shingle hash.

    Pure-Python reference of what :func:`signatures` computes in numpy: ``x = (x ^ h_j) * MIX``
    over the words (order-sensitive), then the two 32-bit halves are XOR-ed.

    >>> shingle_hash([1, 2, 3]) == shingle_hash([1, 2, 3]) != shingle_hash([3, 2, 1])
    True
    """
    x = 0
    for h in word_hashes:
        x = ((x ^ h) * int(_MIX)) & _MASK64
    return (x >> 32) ^ (x & 0xFFFFFFFF)


def shingle_hashes(norm: str, cfg: ShingleConfig, hashfunc: WordHash | None = None) -> list[int]:
    """The 32-bit hashes of a normalised paragraph's word n-grams (reference implementation).

    A paragraph shorter than the shingle size is one shingle of all its words.

    >>> len(shingle_hashes("a b c d e", ShingleConfig(size=3)))
    3
    """
    lookup = _word_hash_lookup(hashfunc)
    hs = [lookup(w) for w in norm.split()]
    n = min(cfg.size, len(hs))
    return [shingle_hash(hs[i : i + n]) for i in range(len(hs) - n + 1)]


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own ``affine32`` permutation parameters ``(a, b)`` for ``(num_perm, seed)``.

    Drawn exactly as ``datasketch.MinHash._init_permutations`` draws them (an odd ``a``, any ``b``,
    from ``np.random.RandomState(seed)``), which ``tests/test_fingerprint.py`` checks against
    datasketch itself: importing datasketch pulls in scipy.integrate and scipy.optimize, 0.5 s of
    CPU in every worker process of every run.
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, exactly as datasketch applies it before permuting."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash_shingles(
    h32: np.ndarray, starts: np.ndarray, lsh: LshConfig, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures of consecutive shingle runs, and of groups of consecutive runs.

    Args:
        h32: uint32 shingle hashes of all runs (sentences), concatenated.
        starts: index in ``h32`` where each run begins (strictly increasing, first 0).
        lsh: supplies ``num_perm`` and ``seed``.
        groups: index in ``starts`` where each group (paragraph) begins (strictly increasing,
            first 0); ``None`` makes every run its own group.

    Returns:
        ``(run_signatures, group_signatures)``, uint32 arrays of shape ``(runs, num_perm)`` and
        ``(groups, num_perm)``. A group's signature is the element-wise minimum of its runs', i.e.
        the MinHash of the union of their shingles (datasketch's ``merge``).
    """
    a, b = permutations(lsh.num_perm, lsh.seed)
    n_runs = len(starts)
    runs_out = np.empty((n_runs, lsh.num_perm), dtype=np.uint32)
    single = groups is None  # every run its own group: the group signatures are the run signatures
    if groups is None:
        groups = np.arange(n_runs)
    groups_out = runs_out if single else np.empty((len(groups), lsh.num_perm), dtype=np.uint32)
    if n_runs == 0:
        return runs_out, groups_out
    # Permutations along rows, shingles along columns: reduceat over the contiguous last axis is
    # about four times faster than over axis 0. One scratch buffer is reused for every block.
    a_col, b_col = a[:, None], b[:, None]
    scratch = np.empty((lsh.num_perm, _BLOCK_SHINGLES), dtype=np.uint32)
    bounds = np.append(starts, len(h32))  # shingle offsets of runs
    group_bounds = np.append(groups, n_runs)  # run offsets of groups
    first = 0
    with np.errstate(over="ignore"):
        while first < len(groups):
            # Take whole groups until the block holds about _BLOCK_SHINGLES shingles (at least one).
            lo = int(bounds[group_bounds[first]])
            last = int(np.searchsorted(bounds[group_bounds], lo + _BLOCK_SHINGLES, side="right")) - 1
            last = min(max(last, first + 1), len(groups))
            run_lo, run_hi = int(group_bounds[first]), int(group_bounds[last])
            hi = int(bounds[run_hi])
            hv = _fmix32(h32[lo:hi])
            if hi - lo > scratch.shape[1]:
                scratch = np.empty((lsh.num_perm, hi - lo), dtype=np.uint32)
            phv = scratch[:, : hi - lo]
            np.multiply(a_col, hv[None, :], out=phv)
            np.add(phv, b_col, out=phv)
            run_sigs = np.minimum.reduceat(phv, bounds[run_lo:run_hi] - lo, axis=1)
            runs_out[run_lo:run_hi] = run_sigs.T
            if not single:
                groups_out[first:last] = np.minimum.reduceat(run_sigs, group_bounds[first:last] - run_lo, axis=1).T
            first = last
    return runs_out, groups_out


def _shingle_hash_runs(texts: Sequence[str], size: int, hashfunc: WordHash | None) -> tuple[np.ndarray, np.ndarray]:
    """uint32 shingle hashes of each text (word n-grams; one shingle if shorter) and run starts."""
    lookup = _word_hash_lookup(hashfunc)
    word_lists = [t.split() for t in texts]
    lengths = np.fromiter((len(ws) for ws in word_lists), dtype=np.int64, count=len(word_lists))
    if len(texts) and lengths.min() == 0:
        raise ValueError("every paragraph must have at least one word")
    flat = [w for ws in word_lists for w in ws]
    wh = np.fromiter(map(lookup, flat), dtype=np.uint64, count=len(flat))
    word_starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(texts) else lengths
    # Shingles per text: L - n + 1, or one shingle of all words when L < n.
    counts = np.maximum(lengths - size + 1, 1)
    total = int(counts.sum())
    shingle_starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(texts) else counts
    # Position of every shingle's first word in `wh`.
    run_of = np.repeat(np.arange(len(texts)), counts)
    first_word = word_starts[run_of] + (np.arange(total) - shingle_starts[run_of])
    width = np.minimum(lengths, size)[run_of]
    x = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(size):
            active = j < width
            idx = np.where(active, first_word + j, 0)
            x = np.where(active, (x ^ wh[idx]) * _MIX, x)
    h32 = ((x >> np.uint64(32)) ^ (x & np.uint64(0xFFFFFFFF))).astype(np.uint32)
    return h32, shingle_starts.astype(np.int64)


def signatures(
    norms: Sequence[str], shingle: ShingleConfig, lsh: LshConfig, hashfunc: WordHash | None = None
) -> np.ndarray:
    """MinHash signatures of normalised texts, one row each.

    Args:
        norms: normalised texts (each with at least one word).
        shingle: n-gram size.
        lsh: ``num_perm`` and ``seed``.
        hashfunc: word hash (64-bit int); defaults to blake2b. Injectable for tests.

    Returns:
        ``(len(norms), num_perm)`` uint32 array.
    """
    h32, starts = _shingle_hash_runs(norms, shingle.size, hashfunc)
    return minhash_shingles(h32, starts, lsh)[0]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """Signatures and shingle sets of a batch of paragraphs split into sentences.

    Attributes:
        sentence_sigs: ``(sentences, num_perm)`` MinHash of each sentence's shingles.
        paragraph_sigs: ``(paragraphs, num_perm)`` MinHash of each paragraph (union of its sentences).
        sentence_start: ``(paragraphs + 1,)`` paragraph ``p`` owns sentences ``[start[p], start[p+1])``.
        shingles: sorted distinct uint32 shingle hashes of every paragraph, concatenated.
        shingle_start: ``(paragraphs + 1,)`` offsets into ``shingles``.
        sentence_shingles: sorted distinct shingle hashes of every sentence, concatenated.
        sentence_shingle_start: ``(sentences + 1,)`` offsets into ``sentence_shingles``.
    """

    sentence_sigs: np.ndarray
    paragraph_sigs: np.ndarray
    sentence_start: np.ndarray
    shingles: np.ndarray
    shingle_start: np.ndarray
    sentence_shingles: np.ndarray
    sentence_shingle_start: np.ndarray

    def select(self, rows: np.ndarray) -> Fingerprints:
        """The fingerprints of the given paragraphs (in the given order), offsets rebased."""
        sentences = gather_ranges(self.sentence_start, rows)

        def starts(offsets: np.ndarray, picked: np.ndarray) -> np.ndarray:
            return np.concatenate(([0], np.cumsum(offsets[picked + 1] - offsets[picked]))).astype(np.int64)

        return Fingerprints(
            sentence_sigs=self.sentence_sigs[sentences],
            paragraph_sigs=self.paragraph_sigs[rows],
            sentence_start=starts(self.sentence_start, rows),
            shingles=self.shingles[gather_ranges(self.shingle_start, rows)],
            shingle_start=starts(self.shingle_start, rows),
            sentence_shingles=self.sentence_shingles[gather_ranges(self.sentence_shingle_start, sentences)],
            sentence_shingle_start=starts(self.sentence_shingle_start, sentences),
        )


def distinct_sentences(paragraphs: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """Every distinct sentence once (in order of first occurrence) and, per occurrence, its index.

    >>> distinct_sentences([["a b", "c d"], ["a b"]])
    (['a b', 'c d'], array([0, 1, 0]))
    """
    slot: dict[str, int] = {}
    distinct: list[str] = []
    occurrence = np.empty(sum(len(p) for p in paragraphs), dtype=np.int64)
    i = 0
    for p in paragraphs:
        for sentence in p:
            j = slot.get(sentence)
            if j is None:
                j = slot[sentence] = len(distinct)
                distinct.append(sentence)
            occurrence[i] = j
            i += 1
    return distinct, occurrence


@dataclass(frozen=True, slots=True)
class SentenceTable:
    """Signature and shingle set of each of a list of distinct sentences.

    Attributes:
        sigs: ``(sentences, num_perm)`` MinHash of each sentence's shingles.
        sets: sorted distinct uint32 shingle hashes of every sentence, concatenated.
        set_start: ``(sentences + 1,)`` offsets into ``sets``.
    """

    sigs: np.ndarray
    sets: np.ndarray
    set_start: np.ndarray

    def take(self, rows: np.ndarray) -> SentenceTable:
        """The table of the given sentences, in the given order."""
        sizes = np.diff(self.set_start)[rows]
        return SentenceTable(
            self.sigs[rows],
            self.sets[gather_ranges(self.set_start, rows)],
            np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
        )


def sentence_table(
    sentences: Sequence[str], shingle: ShingleConfig, lsh: LshConfig, hashfunc: WordHash | None = None
) -> SentenceTable:
    """Signatures and exact shingle sets of normalised sentences (each with at least one word)."""
    h32, run_starts = _shingle_hash_runs(sentences, shingle.size, hashfunc)
    sigs = minhash_shingles(h32, run_starts, lsh)[0]
    run_counts = np.diff(np.append(run_starts, len(h32)))
    owner = np.repeat(np.arange(len(sentences), dtype=np.uint64), run_counts)
    sets, set_start = _distinct_per_owner(owner, h32, len(sentences))
    return SentenceTable(sigs, sets, set_start)


class SentenceMemo:
    """The :class:`SentenceTable` rows and content keys of sentences met before.

    Templated text repeats sentences across the whole corpus, not only inside one batch: a worker
    keeps the rows it computed and computes only sentences it has not met (on the generated 92 MB
    corpus, 54 % of a worker's per-batch distinct sentences were met in an earlier batch). At most
    ``max_rows`` sentences are kept; when a batch would pass that, the memo starts afresh. A row
    depends only on the sentence and the parameters, so results never depend on what is kept.

    Templates repeat within a few batches, so a small memo finds nearly all the repeats: reading
    half of the 102 MB benchmark corpus in one process, 32k rows (16 MB of signatures) met 37.9 %
    of the sentences, 128k rows 37.7 %, in the same time (3.54-3.58 s against 3.74-3.77 s); the
    larger memo held 70 MB more in each read worker.

    Args:
        shingle, lsh: the fingerprint parameters.
        key: the 64-bit content key of a sentence (computed once per sentence kept).
        max_rows: the most sentences kept (their signature buffer is reserved up front; the
            operating system backs only the rows written).
    """

    def __init__(
        self, shingle: ShingleConfig, lsh: LshConfig, key: Callable[[str], int], max_rows: int = 1 << 15
    ) -> None:
        self.shingle, self.lsh, self.key, self.max_rows = shingle, lsh, key, max_rows
        self.sigs = np.empty((max_rows, lsh.num_perm), dtype=np.uint32)
        self.keys = np.empty(max_rows, dtype=np.uint64)
        self.set_start = np.zeros(max_rows + 1, dtype=np.int64)
        self.clear()

    def clear(self) -> None:
        """Forget every sentence."""
        self.row: dict[str, int] = {}
        self.sets = np.empty(16 * self.max_rows, dtype=np.uint32)

    def table(self, sentences: Sequence[str]) -> tuple[SentenceTable, np.ndarray]:
        """The table and the content keys of distinct ``sentences``."""
        rows = np.fromiter(map(self.row.get, sentences, itertools.repeat(-1)), dtype=np.int64, count=len(sentences))
        miss = np.flatnonzero(rows < 0)
        if len(self.row) + len(miss) > self.max_rows:
            self.clear()
            miss = np.arange(len(sentences))
        missing = [sentences[i] for i in miss.tolist()]
        fresh = sentence_table(missing, self.shingle, self.lsh)
        fresh_keys = np.fromiter(map(self.key, missing), dtype=np.uint64, count=len(missing))
        if len(miss) > self.max_rows:
            return fresh, fresh_keys
        rows[miss] = self._append(fresh, fresh_keys)
        self.row.update(zip(missing, rows[miss].tolist(), strict=True))
        n = len(self.row)
        kept = SentenceTable(self.sigs[:n], self.sets[: self.set_start[n]], self.set_start[: n + 1])
        return kept.take(rows), self.keys[rows]

    def _append(self, fresh: SentenceTable, keys: np.ndarray) -> np.ndarray:
        """Store the rows of new sentences; returns their row numbers."""
        n, k = len(self.row), len(fresh.sigs)
        lo, add = int(self.set_start[n]), len(fresh.sets)
        if lo + add > len(self.sets):
            grown = np.empty(max(lo + add, 2 * len(self.sets)), dtype=np.uint32)
            grown[:lo] = self.sets[:lo]
            self.sets = grown
        self.sigs[n : n + k] = fresh.sigs
        self.keys[n : n + k] = keys
        self.sets[lo : lo + add] = fresh.sets
        self.set_start[n + 1 : n + k + 1] = lo + fresh.set_start[1:]
        return np.arange(n, n + k, dtype=np.int64)


def fingerprint(
    paragraphs: Sequence[Sequence[str]],
    shingle: ShingleConfig,
    lsh: LshConfig,
    hashfunc: WordHash | None = None,
    sentences: tuple[list[str], np.ndarray] | None = None,
    table: SentenceTable | None = None,
    sentence_sigs: bool = True,
) -> Fingerprints:
    """Sentence and paragraph MinHash signatures plus exact shingle sets, in one pass.

    Shingles never cross a sentence boundary, so a paragraph's shingle set is the union of its
    sentences' sets and its signature the element-wise minimum of theirs.

    Args:
        paragraphs: each paragraph as its normalised sentences (at least one, each with a word).
        shingle: n-gram size.
        lsh: ``num_perm`` and ``seed``.
        hashfunc: word hash; defaults to blake2b.
        sentences: :func:`distinct_sentences` of ``paragraphs`` when the caller has it.
        table: :func:`sentence_table` of those distinct sentences when the caller has it (e.g. from
            a :class:`SentenceMemo`).
        sentence_sigs: False leaves the sentence signatures out (a zero-width array) instead of
            gathering one row per occurrence (the workers keep only the sentences' band keys).

    Returns:
        :class:`Fingerprints` for the batch.
    """
    counts = np.fromiter((len(p) for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    if len(paragraphs) and counts.min() == 0:
        raise ValueError("every paragraph needs at least one sentence")
    sentence_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    # Templated text repeats sentences: each distinct sentence of the batch is hashed once.
    distinct, occurrence = sentences if sentences is not None else distinct_sentences(paragraphs)
    if table is None:
        table = sentence_table(distinct, shingle, lsh, hashfunc)
    sent_sigs = table.sigs[occurrence] if sentence_sigs else np.empty((len(occurrence), 0), dtype=np.uint32)
    para_sigs = minimum_of_runs(table.sigs, occurrence, sentence_start)
    sentence_shingles = table.sets[gather_ranges(table.set_start, occurrence)]
    set_sizes = np.diff(table.set_start)[occurrence]
    sentence_shingle_start = np.concatenate(([0], np.cumsum(set_sizes))).astype(np.int64)
    para_of_sentence = np.repeat(np.arange(len(paragraphs), dtype=np.uint64), counts)
    shingles, shingle_start = _distinct_per_owner(
        np.repeat(para_of_sentence, set_sizes), sentence_shingles, len(paragraphs)
    )
    return Fingerprints(
        sentence_sigs=sent_sigs,
        paragraph_sigs=para_sigs,
        sentence_start=sentence_start,
        shingles=shingles,
        shingle_start=shingle_start,
        sentence_shingles=sentence_shingles,
        sentence_shingle_start=sentence_shingle_start,
    )


def minimum_of_runs(values: np.ndarray, index: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Element-wise minimum of the rows ``values[index[starts[i]:starts[i + 1]]]`` for each run ``i``.

    The same as ``np.minimum.reduceat(values[index], starts[:-1], axis=0)`` for non-empty runs
    (an empty run gives the all-maximum row, the MinHash of nothing), six times faster: reduceat
    along the first axis walks the columns one at a time, while here the j-th rows of every run
    at least j long are gathered and compared whole, contiguous rows at once.

    >>> values = np.array([[5, 1], [2, 7], [9, 9]], dtype=np.uint32)
    >>> minimum_of_runs(values, np.array([2, 0, 1, 2]), np.array([0, 1, 3, 3, 4])).tolist()
    [[9, 9], [2, 1], [4294967295, 4294967295], [9, 9]]
    """
    counts = np.diff(starts)
    out = np.empty((len(counts), values.shape[1]), dtype=values.dtype)
    rows = np.flatnonzero(counts > 0)
    if len(rows) < len(counts):
        out[counts == 0] = np.iinfo(values.dtype).max
    out[rows] = values[index[starts[rows]]]
    for j in range(1, int(counts.max(initial=0))):
        rows = rows[counts[rows] > j]
        out[rows] = np.minimum(out[rows], values[index[starts[rows] + j]])
    return out


def gather_ranges(starts: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(starts[r], starts[r + 1])`` for each row (one vectorised gather).

    >>> gather_ranges(np.array([0, 2, 5, 6]), np.array([2, 0])).tolist()
    [5, 0, 1]
    """
    lo, hi = starts[rows], starts[rows + 1]
    counts = hi - lo
    offsets = np.cumsum(counts) - counts
    return np.repeat(lo - offsets, counts) + np.arange(int(counts.sum()))


def _distinct_per_owner(owner: np.ndarray, h32: np.ndarray, n_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct hashes of each owner: one sort of ``(owner, hash)`` keys for the whole batch."""
    keys = (owner.astype(np.uint64) << np.uint64(32)) | h32.astype(np.uint64)
    keys.sort()
    if len(keys):
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    owners = (keys >> np.uint64(32)).astype(np.int64)
    starts = np.searchsorted(owners, np.arange(n_owners + 1)).astype(np.int64)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), starts


_BYTE_SUM = np.uint64(0x0101010101010101)


def equal_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise number of equal values of two ``(n, width)`` arrays.

    The boolean rows are read as 64-bit words and their bytes summed with one multiply (twice as
    fast as ``count_nonzero`` along rows) when ``width`` is a multiple of 8 up to 255.

    >>> equal_counts(np.array([[1, 2, 3, 4, 5, 6, 7, 8]]), np.array([[1, 0, 3, 0, 5, 0, 7, 8]])).tolist()
    [5]
    """
    eq = np.ascontiguousarray(a == b)
    width = eq.shape[-1]
    if eq.ndim != 2 or width % 8 or width > 255:
        return np.count_nonzero(eq, axis=-1)
    words = eq.view(np.uint64)
    while words.shape[1] > 1:  # pairwise word sums: each byte lane ends with at most width / 8
        odd = words[:, -1:] if words.shape[1] % 2 else None
        words = words[:, 0 : words.shape[1] - 1 : 2] + words[:, 1::2]
        if odd is not None:
            words = np.concatenate((words, odd), axis=1)
    return ((words[:, 0] * _BYTE_SUM) >> np.uint64(56)).astype(np.int64)


def signature_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise MinHash Jaccard estimates: share of equal hash values.

    >>> float(signature_jaccard(np.array([[1, 2]]), np.array([[1, 3]]))[0])
    0.5
    """
    return equal_counts(a, b) / np.float64(a.shape[-1])


__all__ = [
    "Fingerprints",
    "SentenceMemo",
    "SentenceTable",
    "blake2_word_hash",
    "distinct_sentences",
    "equal_counts",
    "fingerprint",
    "gather_ranges",
    "minhash_shingles",
    "permutations",
    "sentence_table",
    "shingle_hash",
    "shingle_hashes",
    "signature_jaccard",
    "signatures",
]
