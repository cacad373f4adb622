from __future__ import annotations

import random

import numpy as np
import pytest

from dedup.config import LshConfig, ShingleConfig, optimal_bands_rows
from dedup.errors import ConfigError
from dedup.fingerprint import signatures
from dedup.index import band_keys, bucket_pairs, candidate_pairs, stable_argsort


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


def test_candidates_sorted_unique() -> None:
    sigs = np.array([[1, 1], [1, 1], [1, 1], [2, 2]], dtype=np.uint32)
    cand = candidate_pairs(sigs, LshConfig(num_perm=2, bands=2, rows=1))
    assert cand.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert candidate_pairs(sigs[:1], LshConfig(num_perm=2, bands=2, rows=1)).shape == (0, 2)


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
