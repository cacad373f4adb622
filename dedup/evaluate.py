"""Clustering quality metrics against a ground truth: pairwise precision/recall/F1 and ARI.

A clustering is a mapping ``path -> cluster label``; a path missing from the predicted mapping (or
with an empty label) is a singleton.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from math import comb
from pathlib import Path

from dedup.errors import InputError


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairwise confusion counts and the derived scores."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was predicted."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when the truth has no pairs."""
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _complete(labels: Mapping[str, str], universe: Iterable[str]) -> dict[str, str]:
    """Labels for every path of ``universe``; missing or empty labels become unique singletons."""
    return {p: (labels.get(p) or f"\0singleton:{p}") for p in universe}


def cluster_pairs(labels: Mapping[str, str]) -> set[tuple[str, str]]:
    """All unordered pairs ``(a, b)``, ``a < b``, that share a non-empty label.

    >>> sorted(cluster_pairs({"a": "x", "b": "x", "c": "y", "d": ""}))
    [('a', 'b')]
    """
    members: dict[str, list[str]] = {}
    for path, label in labels.items():
        if label:
            members.setdefault(label, []).append(path)
    return {pair for group in members.values() for pair in combinations(sorted(group), 2)}


def pairwise_scores(truth: Mapping[str, str], predicted: Mapping[str, str]) -> PairScores:
    """Pairwise confusion counts of ``predicted`` against ``truth`` over the truth's paths.

    >>> s = pairwise_scores({"a": "1", "b": "1", "c": "1", "d": "2"}, {"a": "x", "b": "x", "d": "x"})
    >>> (s.true_positives, s.false_positives, s.false_negatives)
    (1, 2, 2)
    """
    universe = set(truth)
    t = cluster_pairs(truth)
    p = cluster_pairs({k: v for k, v in predicted.items() if k in universe})
    return PairScores(len(t & p), len(p - t), len(t - p))


def adjusted_rand_index(truth: Mapping[str, str], predicted: Mapping[str, str]) -> float:
    """Adjusted Rand Index (Hubert & Arabie) over the truth's paths; unpredicted paths are singletons.

    >>> adjusted_rand_index({"a": "1", "b": "1", "c": "2"}, {"a": "x", "b": "x", "c": "y"})
    1.0
    >>> truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    >>> round(adjusted_rand_index(truth, {"a": "x", "b": "y", "c": "x", "d": "y"}), 4)
    -0.5
    """
    universe = sorted(truth)
    t = _complete(truth, universe)
    p = _complete(predicted, universe)
    n = len(universe)
    if n < 2:
        return 1.0
    joint = Counter((t[x], p[x]) for x in universe)
    sum_joint = sum(comb(v, 2) for v in joint.values())
    sum_t = sum(comb(v, 2) for v in Counter(t.values()).values())
    sum_p = sum(comb(v, 2) for v in Counter(p.values()).values())
    expected = sum_t * sum_p / comb(n, 2)
    maximum = (sum_t + sum_p) / 2
    if maximum == expected:
        return 1.0
    return (sum_joint - expected) / (maximum - expected)


def read_truth(path: Path) -> dict[str, str]:
    """Read a ``path,cluster`` CSV (header required).

    Raises:
        InputError: the file is missing or lacks the two columns.
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"path", "cluster"} <= set(reader.fieldnames):
                raise InputError(f"truth file {path} needs a header with 'path' and 'cluster' columns")
            return {row["path"]: row["cluster"] for row in reader}
    except OSError as exc:
        raise InputError(f"cannot read truth file {path}: {exc.strerror or exc}") from None


__all__ = [
    "PairScores",
    "adjusted_rand_index",
    "cluster_pairs",
    "pairwise_scores",
    "read_truth",
]
