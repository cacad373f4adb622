"""Verification outcomes kept between runs of a persistent index.

A nightly ``dedup index`` run finds every candidate paragraph pair of the whole stored corpus again
(the candidates of old paragraphs can change when new ones arrive), but most of those pairs were
already verified by an earlier run. Verifying a pair is a pure function of the two paragraphs'
texts, the verification parameters and whether each of their sentences is a *template sentence*
(template sentences earn no partial credit). So the outcome of every candidate pair is kept, keyed
by the content identity of both paragraphs, with the template sentences of the run that verified
it; a later run re-verifies only the pairs it has not seen, or whose sentences changed template
status. The edges it produces are the ones a full verification would give, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dedup.index import search_sorted

# Bump when the verification of a pair changes meaning: older caches are then ignored.
CACHE_VERSION = 1

_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)


def paragraph_identities(
    para_keys: np.ndarray, psent_start: np.ndarray, psent_sid: np.ndarray, sentence_keys: np.ndarray
) -> np.ndarray:
    """One 64-bit identity per distinct paragraph: its text key mixed with its sentence keys in order.

    Two paragraphs with one identity have the same text *and* the same sentence split, so every
    input of their verification is the same.
    """
    n = len(para_keys)
    if not len(psent_sid):
        return para_keys.astype(np.uint64, copy=True)
    owner = np.repeat(np.arange(n), np.diff(psent_start))
    position = np.arange(len(psent_sid)) - psent_start[owner] + 1
    with np.errstate(over="ignore"):
        terms = (sentence_keys[psent_sid] ^ (position.astype(np.uint64) * _K2)) * _K1
        mixed = np.zeros(n, dtype=np.uint64)
        np.add.at(mixed, owner, terms)
        return para_keys.astype(np.uint64) ^ (mixed * _K2)


def _pair_hash(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (lo * _K1) ^ (hi * _K2 + (hi >> np.uint64(31)))


@dataclass(frozen=True, slots=True)
class VerifyCache:
    """Outcome of every candidate pair of one run, rows sorted by :func:`_pair_hash` of ``(lo, hi)``.

    ``lo < hi`` are the two paragraphs' identities. ``kept`` pairs are edges (``full`` or partial);
    the per-sentence credits of partial rows ``partial[j]`` are ``credit_lo[off_lo[j]:off_lo[j + 1]]``
    (for the ``lo`` paragraph's sentences) and likewise for ``hi``. ``template_keys``: sorted keys
    of the run's template sentences. ``params``: what else the outcomes depend on.
    """

    params: tuple[object, ...]
    template_keys: np.ndarray
    hashes: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    kept: np.ndarray
    score: np.ndarray
    shared: np.ndarray
    full: np.ndarray
    partial: np.ndarray
    credit_lo: np.ndarray
    off_lo: np.ndarray
    credit_hi: np.ndarray
    off_hi: np.ndarray
    band_params: tuple[object, ...] = ()
    """What the paragraph-band candidates depend on besides the paragraphs (the LSH parameters)."""
    band_keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    """Sorted text keys of every distinct paragraph of the run."""
    band_pairs: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    """The run's paragraph-band candidates (strong pairs, see ``pipeline._strong_band_pairs``), each
    paragraph given by its position in ``band_keys``: a run that only adds paragraphs starts from them."""

    def __len__(self) -> int:
        return len(self.lo)

    def lookup(self, ident: np.ndarray, cand: np.ndarray, dirty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the candidate pairs (``(k, 2)`` paragraph numbers) found in the cache.

        Args:
            ident: identity of every distinct paragraph.
            cand: candidate pairs.
            dirty: boolean per distinct paragraph: a sentence of it changed template status.

        Returns:
            ``(found, rows)``: boolean per candidate, and its cache row (meaningless where not found).
        """
        if not len(self) or not len(cand):
            return np.zeros(len(cand), dtype=bool), np.zeros(len(cand), dtype=np.int64)
        ia, ib = ident[cand[:, 0]], ident[cand[:, 1]]
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        rows = np.minimum(search_sorted(self.hashes, _pair_hash(lo, hi)), len(self) - 1)
        found = (self.lo[rows] == lo) & (self.hi[rows] == hi)
        found &= ~(dirty[cand[:, 0]] | dirty[cand[:, 1]])
        return found, rows

    def credits(self, row: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``(lo, hi)`` per-sentence credits of a partial row, ``None`` for other rows."""
        j = int(np.searchsorted(self.partial, row))
        if j == len(self.partial) or self.partial[j] != row:
            return None
        return (
            self.credit_lo[self.off_lo[j] : self.off_lo[j + 1]],
            self.credit_hi[self.off_hi[j] : self.off_hi[j + 1]],
        )


def build_cache(
    params: tuple[object, ...],
    template_keys: np.ndarray,
    ident: np.ndarray,
    cand: np.ndarray,
    kept: np.ndarray,
    score: np.ndarray,
    shared: np.ndarray,
    full: np.ndarray,
    credits: dict[int, tuple[np.ndarray, np.ndarray]],
    bands: tuple[tuple[object, ...], np.ndarray, np.ndarray] | None = None,
) -> VerifyCache:
    """A cache of one run's outcomes: per candidate pair, and the credits of partial pairs by candidate;
    ``bands``: the run's ``(band_params, band_keys, band_pairs)`` (see :class:`VerifyCache`)."""
    ia, ib = ident[cand[:, 0]], ident[cand[:, 1]]
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    hashes = _pair_hash(lo, hi)
    order = np.argsort(hashes, kind="stable")
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    partial = sorted((int(position[i]), i) for i in credits)
    parts_lo, parts_hi = [], []
    for _, i in partial:
        ca, cb = credits[i]
        swap = ia[i] > ib[i]
        parts_lo.append(cb if swap else ca)
        parts_hi.append(ca if swap else cb)

    def flat(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.concatenate(([0], np.cumsum([len(p) for p in parts], dtype=np.int64)))
        return (np.concatenate(parts) if parts else np.empty(0)), offsets

    credit_lo, off_lo = flat(parts_lo)
    credit_hi, off_hi = flat(parts_hi)
    return VerifyCache(
        params,
        np.sort(template_keys),
        hashes[order],
        lo[order],
        hi[order],
        kept[order],
        score[order],
        shared[order],
        full[order],
        np.array([p for p, _ in partial], dtype=np.int64),
        credit_lo,
        off_lo,
        credit_hi,
        off_hi,
        *(bands or ()),
    )


__all__ = ["CACHE_VERSION", "VerifyCache", "build_cache", "paragraph_identities"]
