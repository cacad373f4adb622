"""Metric functions against hand-computed values."""

from __future__ import annotations

import pytest

from dedup.evaluate import adjusted_rand_index, cluster_pairs, pairwise_scores


def test_pairs_ignore_empty_labels() -> None:
    assert cluster_pairs({"a": "1", "b": "1", "c": "1", "d": ""}) == {("a", "b"), ("a", "c"), ("b", "c")}


def test_pairwise_hand_computed() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2", "f": "3"}
    pred = {"a": "x", "b": "x", "d": "y", "e": "y", "f": "y"}
    s = pairwise_scores(truth, pred)
    # truth pairs: ab ac bc de (4); predicted: ab de df ef (4); TP = ab, de
    assert (s.true_positives, s.false_positives, s.false_negatives) == (2, 2, 2)
    assert s.precision == 0.5 and s.recall == 0.5 and s.f1 == 0.5


def test_pairwise_empty_cases() -> None:
    s = pairwise_scores({"a": "1", "b": "2"}, {})
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    s = pairwise_scores({"a": "1", "b": "1"}, {})
    assert (s.precision, s.recall, s.f1) == (1.0, 0.0, 0.0)


def test_predicted_paths_outside_truth_are_ignored() -> None:
    s = pairwise_scores({"a": "1", "b": "1"}, {"a": "x", "b": "x", "zzz": "x"})
    assert (s.true_positives, s.false_positives) == (1, 0)


def test_ari_hand_computed() -> None:
    # Contingency for truth {1:a,b,c} {2:d,e} vs pred {x:a,b} {y:c,d,e}:
    # sum C(n_ij,2) = C(2,2)+C(1,2)+C(2,2) = 2; rows: C(3,2)+C(2,2)=4; cols: C(2,2)+C(3,2)=4
    # expected = 4*4/C(5,2)=1.6; max = 4; ARI = (2-1.6)/(4-1.6) = 1/6
    truth = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2"}
    pred = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y"}
    assert adjusted_rand_index(truth, pred) == pytest.approx(1 / 6)


def test_ari_identity_and_singletons() -> None:
    truth = {"a": "1", "b": "1", "c": "2"}
    assert adjusted_rand_index(truth, {"a": "q", "b": "q"}) == 1.0
    # All singletons on both sides: identical partitions.
    assert adjusted_rand_index({"a": "1", "b": "2"}, {}) == 1.0
    assert adjusted_rand_index({"a": "1"}, {}) == 1.0
