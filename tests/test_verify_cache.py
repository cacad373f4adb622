"""The verification outcomes a persistent index keeps between runs give the edges a fresh verification gives."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import dedup.pipeline
from dedup.cli import app
from dedup.config import DedupConfig
from dedup.pipeline import (
    Corpus,
    ParagraphEdges,
    build_corpus,
    ingest_corpus,
    iter_batches,
    verify_candidates,
    verify_candidates_cached,
)
from dedup.records import RunStats
from dedup.store import Store
from dedup.verify_cache import paragraph_identities
from tests.conftest import SAMPLE


def _edge_rows(corpus: Corpus, edges: ParagraphEdges) -> list[tuple[object, ...]]:
    """Edges as texts (the smaller text first, credits swapped with it): comparable across numberings."""
    rows = []
    for i, (a, b) in enumerate(zip(edges.a.tolist(), edges.b.tolist(), strict=True)):
        ca, cb = edges.credit_a[i], edges.credit_b[i]
        ta, tb = corpus.norms[a], corpus.norms[b]
        if ta > tb:
            ta, tb, ca, cb = tb, ta, cb, ca
        credits = tuple(None if c is None else tuple(c.tolist()) for c in (ca, cb))
        rows.append((ta, tb, float(edges.score[i]), int(edges.shared[i]), bool(edges.full[i]), credits))
    return sorted(rows, key=repr)


def _same_credit(p: np.ndarray | None, q: np.ndarray | None) -> bool:
    return (p is None and q is None) or (p is not None and q is not None and np.array_equal(p, q))


def _same_edges(x: ParagraphEdges, y: ParagraphEdges) -> bool:
    """Equal arrays, in the same order, and equal per-sentence credits."""
    arrays = ("a", "b", "score", "shared", "full")
    if not all(np.array_equal(getattr(x, name), getattr(y, name)) for name in arrays):
        return False
    pairs = [*zip(x.credit_a, y.credit_a, strict=True), *zip(x.credit_b, y.credit_b, strict=True)]
    return all(_same_credit(p, q) for p, q in pairs)


def test_second_run_reuses_every_outcome(plain_generated: Path, cfg: DedupConfig) -> None:
    corpus = ingest_corpus(plain_generated / "articles", cfg, RunStats())
    fresh = verify_candidates(corpus, cfg, RunStats())
    first_stats, second_stats = RunStats(), RunStats()
    first, cache = verify_candidates_cached(corpus, cfg, first_stats, None)
    second, _ = verify_candidates_cached(corpus, cfg, second_stats, cache)
    assert first_stats.reused_candidate_pairs == 0
    assert second_stats.reused_candidate_pairs == second_stats.candidate_pairs == len(cache) > 100
    assert _same_edges(first, fresh) and _same_edges(second, fresh)
    assert int((~fresh.full).sum()) > 0  # partial pairs (with credits) came from the cache too


def test_cache_of_part_of_the_corpus_in_another_order(plain_generated: Path, cfg: DedupConfig) -> None:
    """Outcomes are keyed by content, not by paragraph numbers: a cache made from half of the files
    read in reverse order serves a run over all of them read in order."""
    root = plain_generated / "articles"
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*.txt"))
    half = list(iter_batches(root, paths[: len(paths) // 2], cfg, RunStats()))
    part = build_corpus(reversed(half), cfg, RunStats())
    _, cache = verify_candidates_cached(part, cfg, RunStats(), None)
    corpus = ingest_corpus(root, cfg, RunStats())
    stats = RunStats()
    edges, fresh_cache = verify_candidates_cached(corpus, cfg, stats, cache)
    assert 0 < stats.reused_candidate_pairs < stats.candidate_pairs
    assert _same_edges(edges, verify_candidates(corpus, cfg, RunStats()))
    assert len(fresh_cache) == stats.candidate_pairs


def _words(rng: random.Random, n: int) -> str:
    return " ".join(f"w{rng.randrange(10**6)}" for _ in range(n))


def test_sentence_turning_template_re_verifies_its_paragraphs(tmp_path: Path, cfg: DedupConfig) -> None:
    """Two paragraphs share a run of two sentences (partial credit). Once 25 more articles carry the
    first sentence it is a template sentence, earns no credit, and the pair is no longer an edge:
    the cached outcome must not survive that change."""
    rng = random.Random(7)
    s1, s2 = (f"{_words(rng, 9)}." for _ in range(2))
    a = f"{s1} {s2} {_words(rng, 9)}. {_words(rng, 9)}."
    b = f"{s1} {s2} {_words(rng, 9)}. {_words(rng, 9)}. {_words(rng, 9)}."
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    (small / "a.txt").write_text(a + "\n", encoding="utf-8")
    (small / "b.txt").write_text(b + "\n", encoding="utf-8")
    shutil.copytree(small, big)
    for i in range(25):
        (big / f"t{i:02d}.txt").write_text(f"{s1} {_words(rng, 9)}. {_words(rng, 9)}.\n", encoding="utf-8")

    small_corpus = ingest_corpus(small, cfg, RunStats())
    small_edges, cache = verify_candidates_cached(small_corpus, cfg, RunStats(), None)
    assert len(small_edges.a) == 1 and not small_edges.full[0]  # a partial pair, credited

    corpus = ingest_corpus(big, cfg, RunStats())
    fresh = verify_candidates(corpus, cfg, RunStats())
    pair = {small_corpus.norms[0], small_corpus.norms[1]}
    assert [r for r in _edge_rows(corpus, fresh) if {r[0], r[1]} == pair] == []
    stats = RunStats()
    edges, _ = verify_candidates_cached(corpus, cfg, stats, cache)
    assert _same_edges(edges, fresh)
    assert stats.reused_candidate_pairs == 0

    # Without the template check the stale outcome would have been used.
    def nothing_dirty(corpus: Corpus, template: np.ndarray, cache: object) -> np.ndarray:
        return np.zeros(len(corpus.norms), dtype=bool)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dedup.pipeline, "_dirty_paragraphs", nothing_dirty)
        stale, _ = verify_candidates_cached(corpus, cfg, RunStats(), cache)
    assert [r for r in _edge_rows(corpus, stale) if {r[0], r[1]} == pair] != []


def test_cache_made_with_other_verification_settings_is_ignored(plain_generated: Path, cfg: DedupConfig) -> None:
    corpus = ingest_corpus(plain_generated / "articles", cfg, RunStats())
    _, cache = verify_candidates_cached(corpus, cfg, RunStats(), None)
    strict = dataclasses.replace(cfg, verify=dataclasses.replace(cfg.verify, min_similarity=0.95))
    stats = RunStats()
    edges, _ = verify_candidates_cached(corpus, strict, stats, cache)
    assert stats.reused_candidate_pairs == 0
    assert _same_edges(edges, verify_candidates(corpus, strict, RunStats()))


def test_identity_depends_on_the_sentence_split() -> None:
    keys = np.array([10, 20, 30], dtype=np.uint64)
    para_keys = np.array([5, 5, 5], dtype=np.uint64)  # one text...
    # ...split as [10, 20], [10, 20] again, and [20, 10]
    start = np.array([0, 2, 4, 6])
    sid = np.array([0, 1, 0, 1, 1, 0])
    ident = paragraph_identities(para_keys, start, sid, keys)
    assert ident[0] == ident[1] != ident[2]


def test_unreadable_cache_is_not_used(tmp_path: Path, cfg: DedupConfig) -> None:
    with Store(tmp_path / "s.sqlite", cfg) as store:
        with store.transaction():
            store.set_cache("verify", {"x": 1})
        assert store.get_cache("verify") == {"x": 1}
        with store.transaction():
            store.db.execute("UPDATE cache SET value = ? WHERE key = 'verify'", (b"not a pickle",))
        assert store.get_cache("verify") is None
        assert store.get_cache("missing") is None


def test_nightly_run_reports_reused_pairs(tmp_path: Path) -> None:
    folder, store = tmp_path / "a", tmp_path / "s.sqlite"
    shutil.copytree(SAMPLE / "articles" / "maca", folder / "maca")
    shutil.copytree(SAMPLE / "articles" / "kratom", folder / "kratom")
    args = ["index", str(folder), "--store", str(store), "--workers", "1", "--json", "-q"]
    first = CliRunner().invoke(app, args)
    (folder / "kratom" / sorted(p.name for p in (folder / "kratom").iterdir())[0]).unlink()
    second = CliRunner().invoke(app, args)
    assert first.exit_code == second.exit_code == 0, second.output
    one, two = json.loads(first.output), json.loads(second.output)
    assert one["reused_candidate_pairs"] == 0 < one["candidate_pairs"]
    assert 0 < two["reused_candidate_pairs"] <= two["candidate_pairs"] < one["candidate_pairs"]


def test_cache_of_another_shape_is_ignored(tmp_path: Path, cfg: DedupConfig) -> None:
    """A cache pickled by another version (here: a field missing) is not used; the run still completes."""
    from dedup.incremental import _stored_cache, index_folder
    from dedup.verify_cache import VerifyCache

    folder = tmp_path / "a"
    shutil.copytree(SAMPLE / "articles" / "maca", folder / "maca")
    with Store(tmp_path / "s.sqlite", cfg) as store:
        index_folder(folder, store, cfg)
        cache = _stored_cache(store)
        assert isinstance(cache, VerifyCache) and len(cache) > 0
        # Pickled as a VerifyCache whose last four fields did not exist yet.
        with pytest.MonkeyPatch.context() as mp, store.transaction():
            mp.setattr(VerifyCache, "__getstate__", lambda self: [getattr(self, n) for n in self.__slots__[:-4]])
            store.set_cache("verify", cache)
        assert _stored_cache(store) is None
        result, _ = index_folder(folder, store, cfg)
        assert result.stats.reused_candidate_pairs == 0
        assert _stored_cache(store) is not None


def test_cache_made_before_band_candidates_were_kept_is_used(tmp_path: Path, cfg: DedupConfig) -> None:
    """The previous version's cache (no band fields) keeps its outcomes; the bands are made in full."""
    from dedup.incremental import _stored_cache, index_folder
    from dedup.verify_cache import VerifyCache

    folder = tmp_path / "a"
    shutil.copytree(SAMPLE / "articles" / "maca", folder / "maca")
    with Store(tmp_path / "s.sqlite", cfg) as store:
        index_folder(folder, store, cfg)
        with pytest.MonkeyPatch.context() as mp, store.transaction():
            mp.setattr(VerifyCache, "__getstate__", lambda self: [getattr(self, n) for n in self.__slots__[:-3]])
            store.set_cache("verify", _stored_cache(store))
        old = _stored_cache(store)
        assert old is not None and len(old) > 0 and old.band_params == () and not len(old.band_keys)
        shutil.copytree(SAMPLE / "articles" / "ginseng", folder / "ginseng")
        result, _ = index_folder(folder, store, cfg)
        assert result is not None and result.stats.reused_candidate_pairs > 0
        assert len(_stored_cache(store).band_keys) > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_nightly_runs_with_edits_equal_a_scan(
    plain_generated: Path, tmp_path: Path, cfg: DedupConfig, seed: int
) -> None:
    """Runs that add, edit (a paragraph copied in from another article) and remove files, each
    re-using the outcomes the previous run kept, give exactly the result of a scan of the folder."""
    from dedup.incremental import index_folder
    from dedup.pipeline import run

    rng = random.Random(seed)
    sources = sorted((plain_generated / "articles").rglob("*.txt"))
    rng.shuffle(sources)
    folder = tmp_path / "corpus"
    folder.mkdir()
    reused = []
    with Store(tmp_path / "s.sqlite", cfg) as store:
        for step in range(4):
            for src in sources[step * 30 : (step + 1) * 30]:
                shutil.copyfile(src, folder / src.name)
            present = sorted(folder.iterdir())
            if step:
                edited, donor, removed = rng.sample(present, 3)
                paragraph = rng.choice([p for p in donor.read_text().split("\n") if len(p.split()) > 12])
                edited.write_text(edited.read_text() + "\n" + paragraph + "\n")
                removed.unlink()
            stored, _ = index_folder(folder, store, cfg)
            scanned = run(folder, cfg)
            assert stored.pairs == scanned.pairs
            # Cluster ids are kept from run to run in a store, so only the memberships are compared.
            assert sorted(sorted(m.path for m in c.members) for c in stored.clusters) == sorted(
                sorted(m.path for m in c.members) for c in scanned.clusters
            )
            assert [(g.id, g.articles, g.is_template) for g in stored.groups] == [
                (g.id, g.articles, g.is_template) for g in scanned.groups
            ]
            assert [dataclasses.replace(a, cluster_id="") for a in stored.articles] == [
                dataclasses.replace(a, cluster_id="") for a in scanned.articles
            ]
            reused.append(stored.stats.reused_candidate_pairs)
    assert reused[0] == 0 and all(r > 0 for r in reused[1:])


