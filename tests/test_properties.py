"""Properties of the clustering and the reports over random small corpora (hypothesis)."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.cli import build_config
from dedup.pipeline import run
from dedup.records import text_sample
from dedup.report import write_reports

VOCAB = [f"word{i}" for i in range(300)]


def _corpus(root: Path, seed: int, n_docs: int, n_bases: int) -> None:
    rng = random.Random(seed)
    bases = [[" ".join(rng.choice(VOCAB) for _ in range(20)) + "." for _ in range(4)] for _ in range(n_bases)]
    for i in range(n_docs):
        paras = list(rng.choice(bases))
        if rng.random() < 0.5:  # a variant: one paragraph replaced, another edited
            paras[rng.randrange(4)] = " ".join(rng.choice(VOCAB) for _ in range(20)) + "."
        if rng.random() < 0.3:
            rng.shuffle(paras)
        (root / f"d{i:03d}.txt").write_text("\n".join(paras) + "\n", encoding="utf-8")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_docs=st.integers(2, 14), n_bases=st.integers(1, 5))
def test_clusters_partition_roundtrip_and_order_independence(seed: int, n_docs: int, n_bases: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "in"
        root.mkdir()
        _corpus(root, seed, n_docs, n_bases)
        result = run(root, build_config(workers=1))
        members = [m.path for c in result.clusters for m in c.members]
        # Clusters partition the flagged articles: disjoint, none of size one, one representative each.
        assert len(members) == len(set(members))
        assert all(len(c.members) >= 2 for c in result.clusters)
        assert all(sum(m.is_representative for m in c.members) == 1 for c in result.clusters)
        assert all(0.0 <= m.similarity_to_representative <= 1.0 for c in result.clusters for m in c.members)
        assert all(p.a < p.b and 0.0 <= p.similarity <= 1.0 for p in result.pairs)
        # Writing the CSV and reading it back gives the same clusters.
        write_reports(result, Path(tmp) / "out")
        with (Path(tmp) / "out" / "clusters.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        read_back = sorted({(r["cluster_id"], r["path"]) for r in rows})
        assert read_back == sorted((c.id, m.path) for c in result.clusters for m in c.members)
        # The same articles written in another order give the same clusters.
        other = Path(tmp) / "shuffled"
        other.mkdir()
        files = sorted(root.iterdir())
        random.Random(seed).shuffle(files)
        for f in files:
            (other / f.name).write_bytes(f.read_bytes())
        again = run(other, build_config(workers=1))
        assert [(c.id, [m.path for m in c.members]) for c in again.clusters] == [
            (c.id, [m.path for m in c.members]) for c in result.clusters
        ]


@given(
    st.lists(
        st.sampled_from(["a", "b", "é", " ", "\n", "\t", "   ", "word", "\xa0", "\u3000", "\x85", "\u200b"]),
        max_size=900,
    ).map("".join),
    st.sampled_from([5, 12, 160]),
)
def test_text_sample_equals_collapsing_the_whole_text(text: str, limit: int) -> None:
    """The sample collapses only a prefix of the paragraph; it must equal collapsing all of it."""
    whole = " ".join(text.split())
    want = whole[: limit - 1].rstrip() + "…" if len(whole) > limit else whole
    assert text_sample(text, limit) == want
