from __future__ import annotations

import numpy as np
import pytest

from dedup.cluster import UnionFind, connected_labels, guarded_clusters, representative_key, stable_id
from dedup.config import KeepPolicy


def test_union_find_labels_are_smallest_member() -> None:
    uf = UnionFind(6)
    uf.union(5, 3)
    uf.union(3, 1)
    uf.union(2, 4)
    assert uf.labels().tolist() == [0, 1, 2, 1, 2, 1]
    assert connected_labels(3, np.empty(0, np.int64), np.empty(0, np.int64)).tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(5))
def test_connected_labels_equal_union_find(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    a, b = rng.integers(0, n, 200), rng.integers(0, n, 200)
    uf = UnionFind(n)
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        uf.union(x, y)
    assert connected_labels(n, a, b).tolist() == uf.labels().tolist()


def test_chain_guard() -> None:
    # 0~1 and 1~2 match, 0 and 2 do not: 2 must not join 0's cluster.
    adj = {0: {1: 0.9}, 1: {0: 0.9, 2: 0.8}, 2: {1: 0.8}}
    assert guarded_clusters([0, 1, 2], adj, 0.5, lambda n: (n,)) == [(0, [0, 1])]
    # With 1 as representative the whole chain is one cluster.
    assert guarded_clusters([0, 1, 2], adj, 0.5, lambda n: (n != 1, n)) == [(1, [0, 1, 2])]


def test_leftovers_form_their_own_cluster() -> None:
    adj = {0: {1: 0.9}, 1: {0: 0.9, 2: 0.6}, 2: {1: 0.6, 3: 0.9}, 3: {2: 0.9}}
    assert guarded_clusters([0, 1, 2, 3], adj, 0.7, lambda n: (n,)) == [(0, [0, 1]), (2, [2, 3])]


def test_floor_excludes_weak_members() -> None:
    adj = {0: {1: 0.9, 2: 0.55}, 1: {0: 0.9}, 2: {0: 0.55}}
    assert guarded_clusters([0, 1, 2], adj, 0.6, lambda n: (n,)) == [(0, [0, 1])]


def test_solo_nodes() -> None:
    assert guarded_clusters([4], {}, 0.5, lambda n: (n,)) == []
    assert guarded_clusters([4], {}, 0.5, lambda n: (n,), solo_ok=lambda n: True) == [(4, [4])]


def test_representative_policies() -> None:
    items = [("b.txt", 10), ("a.txt", 10), ("c.txt", 30), ("d.txt", 5)]
    pick = {k: min(items, key=representative_key(k))[0] for k in KeepPolicy}
    assert pick == {KeepPolicy.LONGEST: "c.txt", KeepPolicy.FIRST: "a.txt", KeepPolicy.SHORTEST: "d.txt"}
    # Ties are broken by path.
    assert min([("b", 3), ("a", 3)], key=representative_key(KeepPolicy.LONGEST)) == ("a", 3)


def test_stable_id() -> None:
    assert stable_id("c", "x") == stable_id("c", "x")
    assert stable_id("c", "x") != stable_id("c", "y")
    assert len(stable_id("g", "x")) == 11
