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
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from dedup.config import LshConfig, ShingleConfig

WordHash = Callable[[str], int]

_MASK64 = (1 << 64) - 1
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio odd constant: spreads XOR-ed word hashes
_BLOCK_SHINGLES = 1 << 15


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
    """datasketch's own ``affine32`` permutation parameters ``(a, b)`` for ``(num_perm, seed)``."""
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, exactly as datasketch applies it before permuting."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash_shingles(h32: np.ndarray, starts: np.ndarray, lsh: LshConfig) -> np.ndarray:
    """MinHash signatures of consecutive shingle runs.

    Args:
        h32: uint32 shingle hashes of all paragraphs, concatenated.
        starts: index in ``h32`` where each paragraph's run begins (strictly increasing, first 0).
        lsh: supplies ``num_perm`` and ``seed``.

    Returns:
        ``(len(starts), num_perm)`` uint32 array.
    """
    a, b = permutations(lsh.num_perm, lsh.seed)
    out = np.empty((len(starts), lsh.num_perm), dtype=np.uint32)
    if len(starts) == 0:
        return out
    # Permutations along rows, shingles along columns: reduceat over the contiguous last axis is
    # about four times faster than over axis 0. One scratch buffer is reused for every block.
    a_col, b_col = a[:, None], b[:, None]
    scratch = np.empty((lsh.num_perm, _BLOCK_SHINGLES), dtype=np.uint32)
    bounds = np.append(starts, len(h32))
    first = 0
    with np.errstate(over="ignore"):
        while first < len(starts):
            # Take paragraphs until the block holds about _BLOCK_SHINGLES shingles (at least one).
            last = int(np.searchsorted(bounds, bounds[first] + _BLOCK_SHINGLES, side="right")) - 1
            last = min(max(last, first + 1), len(starts))
            lo, hi = int(bounds[first]), int(bounds[last])
            hv = _fmix32(h32[lo:hi])
            if hi - lo > scratch.shape[1]:
                scratch = np.empty((lsh.num_perm, hi - lo), dtype=np.uint32)
            phv = scratch[:, : hi - lo]
            np.multiply(a_col, hv[None, :], out=phv)
            np.add(phv, b_col, out=phv)
            out[first:last] = np.minimum.reduceat(phv, bounds[first:last] - lo, axis=1).T
            first = last
    return out


def signatures(
    norms: Sequence[str], shingle: ShingleConfig, lsh: LshConfig, hashfunc: WordHash | None = None
) -> np.ndarray:
    """MinHash signatures of normalised paragraphs, one row each.

    Args:
        norms: normalised paragraph texts (each with at least one word).
        shingle: n-gram size.
        lsh: ``num_perm`` and ``seed``.
        hashfunc: word hash (64-bit int); defaults to blake2b. Injectable for tests.

    Returns:
        ``(len(norms), num_perm)`` uint32 array.
    """
    lookup = _word_hash_lookup(hashfunc)
    n = shingle.size
    word_lists = [norm.split() for norm in norms]
    lengths = np.fromiter((len(ws) for ws in word_lists), dtype=np.int64, count=len(word_lists))
    if len(norms) and lengths.min() == 0:
        raise ValueError("every paragraph must have at least one word")
    flat = [w for ws in word_lists for w in ws]
    wh = np.fromiter(map(lookup, flat), dtype=np.uint64, count=len(flat))
    word_starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(norms) else lengths
    # Shingles per paragraph: L - n + 1, or one shingle of all words when L < n.
    counts = np.maximum(lengths - n + 1, 1)
    total = int(counts.sum())
    shingle_starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(norms) else counts
    # Position of every shingle's first word in `wh`.
    para_of = np.repeat(np.arange(len(norms)), counts)
    offset_in_para = np.arange(total) - shingle_starts[para_of]
    first_word = word_starts[para_of] + offset_in_para
    width = np.minimum(lengths, n)[para_of]
    x = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            active = j < width
            idx = np.where(active, first_word + j, 0)
            x = np.where(active, (x ^ wh[idx]) * _MIX, x)
    h32 = ((x >> np.uint64(32)) ^ (x & np.uint64(0xFFFFFFFF))).astype(np.uint32)
    return minhash_shingles(h32, shingle_starts, lsh)


def signature_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise MinHash Jaccard estimates: share of equal hash values.

    >>> float(signature_jaccard(np.array([[1, 2]]), np.array([[1, 3]]))[0])
    0.5
    """
    return np.asarray((a == b).mean(axis=-1), dtype=np.float64)


__all__ = [
    "blake2_word_hash",
    "minhash_shingles",
    "permutations",
    "shingle_hash",
    "shingle_hashes",
    "signature_jaccard",
    "signatures",
]
