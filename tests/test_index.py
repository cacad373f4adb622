from __future__ import annotations

import random

import numpy as np
import pytest

from dedup.config import LshConfig, ShingleConfig, optimal_bands_rows
from dedup.errors import ConfigError
from dedup.fingerprint import signatures
from dedup.index import (
    band_keys,
    bucket_pairs,
    candidate_pairs,
    candidate_pairs_after_additions,
    candidate_pairs_from_keys,
    search_sorted,
    stable_argsort,
)


def test_issue_reference_split() -> None:
    # At threshold 0.8 with 128 permutations the recall-weighted split is 16 x 8 (not datasketch's 9 x 13).
    assert optimal_bands_rows(0.8, 128) == (16, 8)
    lsh = LshConfig()
    assert (lsh.bands, lsh.rows) == (24, 4)


def test_explicit_bands_rows() -> None:
    lsh = LshConfig(bands=16, rows=8)
    assert (lsh.band_count, lsh.row_count) == (16, 8)
    with pytest.raises(ConfigError, match="given together"):
        LshConfig(bands=16)
    with pytest.raises(ConfigError, match="must be <= num_perm"):
        LshConfig(bands=20, rows=8)


def test_min_estimate_is_a_fraction() -> None:
    assert LshConfig(min_estimate=0.0).min_estimate == 0.0
    with pytest.raises(ConfigError, match="min_estimate must be in"):
        LshConfig(min_estimate=1.5)


def test_bucket_pairs_windows_large_buckets() -> None:
    keys = np.zeros(6, dtype=np.uint64)
    pairs = {tuple(p) for p in bucket_pairs(keys, 2).tolist()}
    assert pairs == {(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 2), (1, 3), (2, 4), (3, 5)}


def test_band_keys_equal_iff_rows_equal() -> None:
    sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 2, 3, 4]], dtype=np.uint32)
    keys = band_keys(sigs, LshConfig(num_perm=4, bands=2, rows=2))
    assert keys[0, 0] == keys[0, 1] != keys[0, 2]
    assert keys[1, 0] == keys[1, 2] != keys[1, 1]


def test_band_keys_of_many_signatures_fold_each_band_row_by_row() -> None:
    """Past one block of signatures (and for a subset of bands) each key is the band's rows folded
    with the multiply-xor hash, exactly as a plain loop over one signature computes it."""
    mix = np.uint64(0x9E3779B97F4A7C15)
    lsh = LshConfig(num_perm=24, bands=6, rows=4)
    sigs = np.random.default_rng(3).integers(0, 1 << 32, (9000, 24), dtype=np.uint32)
    keys = band_keys(sigs, lsh, range(1, 5))
    with np.errstate(over="ignore"):
        for k in (0, 4095, 4096, 8999):
            for i, band in enumerate(range(1, 5)):
                x = np.uint64(band + 1) * mix
                for col in range(band * 4, band * 4 + 4):
                    x = (x ^ np.uint64(sigs[k, col])) * mix
                assert keys[i, k] == x ^ (x >> np.uint64(29))


def test_candidates_sorted_unique() -> None:
    sigs = np.array([[1, 1], [1, 1], [1, 1], [2, 2]], dtype=np.uint32)
    cand = candidate_pairs(sigs, LshConfig(num_perm=2, bands=2, rows=1))
    assert cand.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert candidate_pairs(sigs[:1], LshConfig(num_perm=2, bands=2, rows=1)).shape == (0, 2)


