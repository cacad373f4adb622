"""End-to-end behaviour of the pipeline on generated corpora with ground truth."""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.process import cdist
from scipy import sparse

from dedup import pipeline
from dedup.cli import build_config
from dedup.cluster import stable_id
from dedup.config import KeepPolicy
from dedup.evaluate import pairwise_scores
from dedup.fingerprint import signature_jaccard
from dedup.index import band_keys, candidate_pairs_from_keys
from dedup.ingest import discover_files
from dedup.pipeline import (
    Corpus,
    ParagraphEdges,
    _Batch,
    _candidate_tasks,
    _exact_jaccards,
    _near_bar,
    _pair_links,
    _ShingleIndex,
    _strong_band_pairs,
    _unique_pairs,
    _unique_sorted_in_place,
    analyse,
    digest_files,
    match_corpus,
    run,
    template_sentences,
    verify_candidates,
)
from dedup.records import ArticlePair, RunStats
from dedup.report import write_reports
from dedup.spill import SpilledRows
from dedup.verify import sorted_tokens
from tests.conftest import SAMPLE, read_truth_csv


def _families(truth: dict[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for path, label in truth.items():
        groups[label].append(path)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _predicted(result) -> dict[str, str]:
    return {m.path: m.cluster_id for c in result.clusters for m in c.members}


def test_planted_clusters_found_exactly_first(generated: Path) -> None:
    truth = read_truth_csv(generated / "truth.csv")
    cfg = build_config(workers=1, keep=KeepPolicy.FIRST)
    result = run(generated / "articles", cfg)
    assert result.stats.articles == len(truth)
    got = sorted((c.id, c.representative, sorted(m.path for m in c.members)) for c in result.clusters)
    want = sorted((stable_id("c", fam[0]), fam[0], fam) for fam in _families(truth))
    assert got == want


def _txt_chars(path: Path) -> int:
    return sum(len(line.strip()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.mark.parametrize("keep", [KeepPolicy.LONGEST, KeepPolicy.SHORTEST])
def test_planted_representatives_by_length(plain_generated: Path, keep: KeepPolicy) -> None:
    root = plain_generated / "articles"
    truth = read_truth_csv(plain_generated / "truth.csv")
    result = run(root, build_config(workers=1, keep=keep))
    chars = {p: _txt_chars(root / p) for p in truth}
    sign = -1 if keep is KeepPolicy.LONGEST else 1
    want = {stable_id("c", fam[0]): min(fam, key=lambda p: (sign * chars[p], p)) for fam in _families(truth)}
    assert {c.id: c.representative for c in result.clusters} == want
    for c in result.clusters:
        rep_rows = [m for m in c.members if m.is_representative]
        assert [m.path for m in rep_rows] == [c.representative]
        assert c.members[0].is_representative
        assert all(m.cluster_size == len(c.members) for m in c.members)
        assert all(m.chars == chars[m.path] for m in c.members)


def test_sample_precision_recall() -> None:
    truth = read_truth_csv(SAMPLE / "truth.csv")
    result = run(SAMPLE / "articles", build_config(workers=1))
    scores = pairwise_scores(truth, _predicted(result))
    assert scores.precision >= 0.98
    assert scores.recall >= 0.98
    assert result.stats.skipped == {}
    assert result.stats.boilerplate_groups >= 3


def _oracle_edges(corpus, cfg) -> ParagraphEdges:
    """Exhaustive verification: every pair of distinct paragraph texts scored, no LSH, no pre-filter."""
    norms = corpus.norms
    ratio = cdist(norms, norms, scorer=fuzz.ratio, dtype=np.float32)
    token = cdist(norms, norms, scorer=fuzz.token_sort_ratio, dtype=np.float32)
    scores = np.round(np.maximum(ratio, token).astype(np.float64) / 100.0, 4)
    sizes = corpus.shingle_counts
    rows = np.repeat(np.arange(len(norms)), sizes)
    _, cols = np.unique(corpus.shingles, return_inverse=True)
    m = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)))
    shared = (m @ m.T).toarray().astype(np.int64)
    full = scores >= cfg.verify.min_similarity
    # Two shared shingles is the least any credited sentence needs (half of a 3-word+ sentence's).
    x, y = np.nonzero(np.triu(full | (shared >= 2), k=1))
    index = _ShingleIndex(corpus, template_sentences(corpus, cfg))
    bar = cfg.verify.min_containment
    ca, off_a = index.sentence_credit(x, y, bar)
    cb, off_b = index.sentence_credit(y, x, bar)
    split_a, split_b = np.split(ca, off_a[1:-1]), np.split(cb, off_b[1:-1])
    keep = [i for i in range(len(x)) if full[x[i], y[i]] or split_a[i].any() or split_b[i].any()]
    a, b = x[keep], y[keep]
    credit_a = tuple(None if full[a[k], b[k]] else split_a[i] for k, i in enumerate(keep))
    credit_b = tuple(None if full[a[k], b[k]] else split_b[i] for k, i in enumerate(keep))
    return ParagraphEdges(a, b, scores[a, b], shared[a, b], full[a, b], credit_a, credit_b)


def test_article_pairs_match_brute_force_oracle(plain_generated: Path) -> None:
    cfg = build_config(workers=1)
    corpus, edges, stats = match_corpus(plain_generated / "articles", cfg)
    lsh_result = analyse(corpus, edges, cfg, dataclasses.replace(stats))
    oracle = analyse(corpus, _oracle_edges(corpus, cfg), cfg, dataclasses.replace(stats))
    margin = 0.1
    threshold = cfg.cluster.min_article_similarity
    found = {(p.a, p.b) for p in lsh_result.pairs}
    must = [k for k, s in oracle.scored.items() if s >= threshold + margin]
    assert len(must) > 20
    assert [k for k in must if k not in found] == []
    assert [k for k in found if k in oracle.scored and oracle.scored[k] < threshold - margin] == []
    # LSH never invents a match the exhaustive search would not make.
    assert set(lsh_result.scored) <= set(oracle.scored)


def _csv_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def test_deterministic_whatever_file_order_workers_and_batch_size(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = generated / "articles"
    files = sorted(p for p in src.rglob("*") if p.is_file())
    random.Random(1).shuffle(files)
    copy_root = tmp_path / "shuffled"
    for f in files:  # a copy whose directory entries were created in another order
        target = copy_root / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    write_reports(run(src, build_config(workers=1)), tmp_path / "one")

    import dedup.ingest
    import dedup.pipeline

    real_scandir = dedup.ingest.os.scandir

    def shuffled_scandir(path):
        entries = list(real_scandir(path))
        random.Random(len(entries)).shuffle(entries)
        return iter(entries)

    monkeypatch.setattr(dedup.ingest.os, "scandir", shuffled_scandir)
    # Small read tasks: many batches, split between the workers, folded into the corpus in turn.
    monkeypatch.setattr(dedup.pipeline, "_FILES_PER_TASK", 7)
    result = run(copy_root, build_config(workers=2))
    monkeypatch.undo()
    write_reports(result, tmp_path / "two")
    one, two = _csv_bytes(tmp_path / "one"), _csv_bytes(tmp_path / "two")
    assert list(one) == ["articles.csv", "boilerplate.csv", "clusters.csv", "pairs.csv", "skipped.csv"]
    assert one == two


def _article(words: list[str], rng: random.Random, n: int = 4) -> list[str]:
    return [" ".join(rng.choice(words) for _ in range(30)) + "." for _ in range(n)]


def test_template_only_articles_do_not_cluster(tmp_path: Path) -> None:
    rng = random.Random(2)
    vocab = [f"word{i}" for i in range(3000)]
    template = _article(vocab, rng, 3)
    for i in range(12):
        body = _article(vocab, rng, 2)  # unique content, less than the template
        (tmp_path / f"a{i:02d}.txt").write_text("\n".join(template + body) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    assert result.clusters == []
    assert result.stats.boilerplate_groups == 3
    assert {a.template_pct > 50 and a.shared_pct == 0.0 for a in result.articles} == {True}
    assert {round(a.template_pct + a.shared_pct + a.unique_pct, 1) for a in result.articles} == {100.0}
    assert [g.articles for g in result.groups] == [12, 12, 12]
    with_template = run(tmp_path, build_config(workers=1, include_boilerplate=True))
    assert len(with_template.clusters) == 1 and len(with_template.clusters[0].members) == 12


def test_exact_copies_cluster_and_count_once_for_boilerplate(tmp_path: Path) -> None:
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(3000)]
    text = "\n".join(_article(vocab, rng)) + "\n"
    for i in range(15):  # 15 syndicated copies: more than boilerplate_min_articles, still one text
        (tmp_path / f"copy{i:02d}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "other.txt").write_text("\n".join(_article(vocab, rng)) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    assert [len(c.members) for c in result.clusters] == [15]
    assert result.stats.boilerplate_groups == 0
    assert len(result.pairs) == 14  # each copy against the first copy
    assert {p.similarity for p in result.pairs} == {1.0}


def test_article_without_paragraphs_and_single_paragraph(tmp_path: Path) -> None:
    (tmp_path / "headings.md").write_text("# Title\n\n## Sub heading\n", encoding="utf-8")
    para = "This single paragraph article has more than enough words to be indexed by dedup today."
    (tmp_path / "one.txt").write_text(para, encoding="utf-8")
    (tmp_path / "two.txt").write_text(para, encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    rows = {a.path: a for a in result.articles}
    assert rows["headings.md"].paragraphs == 0 and rows["headings.md"].short_segments == 2
    assert (rows["headings.md"].template_pct, rows["headings.md"].unique_pct) == (0.0, 0.0)
    assert [sorted(m.path for m in c.members) for c in result.clusters] == [["one.txt", "two.txt"]]


def test_paragraph_repeated_in_two_articles_is_matched_occurrence_by_occurrence(tmp_path: Path) -> None:
    """A broken scrape repeats a paragraph hundreds of times: each repeat is matched (it counts in
    the coverage), but one evidence row per repeat, not one per pair of repeats."""
    repeated = "This paragraph about herbal supplements repeats itself again and again in a broken scrape."
    ends = [
        "A closing paragraph of the first article that has enough words of its own to be indexed here.",
        "Quite another ending for the second article, also long enough to be indexed on its own today.",
    ]
    for name, m, end in (("a.txt", 300, ends[0]), ("b.txt", 200, ends[1])):
        (tmp_path / name).write_text("\n\n".join([repeated] * m + [end]) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    (pair,) = result.pairs
    assert (pair.a, pair.b, pair.matched_paragraphs) == ("a.txt", "b.txt", 300)
    assert [(m.index_a, m.index_b) for m in pair.matches] == [(k, min(k, 199)) for k in range(300)]
    share = 300 * len(repeated) / (300 * len(repeated) + len(ends[0]))
    assert pair.containment_a == round(share, 4) and pair.similarity == round(share, 4)


def test_evidence_keeps_each_paragraphs_best_match(tmp_path: Path) -> None:
    """Two scraped lists of near-identical lines: every line of a matches every line of b, but the
    evidence keeps only each line's best match on the other side (its own counterpart), not the
    hundreds of pairs of lines; the coverage still counts every line."""
    line = "Line number {} of the generated list repeats the same words again and again here {}."
    for name, side in (("a.txt", "alpha"), ("b.txt", "beta")):
        lines = [line.format(k, side) for k in range(24)]
        (tmp_path / name).write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    (pair,) = result.pairs
    assert result.stats.verified_paragraph_pairs > 500  # lines of one list match each other too
    assert (pair.a, pair.b, pair.matched_paragraphs, pair.containment_a) == ("a.txt", "b.txt", 24, 1.0)
    assert [(m.index_a, m.index_b, m.full) for m in pair.matches] == [(k, k, True) for k in range(24)]


def test_evidence_leaves_out_matches_no_side_prefers(tmp_path: Path) -> None:
    """A partial match between paragraphs that both have a full match elsewhere is left out of the
    evidence (it adds nothing the full matches do not show); a paragraph's only match is kept."""
    rng = random.Random(21)
    vocab = [f"w{i}" for i in range(4000)]
    p = [_sentences(rng, vocab, n) for n in (3, 6, 3)]
    # a: p0, p1, p2; b: p0, p1 + two sentences of p0, two sentences of p2 + new text.
    a = [p[0], p[1], p[2]]
    b = [p[0], [*p[1], *p[0][:2]], [*p[2][:2], *_sentences(rng, vocab, 3)]]
    for name, paras in (("a.txt", a), ("b.txt", b)):
        (tmp_path / name).write_text("\n".join(" ".join(x) for x in paras) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1, article_similarity=0.1))
    (pair,) = result.pairs
    rows = [(m.index_a, m.index_b, m.full) for m in pair.matches]
    assert (0, 0, True) in rows and (1, 1, True) in rows
    assert (0, 1, False) not in rows  # p0 is in b's paragraph 1 too, but both ends match fully elsewhere
    assert (2, 2, False) in rows  # p2's only match: partial


def test_every_identical_corpus(tmp_path: Path) -> None:
    text = "Every article in this corpus is the very same text, repeated over and over again here.\n"
    for i in range(5):
        (tmp_path / f"{i}.txt").write_text(text, encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    assert len(result.clusters) == 1 and result.clusters[0].representative == "0.txt"
    assert {a.shared_pct for a in result.articles} == {100.0}


def test_bad_inputs_are_counted_and_run_completes(tmp_path: Path) -> None:
    good = "A good article paragraph that has plenty of words for the scanner to index it.\n"
    (tmp_path / "good.txt").write_text(good, encoding="utf-8")
    (tmp_path / "good2.txt").write_text(good, encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bad.txt").write_bytes("é".encode() + b"\xff")
    (tmp_path / "cut.txt.gz").write_bytes(b"\x1f\x8b\x08\x00\x00\x00")
    (tmp_path / "f.jsonl").write_text('{"text": "' + good.strip() + '"}\n{oops\n', encoding="utf-8")
    seen = []
    result = run(tmp_path, build_config(workers=1), on_skip=seen.append)
    assert result.stats.skipped == {
        "binary": 1,
        "corrupt_gzip": 1,
        "empty": 1,
        "invalid_utf8": 1,
        "malformed_json": 1,
    }
    assert result.stats.files_seen == 7
    assert result.stats.files_read == 3
    assert sorted(s.path for s in seen) == ["bad.txt", "bin.txt", "cut.txt.gz", "empty.txt", "f.jsonl:2"]
    assert [sorted(m.path for m in c.members) for c in result.clusters] == [["f.jsonl#1", "good.txt", "good2.txt"]]


def _sentences(rng: random.Random, vocab: list[str], n: int) -> list[str]:
    return [" ".join(rng.choice(vocab) for _ in range(12)).capitalize() + "." for _ in range(n)]


def test_extended_paragraphs_give_partial_credit(tmp_path: Path) -> None:
    """A revision that grew every paragraph (new sentences appended) still contains the original."""
    rng = random.Random(7)
    vocab = [f"v{i}" for i in range(5000)]
    original = [_sentences(rng, vocab, 3) for _ in range(4)]
    grown = [p + _sentences(rng, vocab, 4) for p in original]
    (tmp_path / "old.txt").write_text("\n".join(" ".join(p) for p in original) + "\n", encoding="utf-8")
    (tmp_path / "new.txt").write_text("\n".join(" ".join(p) for p in grown) + "\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text(
        "\n".join(" ".join(_sentences(rng, vocab, 5)) for _ in range(4)), encoding="utf-8"
    )
    result = run(tmp_path, build_config(workers=1))
    assert result.stats.partial_paragraph_pairs == 4
    assert result.stats.verified_paragraph_pairs == 0
    (pair,) = result.pairs
    assert (pair.a, pair.b) == ("new.txt", "old.txt")
    assert pair.containment_b == 1.0  # every old paragraph is inside a new one
    assert 0.3 < pair.containment_a < 0.5
    assert [m.full for m in pair.matches] == [False] * 4
    assert [sorted(m.path for m in c.members) for c in result.clusters] == [["new.txt", "old.txt"]]


def test_sentences_copied_from_several_paragraphs(tmp_path: Path) -> None:
    """An answer built from sentences of different source paragraphs is found through sentence candidates."""
    rng = random.Random(8)
    vocab = [f"v{i}" for i in range(5000)]
    source = [_sentences(rng, vocab, 4) for _ in range(5)]
    answer = [*source[0][:2], *source[2][1:3], *source[4][2:], *_sentences(rng, vocab, 1)]
    (tmp_path / "source.txt").write_text("\n".join(" ".join(p) for p in source) + "\n", encoding="utf-8")
    (tmp_path / "answer.txt").write_text(" ".join(answer) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1))
    (pair,) = result.pairs
    assert pair.matched_paragraphs == 0  # no paragraph is fully the same ...
    assert pair.containment_a >= 0.8  # ... but most of the answer is inside the source
    assert len(pair.matches) == 3


def test_single_linkage_keeps_chains(tmp_path: Path) -> None:
    rng = random.Random(9)
    vocab = [f"v{i}" for i in range(5000)]
    a, b, c = (_sentences(rng, vocab, 3) for _ in range(3))
    # x = a+b, y = b+c: x~y share b; "first" holds only a, "last" only c.
    docs = {"1-first.txt": [a], "2-x.txt": [a, b], "3-y.txt": [b, c], "4-last.txt": [c]}
    for name, paras in docs.items():
        (tmp_path / name).write_text("\n".join(" ".join(p) for p in paras) + "\n", encoding="utf-8")
    guarded = run(tmp_path, build_config(workers=1, keep=KeepPolicy.FIRST))
    single = run(tmp_path, build_config(workers=1, keep=KeepPolicy.FIRST, linkage="single"))
    assert sorted(sorted(m.path for m in cl.members) for cl in guarded.clusters) == [
        ["1-first.txt", "2-x.txt"],
        ["3-y.txt", "4-last.txt"],
    ]
    assert [sorted(m.path for m in cl.members) for cl in single.clusters] == [sorted(docs)]


def test_min_estimate_drops_weak_band_only_candidates(plain_generated: Path) -> None:
    """Pairs proposed by the paragraph bands alone need a signature estimate of ``lsh.min_estimate``;
    raising it only removes candidates, never adds a match."""

    def edges_at(min_estimate: float):
        cfg = build_config(workers=1)
        cfg = dataclasses.replace(cfg, lsh=dataclasses.replace(cfg.lsh, min_estimate=min_estimate))
        corpus, edges, stats = match_corpus(plain_generated / "articles", cfg)
        pairs = {(corpus.norms[a], corpus.norms[b]) for a, b in zip(edges.a.tolist(), edges.b.tolist(), strict=True)}
        return stats.candidate_pairs, pairs

    loose_count, loose = edges_at(0.0)
    default_count, default = edges_at(0.4)
    strict_count, strict = edges_at(1.0)
    assert loose_count > default_count > strict_count > 0  # sentence-nominated pairs always stay
    assert strict <= default <= loose


@pytest.mark.parametrize("bar", [0.0, 0.2, 0.4, 0.5, 1.0])
@pytest.mark.parametrize("window", [1, 3, 64])
def test_strong_band_pairs_prefilter_is_exact(bar: float, window: int) -> None:
    """The low-byte prefilter inside the buckets keeps exactly the band pairs a full comparison keeps."""
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, (400, 128), dtype=np.uint64).astype(np.uint32)
    for i in range(1, len(sigs)):  # neighbours share a random share of their values
        same = rng.random(128) < rng.random() ** 0.5
        sigs[i, same] = sigs[i - 1, same]
    for start in range(0, 400, 40):  # buckets of 20 rows sharing their first four bands, little else
        sigs[start + 1 : start + 20, :16] = sigs[start, :16]
    sets = [set(rng.choice(500, 60, replace=False).tolist())]
    for _ in range(1, len(sigs)):  # neighbours share a random share of their shingles too
        kept = {x for x in sets[-1] if rng.random() < 0.8}
        sets.append(kept | set(rng.choice(500, 60 - len(kept), replace=False).tolist()))
    shingles = [np.array(sorted(x), dtype=np.uint32) for x in sets]
    para_keys = rng.integers(0, 2**63, len(sigs), dtype=np.uint64)
    corpus = Corpus(
        sig_rows=SpilledRows.from_array(sigs.T),
        low_bytes=sigs[np.argsort(para_keys, kind="stable")].astype(np.uint8),  # in text-key order
        para_keys=para_keys,
        shingles=np.concatenate(shingles),
        shingle_start=np.concatenate(([0], np.cumsum([len(x) for x in shingles]))),
    )
    cfg = build_config()
    cfg = dataclasses.replace(cfg, lsh=dataclasses.replace(cfg.lsh, min_estimate=bar, max_bucket_neighbors=window))
    every = candidate_pairs_from_keys(band_keys(sigs, cfg.lsh), cfg.lsh, order_by=corpus.para_keys)
    estimate = signature_jaccard(sigs[every[:, 0]], sigs[every[:, 1]])
    exact = np.array([len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in every.tolist()])
    # Kept: estimated at the bar, or estimated just under it (1.5 standard errors) with an exact Jaccard at the bar.
    want = every[(estimate >= bar) | ((estimate >= _near_bar(bar, 128)) & (exact >= bar))]
    if 0 < bar < 1:
        assert (estimate >= bar).sum() < len(want)  # the exact count kept some
    assert np.array_equal(_strong_band_pairs(corpus, cfg), want)
    # Workers take the bands in parts (see _candidate_tasks); the union of the parts is the whole.
    tasks = _candidate_tasks(dataclasses.replace(cfg, workers=2))
    assert tasks[-1] is None and [b for part in tasks[:-1] for b in part] == list(range(cfg.lsh.band_count))
    parts = [_strong_band_pairs(corpus, cfg, part) for part in tasks[:-1]]
    assert np.array_equal(_unique_pairs(parts, len(sigs)), want)
    assert len(every) > 100
    if 0 < bar < 1:
        assert 0 < len(want) < len(every)


def test_released_candidate_arrays_give_the_same_analysis(plain_generated: Path) -> None:
    """A run frees the paragraph signatures and sentence band keys once it has its candidates;
    the verification and the analysis (MinHash Jaccard of article pairs included) are unchanged."""
    cfg = build_config(workers=1)
    kept_corpus, kept_edges, kept_stats = match_corpus(plain_generated, cfg)
    corpus, edges, stats = match_corpus(plain_generated, cfg, release=True)
    assert corpus.sig_rows.shape == (cfg.lsh.num_perm, 0) and corpus.sentence_bands.shape == (cfg.lsh.band_count, 0)
    assert corpus.low_bytes.shape == (0, cfg.lsh.num_perm)
    assert kept_corpus.sig_rows.shape[1] == len(kept_corpus.low_bytes) == len(corpus.norms) > 0
    assert corpus.article_sigs is not None and corpus.article_sigs.shape == (len(corpus.ids), cfg.lsh.num_perm)
    for name in ("a", "b", "score", "full"):
        assert np.array_equal(getattr(edges, name), getattr(kept_edges, name))
    kept, released = analyse(kept_corpus, kept_edges, cfg, kept_stats), analyse(corpus, edges, cfg, stats)
    assert len(released.pairs) > 10 and any(p.minhash_jaccard < 1 for p in released.pairs)
    assert (released.pairs, released.clusters, released.groups) == (kept.pairs, kept.clusters, kept.groups)
    with pytest.raises(ValueError, match="released"):
        verify_candidates(corpus, cfg, stats)  # the signatures are gone: no silent empty result


def test_analysis_without_reports_keeps_pairs_clusters_groups_and_stats(plain_generated: Path) -> None:
    """What a nightly run without --out computes: the same pairs, scores, clusters, groups and
    stats as a full analysis, without the evidence, the MinHash Jaccards, the per-article rows and
    the groups' samples."""
    cfg = build_config(workers=1)
    corpus, edges, stats = match_corpus(plain_generated, cfg, release=True)
    full = analyse(corpus, edges, cfg, dataclasses.replace(stats, seconds={}))
    lean_stats = RunStats(files_seen=stats.files_seen)
    paths = list(discover_files(plain_generated))
    batches = pipeline.iter_batches(plain_generated, paths, cfg, lean_stats)
    lean_corpus = pipeline.build_corpus(batches, cfg, lean_stats, samples=False)
    assert lean_corpus.samples == [] and lean_corpus.norms == corpus.norms
    lean_edges, _ = pipeline.verify_candidates_cached(lean_corpus, cfg, lean_stats, None, release=True, reports=False)
    lean = analyse(lean_corpus, lean_edges, cfg, lean_stats, reports=False)

    def scores(p: ArticlePair) -> tuple[object, ...]:
        return (p.a, p.b, p.similarity, p.containment_a, p.containment_b, p.shingle_containment, p.matched_paragraphs)

    assert len(full.pairs) > 10 and any(p.matches for p in full.pairs) and full.articles
    assert [scores(p) for p in lean.pairs] == [scores(p) for p in full.pairs]
    assert all(p.matches == () and p.best_score == 0.0 and p.minhash_jaccard == 0.0 for p in lean.pairs)
    assert lean.clusters == full.clusters and all(g.sample for g in full.groups)
    assert lean.groups == [dataclasses.replace(g, sample="") for g in full.groups]
    assert lean.articles == [] and len(full.boilerplate_keys)
    assert np.array_equal(lean.boilerplate_keys, full.boilerplate_keys)  # dedup clean needs them
    assert lean.stats.reused_candidate_pairs == 0  # no cache given
    lean_counts = dataclasses.replace(lean.stats, seconds={}, reused_candidate_pairs=None)
    assert lean_counts == dataclasses.replace(full.stats, seconds={})
    with pytest.raises(ValueError, match="released"):
        lean_corpus.signatures_of(np.arange(2))  # no silent Jaccard from signatures that are gone


def test_digest_batch_select(plain_generated: Path) -> None:
    """A batch less some articles (what the store keeps when a file goes) holds exactly their digests."""
    paths = tuple(list(discover_files(plain_generated / "articles"))[:12])
    cfg = build_config(workers=1)
    batch = digest_files(_Batch(str(plain_generated / "articles"), paths, cfg)).digests
    assert batch.files == paths  # one article per plain-text file
    # One band row per distinct sentence: repeats share it.
    assert batch.sentence_rows is not None and len(batch.sentence_bands) == len(np.unique(batch.sentence_keys))
    assert len(batch.sentence_bands) < len(batch.sentence_keys)
    keep = [7, 2, 11]
    sub = batch.select(keep)
    assert sub.sentence_rows is not None and len(sub.sentence_bands) == len(np.unique(sub.sentence_keys))
    assert sub.ids == tuple(batch.ids[k] for k in keep) and sub.files == tuple(paths[k] for k in keep)
    fp, sub_fp = batch.fingerprints, sub.fingerprints
    for i, k in enumerate(keep):
        lo, hi = int(batch.para_start[k]), int(batch.para_start[k + 1])
        s_lo, s_hi = int(sub.para_start[i]), int(sub.para_start[i + 1])
        assert s_hi - s_lo == hi - lo
        for name in ("indices", "norms", "samples", "lengths"):
            assert getattr(sub, name)[s_lo:s_hi] == getattr(batch, name)[lo:hi], name
        assert np.array_equal(sub.para_keys[s_lo:s_hi], batch.para_keys[lo:hi])
        assert np.array_equal(sub_fp.paragraph_sigs[s_lo:s_hi], fp.paragraph_sigs[lo:hi])
        t = slice(int(fp.sentence_start[lo]), int(fp.sentence_start[hi]))
        u = slice(int(sub_fp.sentence_start[s_lo]), int(sub_fp.sentence_start[s_hi]))
        assert np.array_equal(sub.sentence_keys[u], batch.sentence_keys[t])
        assert np.array_equal(sub.bands_of(np.arange(u.start, u.stop)), batch.bands_of(np.arange(t.start, t.stop)))
        assert np.array_equal(
            sub_fp.shingles[sub_fp.shingle_start[s_lo] : sub_fp.shingle_start[s_hi]],
            fp.shingles[fp.shingle_start[lo] : fp.shingle_start[hi]],
        )


def _light_revision(rng: random.Random, paragraphs: list[list[str]], every: int) -> list[list[str]]:
    """Every ``every``-th word of each sentence replaced by a new, longer word."""
    revised = []
    for sentences in paragraphs:
        out = []
        for s in sentences:
            words = s.rstrip(".").split()
            words = [f"replacement{rng.randrange(10**6)}" if i % every == every - 1 else w for i, w in enumerate(words)]
            out.append(" ".join(words) + ".")
        revised.append(out)
    return revised


def test_shingle_containment_finds_light_revisions(tmp_path: Path) -> None:
    """A revision that edited every sentence has no paragraph match, but keeps most 3-word runs."""
    rng = random.Random(11)
    vocab = [f"v{i}" for i in range(5000)]
    original = [_sentences(rng, vocab, 3) for _ in range(4)]
    revised = _light_revision(rng, original, 6)
    for name, paras in {"old.txt": original, "new.txt": revised, "other.txt": [_sentences(rng, vocab, 3)] * 2}.items():
        (tmp_path / name).write_text("\n".join(" ".join(p) for p in paras) + "\n", encoding="utf-8")
    default = run(tmp_path, build_config(workers=1))
    assert default.pairs == [] and default.clusters == []
    assert max(default.scored.values()) < 0.4  # a few sentences at most are partially credited
    (score,) = default.shingle_scored.values()
    assert 0.4 < score < 0.8  # 4 of every 10 shingles survive an edit every 6th word
    found = run(tmp_path, build_config(workers=1, shingle_containment=0.4))
    (pair,) = found.pairs
    assert (pair.a, pair.b, pair.similarity, pair.matched_paragraphs) == (
        "new.txt",
        "old.txt",
        default.scored[("new.txt", "old.txt")],
        0,
    )
    assert pair.shingle_containment == score
    assert [sorted(m.path for m in c.members) for c in found.clusters] == [["new.txt", "old.txt"]]


def test_template_shingles_do_not_count(tmp_path: Path) -> None:
    """Shingles found in --boilerplate-min-articles articles or more are left out of the containment."""
    rng = random.Random(12)
    vocab = [f"v{i}" for i in range(5000)]
    # Template sentences in 12 articles, each sentence inside an article's own paragraph (so no
    # paragraph is boilerplate), plus unique text.
    template = _sentences(rng, vocab, 6)
    for i in range(12):
        paras = [[t, *_sentences(rng, vocab, 1)] for t in template]
        (tmp_path / f"a{i:02d}.txt").write_text("\n".join(" ".join(p) for p in paras) + "\n", encoding="utf-8")
    result = run(tmp_path, build_config(workers=1, shingle_containment=0.01))
    assert result.shingle_scored == {} and result.clusters == []
    fewer = run(tmp_path, build_config(workers=1, shingle_containment=0.01, boilerplate_min_articles=13))
    assert min(fewer.shingle_scored.values()) > 0.4 and len(fewer.shingle_scored) == 66


def test_shingle_containment_built_in_small_chunks_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The (shingle, article) keys are built and de-duplicated in place, chunk by chunk, and
    worked on in buckets by shingle: chunks of a few keys, which split every paragraph and every
    run of equal keys, and any number of buckets give the same scores."""
    rng = random.Random(13)
    vocab = [f"v{i}" for i in range(300)]
    shared = [_sentences(rng, vocab, 3) for _ in range(3)]
    for i in range(8):
        own = _sentences(rng, vocab, 3)
        # own[0] twice in the article: its shingles give repeated (shingle, article) keys.
        paras = [*rng.sample(shared, 2), own, [own[0], *_sentences(rng, vocab, 2)]]
        (tmp_path / f"a{i}.txt").write_text("\n".join(" ".join(p) for p in paras) + "\n", encoding="utf-8")
    cfg = build_config(workers=1, shingle_containment=0.01)
    whole = run(tmp_path, cfg).shingle_scored
    assert len(whole) >= 20
    for chunk in (1, 7, 64):
        monkeypatch.setattr(pipeline, "_KEY_CHUNK", chunk)
        assert run(tmp_path, cfg).shingle_scored == whole
    for bits in (0, 1, 5):
        monkeypatch.setattr(pipeline, "_KEY_BUCKET_BITS", bits)
        assert run(tmp_path, cfg).shingle_scored == whole


@pytest.mark.parametrize("chunk", [1, 3, 16, 1 << 22])
def test_unique_sorted_in_place_equals_np_unique(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "_KEY_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    for size in (0, 1, 2, 17, 1000):
        values = np.sort(rng.integers(0, 40, size).astype(np.uint64))
        expected = np.unique(values)
        got = _unique_sorted_in_place(values)
        assert got.dtype == np.uint64 and got.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_sentence_spread_bounds_equal_summing_every_similar_pair(seed: int) -> None:
    """Deciding template sentences by spread bounds (and summing partners only for the undecided)
    gives the template mask and similar pairs of summing over every similar pair."""
    from dedup.pipeline import _similar_sentences_by_bounds

    rng = np.random.default_rng(seed)
    n, n_bands, cap = 400, 6, int(rng.integers(6, 14))
    keys = rng.integers(0, 250, size=(n_bands, n)).astype(np.uint64)  # many shared band keys
    keys[0, : cap + 1 + seed] = 7  # one bucket too large to pair: its members are templates
    n_owners = rng.integers(1, 3, size=n)  # sentences decided by the bounds, and undecided ones
    partners: list[set[int]] = [set() for _ in range(n)]
    crowded = np.zeros(n, dtype=bool)
    for band in keys:
        for key in np.unique(band):
            members = np.flatnonzero(band == key).tolist()
            if 2 <= len(members) <= cap:
                for s in members:
                    partners[s].update(t for t in members if t != s)
            crowded[members] |= len(members) > cap
    spread = np.array([n_owners[s] + sum(n_owners[t] for t in partners[s]) for s in range(n)])
    want_ok = (spread <= cap) & ~crowded
    want_pairs = sorted((s, t) for s in range(n) for t in partners[s] if s < t and want_ok[s] and want_ok[t])
    ok, similar = _similar_sentences_by_bounds(keys, n_owners, cap)
    assert ok.tolist() == want_ok.tolist()
    assert similar.tolist() == [list(p) for p in want_pairs]
    assert 0 < want_ok.sum() < n  # both kinds present


@pytest.mark.parametrize("bounds", [True, False])
def test_a_sentence_never_stops_being_a_template_when_copies_are_added(bounds: bool) -> None:
    """A band bucket of exactly the cap is paired (its members' spreads count each other); one more
    near-identical sentence makes it too large to pair, and every member a template: adding
    sentences never turns a template into a non-template (the bucket used to be skipped, which did)."""
    from dedup.pipeline import _similar_sentences, _similar_sentences_by_bounds

    cap = 4

    def decide(n: int) -> np.ndarray:
        keys = np.arange(2 * n, dtype=np.uint64).reshape(2, n)  # band 1: every sentence alone
        keys[0, :] = 9  # band 0: one bucket of all n sentences
        n_owners = np.ones(n, dtype=np.int64)
        if bounds:
            return _similar_sentences_by_bounds(keys, n_owners, cap)[0]
        corpus = Corpus(sentence_bands=keys, owner_start=np.arange(n + 1), sentence_keys=np.arange(n, dtype=np.uint64))
        lsh = dataclasses.replace(build_config().lsh, max_sentence_spread=cap, max_bucket_neighbors=1, bands=2, rows=1)
        return _similar_sentences(corpus, dataclasses.replace(build_config(), lsh=lsh))[0]

    assert decide(cap).all()  # spread 4 each: within the cap
    assert not decide(cap + 1).any()  # a bucket of 5 is not paired: all five are templates


@pytest.mark.parametrize("cap", [3, 20])
def test_sentence_spread_bounds_equal_the_exact_way_on_a_generated_corpus(plain_generated: Path, cap: int) -> None:
    from dedup.pipeline import _similar_sentences, _similar_sentences_by_bounds, ingest_corpus

    cfg = build_config(workers=1)
    cfg = dataclasses.replace(cfg, lsh=dataclasses.replace(cfg.lsh, max_sentence_spread=cap))
    corpus = ingest_corpus(plain_generated / "articles", cfg, RunStats())
    ok, similar = _similar_sentences(corpus, cfg)
    got_ok, got_similar = _similar_sentences_by_bounds(corpus.sentence_bands, np.diff(corpus.owner_start), cap)
    assert np.array_equal(got_ok, ok) and np.array_equal(got_similar, similar)
    assert 0 < ok.sum() < len(ok)


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 8, 40])
def test_candidate_tasks_split_the_bands_with_a_smaller_last_part(workers: int) -> None:
    """Contiguous non-empty band parts covering every band once, then the sentence task; with
    parts of a few bands the last one is the smallest (24 bands, two workers: 9, 9, 6)."""
    cfg = build_config(workers=workers)
    tasks = _candidate_tasks(cfg)
    assert tasks[-1] is None
    parts = tasks[:-1]
    assert [b for part in parts for b in part] == list(range(cfg.lsh.band_count))
    sizes = [len(part) for part in parts]
    assert min(sizes) >= 1 and len(parts) == min(cfg.lsh.band_count, 2 * workers - 1)
    if len(parts) > 1 and cfg.lsh.band_count >= 3 * len(parts):
        assert sizes[-1] == min(sizes) < max(sizes)
    if workers == 2:
        assert sizes == [9, 9, 6]


def test_exact_jaccards_count_the_shingle_sets() -> None:
    """The exact Jaccard of paragraph pairs (used just under the estimate bar), in chunks, equals set arithmetic."""
    rng = np.random.default_rng(3)
    sets = [set(rng.choice(300, rng.integers(1, 80), replace=False).tolist()) for _ in range(60)]
    shingles = [np.array(sorted(x), dtype=np.uint32) for x in sets]
    corpus = Corpus(
        shingles=np.concatenate(shingles), shingle_start=np.concatenate(([0], np.cumsum([len(x) for x in shingles])))
    )
    pairs = rng.integers(0, 60, (200, 2))
    want = [len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in pairs.tolist()]
    assert np.allclose(_exact_jaccards(corpus, pairs, chunk=7), want)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_links_equal_nested_loops(seed: int) -> None:
    """The vectorised paragraph matches of every content pair are those (and in the order) nested
    loops find: over each text's runs (its occurrences in one content), then each edge's, two runs
    matched occurrence by occurrence (the shorter run's last standing in for the rest); a pair met
    twice is kept once."""
    rng = np.random.default_rng(seed)
    n_contents, n_texts = 12, 15
    owner = np.sort(rng.integers(0, n_contents, 70))
    uids = rng.integers(0, n_texts, 70)
    pos = np.arange(70) * 3  # occurrence positions, ascending like the occurrences
    pairs = sorted({tuple(sorted(p)) for p in rng.integers(0, n_texts + 2, (25, 2)).tolist() if p[0] != p[1]})
    a, b = np.array(pairs).T
    full = rng.random(len(pairs)) < 0.7
    edges = ParagraphEdges(
        a, b, rng.random(len(pairs)), np.zeros(len(pairs), int), full, (None,) * len(pairs), (None,) * len(pairs)
    )
    runs: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))  # text -> content -> positions
    for u, c, p in zip(uids.tolist(), owner.tolist(), pos.tolist(), strict=True):
        runs[u][c].append(p)
    assert any(len(r) > 1 for by_content in runs.values() for r in by_content.values())  # repeats in a content
    want: dict[tuple[int, int], dict[tuple[int, int], tuple[int, bool]]] = defaultdict(dict)

    def link(left: dict[int, list[int]], right: dict[int, list[int]], i: int) -> None:
        for ca, run_a in left.items():
            for cb, run_b in right.items():
                if ca == cb:
                    continue
                for t in range(max(len(run_a), len(run_b))):
                    pa, pb = run_a[min(t, len(run_a) - 1)], run_b[min(t, len(run_b) - 1)]
                    key, at = ((ca, cb), (pa, pb)) if ca < cb else ((cb, ca), (pb, pa))
                    want[key].setdefault(at, (i, ca > cb))

    for by_content in runs.values():
        link(by_content, by_content, -1)
    for i, (x, y) in enumerate(pairs):
        if x in runs and y in runs:
            link(runs[x], runs[y], i)
    links = _pair_links(uids, owner, pos, edges, n_contents)
    assert links.keys == list(want)
    got = {
        key: {(px, py): (i, flip if i >= 0 else False) for px, py, i, flip in links.records(k)}
        for k, key in enumerate(links.keys)
    }
    assert got == {
        key: {at: (i, flip if i >= 0 else False) for at, (i, flip) in found.items()} for key, found in want.items()
    }
    assert [list(found) for found in got.values()] == [list(found) for found in want.values()]  # same order
    is_full = {(px, py): i < 0 or bool(full[i]) for k in range(len(links)) for px, py, i, _ in links.records(k)}
    for side in (0, 1):
        want_matched = [len({at[side] for at, (i, _) in found.items() if is_full[at]}) for found in want.values()]
        assert links.matched(side).tolist() == want_matched
        chars = np.arange(300) % 7 + 1
        want_chars = [sum(chars[p] for p in {at[side] for at in found}) for found in want.values()]
        assert links.full_chars(side, chars).tolist() == want_chars


def _edge_fields(edges: pipeline.ParagraphEdges) -> list[object]:
    credits = [None if c is None else c.tolist() for c in (*edges.credit_a, *edges.credit_b)]
    return [
        edges.a.tolist(),
        edges.b.tolist(),
        edges.score.tolist(),
        edges.shared.tolist(),
        edges.full.tolist(),
        credits,
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_words_sorted_before_the_chunks_give_the_same_edges(
    plain_generated: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paragraphs that several verification chunks hold get their words sorted once, before the
    chunks (when enough sorts would repeat): the edges are those of sorting in every chunk."""
    cfg = build_config(workers=workers)

    def edges(threshold: int) -> list[object]:
        corpus = pipeline.ingest_corpus(plain_generated / "articles", cfg, RunStats())
        with monkeypatch.context() as m:
            m.setattr(pipeline, "_VERIFY_CHUNK", 97)
            m.setattr(pipeline, "_PAIRS_PER_SHARED_INDEX", 10**9)  # each chunk indexes its own paragraphs
            m.setattr(pipeline, "_WORD_SORT_TASK", 50)
            m.setattr(pipeline, "_WORD_SORTS_WORTH_A_STAGE", threshold)
            made: list[object] = []
            real = pipeline._presorted_words
            m.setattr(pipeline, "_presorted_words", lambda *a: made.append(real(*a)) or made[-1])
            found = pipeline.verify_candidates(corpus, cfg, RunStats())
        assert len(made) == 1
        if threshold == 0:
            assert made[0] is not None
            presorted, row = made[0]
            shared = np.flatnonzero(row >= 0)
            assert 0 < len(shared) < len(row) and np.array_equal(row[shared], np.arange(len(shared)))
            assert presorted.take(row[shared]) == [sorted_tokens(t) for t in corpus.norms.take(shared)]
        else:
            assert made[0] is None
        return _edge_fields(found)

    assert edges(0) == edges(10**9)


def test_read_tasks_hold_fewer_files_of_many_records(tmp_path: Path) -> None:
    """A read task takes up to 128 files, fewer where JSON, JSONL or Parquet files weigh 2 MB of
    likely content (five times the size of a compressed one): eight shards are eight tasks that
    two workers share, not one task one worker reads."""
    import gzip

    mb = 1 << 20
    sizes = {"a.jsonl": 1.5 * mb, "b.jsonl": 0.3 * mb, "c.jsonl": 0.3 * mb, "d.jsonl.gz": 0.1 * mb, "e.json": 3 * mb}
    for name, size in sizes.items():
        raw = b"x" * int(size)
        (tmp_path / name).write_bytes(gzip.compress(raw, compresslevel=0) if name.endswith(".gz") else raw)
    texts = [f"t{i:03d}.txt" for i in range(130)]
    for name in texts:
        (tmp_path / name).write_text("words")
    paths = sorted([*sizes, *texts])
    batches = [b.paths for b in pipeline._iter_batches(tmp_path, paths, build_config())]
    assert batches == [
        ("a.jsonl", "b.jsonl"),
        ("c.jsonl", "d.jsonl.gz"),
        ("e.json",),
        tuple(texts[:128]),
        tuple(texts[128:]),
    ]
