"""Union-find, paragraph groups, and article clusters with a guard against chaining."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from dedup.config import KeepPolicy


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by smaller root index.

    >>> uf = UnionFind(4); uf.union(2, 3); uf.union(1, 3); uf.labels().tolist()
    [0, 1, 1, 1]
    """

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        """Root of ``x``'s set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        """Merge the sets of ``a`` and ``b``; the smaller root index becomes the root."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def labels(self) -> np.ndarray:
        """Root of every element: equal labels mean the same set; a label is its set's smallest index."""
        return np.fromiter((self.find(i) for i in range(len(self.parent))), dtype=np.int64)


def connected_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (smallest member index) of each of ``n`` nodes, given edges ``a[i]``-``b[i]``.

    The same labels as :class:`UnionFind`, from SciPy's compiled connected components.

    >>> connected_labels(5, np.array([3, 0]), np.array([4, 2])).tolist()
    [0, 1, 0, 3, 3]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # Nodes are met in index order, so a component's first node is its smallest.
    _, first = np.unique(component, return_index=True)
    return first[component].astype(np.int64)


def stable_id(prefix: str, key: str) -> str:
    """Deterministic short id from a key (first 10 hex digits of its SHA-1).

    >>> stable_id("c", "a.txt")
    'ccfc7b48853'
    """
    return prefix + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def representative_key(keep: KeepPolicy) -> Callable[[tuple[str, int]], tuple[object, ...]]:
    """Sort key over ``(path, chars)``: the minimum is the representative for ``keep``.

    Ties are broken by path, so the choice never depends on input order.

    >>> sorted([("b", 5), ("a", 5), ("c", 9)], key=representative_key(KeepPolicy.LONGEST))[0]
    ('c', 9)
    """
    if keep is KeepPolicy.LONGEST:
        return lambda item: (-item[1], item[0])
    if keep is KeepPolicy.SHORTEST:
        return lambda item: (item[1], item[0])
    return lambda item: (item[0],)


def _components(nodes: set[int], neighbors: Mapping[int, Mapping[int, float]]) -> list[list[int]]:
    """Connected components of the subgraph induced by ``nodes`` (each sorted, in order of minimum)."""
    out: list[list[int]] = []
    unvisited = set(nodes)
    for start in sorted(nodes):
        if start not in unvisited:
            continue
        unvisited.discard(start)
        stack, component = [start], [start]
        while stack:
            for nxt in neighbors.get(stack.pop(), {}):
                if nxt in unvisited:
                    unvisited.discard(nxt)
                    stack.append(nxt)
                    component.append(nxt)
        out.append(sorted(component))
    return out


def guarded_clusters(
    nodes: Iterable[int],
    neighbors: Mapping[int, Mapping[int, float]],
    floor: float,
    rank: Callable[[int], tuple[object, ...]],
    solo_ok: Callable[[int], bool] = lambda node: False,
    direct: Mapping[int, Mapping[int, float]] | None = None,
    guard: bool = True,
) -> list[tuple[int, list[int]]]:
    """Split a set of linked nodes into clusters whose members all match their representative.

    Per connected component: the best-ranked node becomes the representative; every node whose
    *direct* similarity to it is at least ``floor`` joins it; the remaining nodes are split into
    connected components again (over the edges among themselves) and processed the same way. A
    chain A~B~C where A and C do not match thus cannot pull C into A's cluster.

    Args:
        nodes: the nodes to cluster.
        neighbors: symmetric adjacency ``{x: {y: similarity}}``.
        floor: minimum direct similarity to the representative.
        rank: sort key; the smallest node of a component is its representative.
        solo_ok: nodes that form a cluster on their own (a node standing for several exact copies).
        direct: similarities used for the floor test, when they include pairs below the linking
            threshold (so a floor lower than the threshold has an effect); defaults to ``neighbors``.
        guard: ``False`` keeps whole connected components (single linkage: chains allowed).

    Returns:
        ``(representative, sorted members)`` pairs, sorted; single-node clusters are dropped
        unless ``solo_ok`` says otherwise.

    >>> adj = {0: {1: 0.9}, 1: {0: 0.9, 2: 0.9}, 2: {1: 0.9}}
    >>> guarded_clusters([0, 1, 2], adj, 0.5, lambda n: (n,))
    [(0, [0, 1])]
    """
    out: list[tuple[int, list[int]]] = []
    work = _components(set(nodes), neighbors)
    while work:
        component = work.pop()
        if len(component) < 2 and not solo_ok(component[0]):
            continue
        rep = min(component, key=rank)
        links = (direct if direct is not None else neighbors).get(rep, {})
        members = [n for n in component if not guard or n == rep or links.get(n, 0.0) >= floor]
        if len(members) > 1 or solo_ok(rep):
            out.append((rep, members))
        # A representative that matches nobody above the floor is dropped; the others retry.
        rest = set(component).difference(members)
        if rest:
            work.extend(_components(rest, neighbors))
    return sorted(out)


__all__ = [
    "UnionFind",
    "connected_labels",
    "guarded_clusters",
    "representative_key",
    "stable_id",
]