@pytest.mark.parametrize(("window", "seed"), [(1, 3), (2, 4), (64, 5)])
def test_runs_that_add_files_bring_the_band_pairs_up_to_date(
    plain_generated: Path, tmp_path: Path, cfg: DedupConfig, window: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that only adds a few files starts from the last run's paragraph-band pairs (with a
    small window, added paragraphs push earlier ones out of it) and still gives a scan's result."""
    from dedup.incremental import _stored_cache, index_folder
    from dedup.pipeline import ingest_corpus, run

    cfg = dataclasses.replace(cfg, lsh=dataclasses.replace(cfg.lsh, max_bucket_neighbors=window))
    updated: list[int] = []
    real = dedup.pipeline.candidate_pairs_after_additions

    def spy(*args: object, **kwargs: object) -> np.ndarray:
        updated.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dedup.pipeline, "candidate_pairs_after_additions", spy)
    sources = sorted((plain_generated / "articles").rglob("*.txt"))
    random.Random(seed).shuffle(sources)
    folder = tmp_path / "corpus"
    folder.mkdir()
    with Store(tmp_path / "s.sqlite", cfg) as store:
        for step, (lo, hi) in enumerate([(0, 96), (96, 100), (100, 106), (106, 108)]):
            for src in sources[lo:hi]:
                shutil.copyfile(src, folder / src.name)
            stored, _ = index_folder(folder, store, cfg)
            assert len(updated) == (0 if step == 0 else 1)
            updated.clear()
            corpus = ingest_corpus(folder, cfg, RunStats())
            strong = corpus.para_keys[dedup.pipeline._strong_band_pairs(corpus, cfg)]
            kept = _stored_cache(store)
            assert kept is not None and len(strong) > 20
            kept_keys = np.sort(kept.band_keys[kept.band_pairs], axis=1)
            assert sorted(kept_keys.tolist()) == sorted(np.sort(strong, axis=1).tolist())
            scanned = run(folder, cfg)
            assert stored.stats.candidate_pairs == scanned.stats.candidate_pairs
            assert stored.pairs == scanned.pairs
            assert sorted(sorted(m.path for m in c.members) for c in stored.clusters) == sorted(
                sorted(m.path for m in c.members) for c in scanned.clusters
            )
