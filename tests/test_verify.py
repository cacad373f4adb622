from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.verify import score_pair, score_pairs, sorted_tokens

words = st.text(alphabet="abcde ", max_size=40)


def test_degenerate_inputs() -> None:
    assert score_pair("", "") == 1.0
    assert score_pair("", "abc") == 0.0
    assert score_pair("abc", "") == 0.0


def test_reordered_sentences_score_high() -> None:
    a = "first sentence here second sentence there third one"
    b = "third one second sentence there first sentence here"
    assert score_pair(a, b) == 1.0


def test_batch_matches_single() -> None:
    left = ["the cat sat on the mat", "", "abc"]
    right = ["the cat sat on a mat", "", "xyz"]
    assert np.array_equal(
        score_pairs(left, right), np.array([score_pair(a, b) for a, b in zip(left, right, strict=True)])
    )
    assert score_pairs([], []).shape == (0,)
    with pytest.raises(ValueError, match="same length"):
        score_pairs(["a"], [])


@given(words, words)
def test_score_symmetric_and_bounded(a: str, b: str) -> None:
    s = score_pair(a, b)
    assert 0.0 <= s <= 1.0
    assert s == score_pair(b, a)


@given(words)
def test_identity_scores_one(a: str) -> None:
    assert score_pair(a, a) == 1.0


normalised = st.lists(st.text(alphabet="abcdéz", min_size=1, max_size=4), max_size=12).map(" ".join)


@given(st.lists(st.tuples(normalised, normalised), max_size=5))
def test_presorted_tokens_give_the_same_scores(pairs: list[tuple[str, str]]) -> None:
    left, right = [a for a, _ in pairs], [b for _, b in pairs]
    presorted = score_pairs(
        left, right, left_sorted=[sorted_tokens(a) for a in left], right_sorted=[sorted_tokens(b) for b in right]
    )
    assert np.array_equal(presorted, score_pairs(left, right))