@pytest.mark.parametrize("n_needles", [5, 70_000])
def test_search_sorted_equals_numpy(n_needles: int) -> None:
    """Many needles take the sorted path (repeats, misses and both ends included), few the plain one."""
    rng = np.random.default_rng(n_needles)
    haystack = np.sort(rng.integers(0, 1 << 40, 50_000, dtype=np.uint64))
    needles = np.concatenate(
        (rng.choice(haystack, n_needles // 2), rng.integers(0, 1 << 41, n_needles // 2, dtype=np.uint64))
    )
    needles = np.concatenate((needles, needles[:3], [np.uint64(0), np.uint64(1 << 42)]))
    assert np.array_equal(search_sorted(haystack, needles), np.searchsorted(haystack, needles))


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    w = text.split()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def test_lsh_oracle_exact_jaccard() -> None:
    """Brute force over all pairs: every pair with Jaccard >= threshold + 0.15 is a candidate."""
    rng = random.Random(4)
    vocab = [f"v{i}" for i in range(400)]
    base = [[rng.choice(vocab) for _ in range(60)] for _ in range(40)]
    texts = []
    for words in base:
        texts.append(" ".join(words))
        for rate in (0.02, 0.05, 0.1, 0.3):
            texts.append(" ".join(w if rng.random() > rate else rng.choice(vocab) for w in words))
    lsh = LshConfig()
    cand = {tuple(p) for p in candidate_pairs(signatures(texts, ShingleConfig(), lsh), lsh).tolist()}
    sh = [_shingles(t) for t in texts]
    high = low = 0
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            jac = len(sh[i] & sh[j]) / len(sh[i] | sh[j])
            if jac >= lsh.jaccard_threshold + 0.15:
                high += 1
                assert (i, j) in cand, (i, j, jac)
            elif jac < 0.1:
                low += 1
                assert (i, j) not in cand, (i, j, jac)
    assert high > 50 and low > 10000


@pytest.mark.parametrize("n", [0, 1, 2, 50, 5000])
@pytest.mark.parametrize("distinct", [3, 2**63])
def test_stable_argsort_matches_numpy_stable_sort(n: int, distinct: int) -> None:
    keys = np.random.default_rng(n).integers(0, distinct, n, dtype=np.uint64)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_pairs_after_additions_equal_pairs_computed_again(seed: int, in_order: bool) -> None:
    """Items added in three steps; after each, the pairs from the earlier result and the added
    items equal those of everything computed again, for any split of the bands. Few distinct band
    keys and a small window make large buckets, where added items push earlier pairs apart. The
    rows of the filter may come in the order of ``order_by`` (``in_order``)."""
    rng = np.random.default_rng(seed)
    n, width = 300, 16
    lsh = LshConfig(num_perm=width, bands=4, rows=4, max_bucket_neighbors=int(rng.integers(1, 4)))
    base = rng.integers(0, 3, size=(6, width))
    sigs = base[rng.integers(0, 6, size=n)] + (rng.random((n, width)) < 0.3) * rng.integers(1, 5, size=(n, width))
    sigs = sigs.astype(np.uint32)
    keys = band_keys(sigs, lsh)
    order_by = rng.permutation(n).astype(np.uint64) * np.uint64(7919)
    rows = sigs.astype(np.uint8)

    def keep(pairs: np.ndarray) -> np.ndarray:
        return (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).sum(axis=1) >= 9

    def rows_of(items: np.ndarray) -> np.ndarray:
        return rows[items[np.argsort(order_by[items], kind="stable")]] if in_order else rows[items]

    def full(items: np.ndarray) -> np.ndarray:
        got = candidate_pairs_from_keys(
            keys[:, items],
            lsh,
            keep=lambda p: keep(items[p]),
            order_by=order_by[items],
            rows=rows_of(items),
            min_equal=8,
            rows_in_order=in_order,
        )
        return items[got]

    arrival = rng.permutation(n)
    present = np.zeros(n, dtype=bool)
    previous = np.empty((0, 2), dtype=np.int64)
    for step in (120, 220, n):
        fresh = np.zeros(n, dtype=bool)
        fresh[arrival[:step]] = ~present[arrival[:step]]
        present[arrival[:step]] = True
        items = np.flatnonzero(present)
        slot = np.full(n, -1)
        slot[items] = np.arange(len(items))
        expected = full(items)
        for split in ([range(4)], [range(0, 1), range(1, 4)]):
            parts = [
                candidate_pairs_after_additions(
                    keys[list(bands)][:, items],
                    lsh,
                    fresh[items],
                    slot[previous],
                    order_by[items],
                    rows_of(items),
                    8,
                    lambda p, items=items: keep(items[p]),
                    rows_in_order=in_order,
                )
                for bands in split
            ]
            got = np.unique(np.concatenate(parts), axis=0)
            assert items[got].tolist() == expected.tolist()
        previous = expected
    assert len(previous) > 50
