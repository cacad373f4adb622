"""Verification of candidate paragraph pairs with rapidfuzz.

This is the only module that converts between rapidfuzz's 0-100 scores and the 0-1 fractions used
everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist


def score_pair(a: str, b: str) -> float:
    """Similarity of two normalised paragraphs in [0, 1].

    The larger of ``fuzz.ratio`` (normalised Indel similarity: tolerant of synonym swaps and small
    edits) and ``fuzz.token_sort_ratio`` (the same on sorted words: tolerant of reordered
    sentences). Two empty strings are identical (1.0); an empty and a non-empty one score 0.0.

    >>> score_pair("the cat sat", "the cat sat")
    1.0
    >>> score_pair("abc", "abd")
    0.6667
    >>> score_pair("b a", "a b") == score_pair("a b", "b a") == 1.0
    True
    >>> score_pair("", ""), score_pair("", "x")
    (1.0, 0.0)
    """
    return float(score_pairs([a], [b])[0])


def sorted_tokens(text: str) -> str:
    """The words of a text in sorted order.

    ``fuzz.token_sort_ratio(a, b) == fuzz.ratio(sorted_tokens(a), sorted_tokens(b))``, so each text
    can be sorted once instead of once per pair.

    >>> sorted_tokens("the cat sat")
    'cat sat the'
    """
    return " ".join(sorted(text.split()))


def score_pairs(
    left: Sequence[str],
    right: Sequence[str],
    workers: int = 1,
    left_sorted: Sequence[str] | None = None,
    right_sorted: Sequence[str] | None = None,
) -> np.ndarray:
    """:func:`score_pair` for ``left[i]`` against ``right[i]``, batched in rapidfuzz's C++ threads.

    Args:
        left: first texts.
        right: second texts (same length).
        workers: rapidfuzz threads (-1 for all cores).
        left_sorted: :func:`sorted_tokens` of ``left`` when the caller has them (each text is then
            sorted once, not once per pair).
        right_sorted: the same for ``right``.

    Returns:
        float64 array of scores in [0, 1].
    """
    if len(left) != len(right):
        raise ValueError("left and right must have the same length")
    if not left:
        return np.empty(0, dtype=np.float64)
    ratio = cpdist(left, right, scorer=fuzz.ratio, workers=workers, dtype=np.float32)
    if left_sorted is not None and right_sorted is not None:
        token = cpdist(left_sorted, right_sorted, scorer=fuzz.ratio, workers=workers, dtype=np.float32)
    else:
        token = cpdist(left, right, scorer=fuzz.token_sort_ratio, workers=workers, dtype=np.float32)
    scores = np.maximum(ratio, token).astype(np.float64) / 100.0
    n = len(left)
    both_empty = (np.fromiter(map(len, left), np.int64, n) == 0) & (np.fromiter(map(len, right), np.int64, n) == 0)
    scores[both_empty] = 1.0
    return np.round(scores, 4)


__all__ = ["score_pair", "score_pairs", "sorted_tokens"]
