"""Compose the stages: ingest → segment → fingerprint → index → verify → group → cluster.

Workers run :func:`digest_files` (read, segment, normalise, fingerprint) on batches of files; the
main process keeps one row per *distinct* paragraph text (exact repeats are matched for free) and
one compact record per article, so the corpus text is never held twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dedup.cluster import connected_labels, guarded_clusters, representative_key, stable_id
from dedup.config import DedupConfig
from dedup.engines import map_ordered
from dedup.errors import InputError
from dedup.fingerprint import signature_jaccard, signatures
from dedup.index import candidate_pairs
from dedup.ingest import discover_files, read_file
from dedup.records import (
    ArticleDigest,
    ArticlePair,
    ArticleReport,
    BoilerplateGroup,
    Cluster,
    ClusterMember,
    ParagraphMatch,
    RunStats,
    Skip,
)
from dedup.segment import split_paragraphs
from dedup.verify import score_pairs

ProgressHook = Callable[[str, int, int | None], None]
SkipHook = Callable[[Skip], None]

_FILES_PER_TASK = 32
_VERIFY_CHUNK = 50_000
_SAMPLE_CHARS = 160
_EXAMPLE_PATHS = 3


def _noop_progress(stage: str, advance: int, total: int | None) -> None:
    return None


def _noop_skip(skip: Skip) -> None:
    return None


# --------------------------------------------------------------------------- ingest + fingerprint


@dataclass(frozen=True, slots=True)
class _Batch:
    root: str
    paths: tuple[str, ...]
    cfg: DedupConfig


@dataclass(frozen=True, slots=True)
class _BatchResult:
    files: int
    files_read: int
    skips: tuple[Skip, ...]
    digests: tuple[ArticleDigest, ...]


def digest_files(batch: _Batch) -> _BatchResult:
    """Worker task: read, segment, normalise and fingerprint a batch of files.

    Args:
        batch: the scanned root, relative paths and the run's config.

    Returns:
        One digest per article, the skips, and how many files were read.
    """
    cfg = batch.cfg
    root = Path(batch.root)
    skips: list[Skip] = []
    pending: list[tuple[str, int, int, int, list[int], list[str], list[str]]] = []
    files_read = 0
    for rel in batch.paths:
        result = read_file(root, rel, cfg.ingest)
        skips.extend(result.skips)
        files_read += result.read_ok
        for article in result.articles:
            paragraphs = split_paragraphs(article.id, article.text, cfg.segment)
            if not paragraphs:
                skips.append(Skip(article.id, "empty", "no words"))
                continue
            long_ = [p for p in paragraphs if not p.is_short]
            short_chars = sum(p.chars for p in paragraphs if p.is_short)
            pending.append(
                (
                    article.id,
                    sum(p.chars for p in paragraphs),
                    len(paragraphs) - len(long_),
                    short_chars,
                    [p.index for p in long_],
                    [p.norm for p in long_],
                    [p.text for p in long_],
                )
            )
    all_norms = [norm for item in pending for norm in item[5]]
    sigs = signatures(all_norms, cfg.shingle, cfg.lsh)
    digests = []
    offset = 0
    for aid, chars, n_short, short_chars, indices, norms, texts in pending:
        digests.append(
            ArticleDigest(
                id=aid,
                chars=chars,
                short_segments=n_short,
                short_chars=short_chars,
                indices=tuple(indices),
                norms=tuple(norms),
                texts=tuple(texts),
                signatures=sigs[offset : offset + len(norms)],
            )
        )
        offset += len(norms)
    return _BatchResult(len(batch.paths), files_read, tuple(skips), tuple(digests))


@dataclass(slots=True)
class Corpus:
    """Compact in-memory corpus: articles (sorted by id) and distinct paragraph texts.

    Paragraph occurrences are stored flat: article ``k`` owns occurrences
    ``occ_start[k]:occ_start[k + 1]``.
    """

    ids: list[str] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    short_segments: list[int] = field(default_factory=list)
    occ_start: list[int] = field(default_factory=lambda: [0])
    occ_uid: list[int] = field(default_factory=list)
    occ_index: list[int] = field(default_factory=list)
    occ_chars: list[int] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    sigs: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.uint32))

    def occurrences(self, article: int) -> range:
        """Occurrence positions of one article."""
        return range(self.occ_start[article], self.occ_start[article + 1])


def _iter_batches(root: Path, paths: Sequence[str], cfg: DedupConfig) -> Iterator[_Batch]:
    for i in range(0, len(paths), _FILES_PER_TASK):
        yield _Batch(str(root), tuple(paths[i : i + _FILES_PER_TASK]), cfg)


def ingest_corpus(
    root: Path,
    cfg: DedupConfig,
    stats: RunStats,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
) -> Corpus:
    """Read every file under ``root`` into a :class:`Corpus` (workers in parallel, results in order).

    Raises:
        InputError: ``root`` is not a readable directory.
    """
    if not root.is_dir():
        raise InputError(f"input folder not found: {root}")
    paths = list(discover_files(root))
    stats.files_seen = len(paths)
    on_progress("read", 0, len(paths))
    digests: list[ArticleDigest] = []
    for result in map_ordered(digest_files, _iter_batches(root, paths, cfg), cfg.workers):
        stats.files_read += result.files_read
        for skip in result.skips:
            stats.add_skip(skip.reason)
            on_skip(skip)
        digests.extend(result.digests)
        on_progress("read", result.files, None)
    digests.sort(key=lambda d: d.id)
    corpus = Corpus()
    uid_of: dict[str, int] = {}
    sig_rows: list[np.ndarray] = []
    for digest in digests:
        corpus.ids.append(digest.id)
        corpus.chars.append(digest.chars)
        corpus.short_segments.append(digest.short_segments)
        new_rows = []
        for k, norm in enumerate(digest.norms):
            uid = uid_of.get(norm)
            if uid is None:
                uid = uid_of[norm] = len(corpus.norms)
                corpus.norms.append(norm)
                corpus.texts.append(digest.texts[k])
                new_rows.append(k)
            corpus.occ_uid.append(uid)
            corpus.occ_index.append(digest.indices[k])
            corpus.occ_chars.append(len(digest.texts[k]))
        if new_rows:
            sig_rows.append(digest.signatures[new_rows])
        corpus.occ_start.append(len(corpus.occ_uid))
    corpus.sigs = np.concatenate(sig_rows) if sig_rows else np.empty((0, cfg.lsh.num_perm), dtype=np.uint32)
    stats.articles = len(corpus.ids)
    stats.paragraphs = len(corpus.occ_uid)
    stats.short_segments = sum(corpus.short_segments)
    stats.unique_paragraphs = len(corpus.norms)
    return corpus


# --------------------------------------------------------------------------- paragraph pairs


@dataclass(frozen=True, slots=True)
class ParagraphEdges:
    """Verified pairs of distinct paragraph texts (``a < b``) with rapidfuzz score and MinHash estimate."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    jaccard: np.ndarray


def verify_candidates(corpus: Corpus, cfg: DedupConfig, stats: RunStats) -> ParagraphEdges:
    """LSH candidates over distinct paragraph texts, then rapidfuzz verification."""
    t0 = time.perf_counter()
    cand = candidate_pairs(corpus.sigs, cfg.lsh)
    stats.candidate_pairs = len(cand)
    stats.seconds["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    keep_a, keep_b, keep_s = [], [], []
    threads = max(1, cfg.workers)
    for lo in range(0, len(cand), _VERIFY_CHUNK):
        chunk = cand[lo : lo + _VERIFY_CHUNK]
        left = [corpus.norms[i] for i in chunk[:, 0]]
        right = [corpus.norms[i] for i in chunk[:, 1]]
        scores = score_pairs(left, right, workers=threads)
        ok = scores >= cfg.verify.min_similarity
        keep_a.append(chunk[ok, 0])
        keep_b.append(chunk[ok, 1])
        keep_s.append(scores[ok])
    a = np.concatenate(keep_a) if keep_a else np.empty(0, dtype=np.int64)
    b = np.concatenate(keep_b) if keep_b else np.empty(0, dtype=np.int64)
    s = np.concatenate(keep_s) if keep_s else np.empty(0, dtype=np.float64)
    jac = signature_jaccard(corpus.sigs[a], corpus.sigs[b]) if len(a) else np.empty(0)
    stats.verified_paragraph_pairs = len(a)
    stats.seconds["verify"] = time.perf_counter() - t0
    return ParagraphEdges(a, b, s, jac)


# --------------------------------------------------------------------------- groups and articles


@dataclass(slots=True)
class DedupResult:
    """Everything a run produces, ready for the report writers."""

    config: DedupConfig
    stats: RunStats
    clusters: list[Cluster]
    pairs: list[ArticlePair]
    groups: list[BoilerplateGroup]
    articles: list[ArticleReport]
    scored: dict[tuple[str, str], float] = field(default_factory=dict)
    """Similarity of every article pair with at least one matched paragraph, below the threshold too
    (first path of each exact-copy set only); used by ``dedup eval`` to explain misses."""


def _group_tables(corpus: Corpus, edges: ParagraphEdges, content_of: np.ndarray) -> dict[str, np.ndarray]:
    """Group label of every distinct text, and per-group article / content / occurrence counts."""
    n = len(corpus.norms)
    label = connected_labels(n, zip(edges.a.tolist(), edges.b.tolist(), strict=True))
    occ_uid = np.asarray(corpus.occ_uid, dtype=np.int64)
    occ_article = np.repeat(np.arange(len(corpus.ids)), np.diff(corpus.occ_start))
    occ_group = label[occ_uid] if len(occ_uid) else occ_uid

    def distinct_per_group(values: np.ndarray) -> np.ndarray:
        codes = np.unique(occ_group * (values.max(initial=0) + 1) + values)
        groups = codes // (values.max(initial=0) + 1)
        return np.bincount(groups, minlength=n)

    return {
        "label": label,
        "occ_group": occ_group,
        "occ_article": occ_article,
        "articles": distinct_per_group(occ_article),
        "contents": distinct_per_group(content_of[occ_article]) if len(occ_article) else np.zeros(n, int),
        "occurrences": np.bincount(occ_group, minlength=n),
    }


def run(
    root: Path,
    cfg: DedupConfig,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
) -> DedupResult:
    """Scan a folder and return clusters, pairs, boilerplate groups and per-article shares.

    Args:
        root: folder to scan (recursively).
        cfg: every parameter of the run.
        on_skip: called once per skipped file or record.
        on_progress: called with ``(stage, advance, total)`` as work completes.

    Returns:
        The :class:`DedupResult`; nothing is written.

    Raises:
        InputError: the folder does not exist.
    """
    corpus, edges, stats = match_corpus(root, cfg, on_skip, on_progress)
    return analyse(corpus, edges, cfg, stats)


def match_corpus(
    root: Path,
    cfg: DedupConfig,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
) -> tuple[Corpus, ParagraphEdges, RunStats]:
    """Read and fingerprint the corpus, then find and verify paragraph pairs (stages 1-5)."""
    stats = RunStats()
    t0 = time.perf_counter()
    corpus = ingest_corpus(root, cfg, stats, on_skip, on_progress)
    stats.seconds["read_fingerprint"] = time.perf_counter() - t0
    on_progress("match", 0, None)
    edges = verify_candidates(corpus, cfg, stats)
    return corpus, edges, stats


def analyse(corpus: Corpus, edges: ParagraphEdges, cfg: DedupConfig, stats: RunStats) -> DedupResult:
    """Paragraph groups → boilerplate → article pair scores → guarded clusters → report rows.

    Only ``cfg.cluster`` is read here, so a threshold sweep can re-run this stage alone.
    """
    t_start = time.perf_counter()
    n_articles = len(corpus.ids)
    # Contents: articles with identical indexed text (same distinct-paragraph sequence) are exact
    # copies; they are scored once and counted once when deciding what is boilerplate.
    content_key: dict[tuple[int, ...], int] = {}
    content_of = np.full(n_articles, -1, dtype=np.int64)
    content_members: list[list[int]] = []
    for k in range(n_articles):
        occ = corpus.occurrences(k)
        if not len(occ):
            continue
        key = tuple(corpus.occ_uid[occ.start : occ.stop])
        c = content_key.setdefault(key, len(content_members))
        if c == len(content_members):
            content_members.append([])
        content_members[c].append(k)
        content_of[k] = c
    n_contents = len(content_members)
    # Articles without indexed paragraphs get a dummy content id past the end for the counts.
    content_for_count = np.where(content_of >= 0, content_of, n_contents + np.arange(n_articles))
    tables = _group_tables(corpus, edges, content_for_count)
    template_group = tables["contents"] >= cfg.cluster.boilerplate_min_articles
    use_group = np.ones_like(template_group) if cfg.cluster.include_boilerplate else ~template_group

    occ_chars = np.asarray(corpus.occ_chars, dtype=np.int64)
    occ_group = tables["occ_group"]
    occ_used = use_group[occ_group] if len(occ_group) else np.zeros(0, dtype=bool)

    # Occurrences of each distinct text in the *first* article of each content.
    first_article = [members[0] for members in content_members]
    uid_occ: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c, k in enumerate(first_article):
        for pos in corpus.occurrences(k):
            if occ_used[pos]:
                uid_occ[corpus.occ_uid[pos]].append((c, pos))

    # Paragraph matches per content pair: {(X, Y): {(posX, posY): score}} with X < Y.
    matches: dict[tuple[int, int], dict[tuple[int, int], float]] = defaultdict(dict)

    def link(occ_a: list[tuple[int, int]], occ_b: list[tuple[int, int]], score: float) -> None:
        for ca, pa in occ_a:
            for cb, pb in occ_b:
                if ca == cb:
                    continue
                key, pos = ((ca, cb), (pa, pb)) if ca < cb else ((cb, ca), (pb, pa))
                bucket = matches[key]
                if bucket.get(pos, -1.0) < score:
                    bucket[pos] = score

    for occ in uid_occ.values():
        if len({c for c, _ in occ}) > 1:
            link(occ, occ, 1.0)
    for a, b, s in zip(edges.a.tolist(), edges.b.tolist(), edges.score.tolist(), strict=True):
        if a in uid_occ and b in uid_occ:
            link(uid_occ[a], uid_occ[b], s)

    base_chars = np.zeros(n_contents, dtype=np.int64)
    for c, k in enumerate(first_article):
        occ = corpus.occurrences(k)
        base_chars[c] = int(occ_chars[occ.start : occ.stop][occ_used[occ.start : occ.stop]].sum())

    def content_signature(c: int) -> np.ndarray:
        occ = corpus.occurrences(first_article[c])
        rows = np.asarray(corpus.occ_uid[occ.start : occ.stop], dtype=np.int64)
        return np.asarray(corpus.sigs[rows].min(axis=0))

    occ_index = corpus.occ_index
    threshold = cfg.cluster.min_article_similarity
    neighbors: dict[int, dict[int, float]] = defaultdict(dict)
    content_pairs: list[tuple[int, int, float, float, float, dict[tuple[int, int], float]]] = []
    scored: dict[tuple[str, str], float] = {}
    for (x, y), found in matches.items():
        covered_x = sum(occ_chars[p] for p in {px for px, _ in found})
        covered_y = sum(occ_chars[p] for p in {py for _, py in found})
        cont_x = covered_x / base_chars[x] if base_chars[x] else 0.0
        cont_y = covered_y / base_chars[y] if base_chars[y] else 0.0
        sim = round(max(cont_x, cont_y), 4)
        scored[(corpus.ids[first_article[x]], corpus.ids[first_article[y]])] = sim
        if sim >= threshold:
            neighbors[x][y] = neighbors[y][x] = sim
            content_pairs.append((x, y, sim, round(cont_x, 4), round(cont_y, 4), found))
    stats.paragraph_groups = int(np.count_nonzero(tables["articles"] >= 2))
    stats.boilerplate_groups = int(np.count_nonzero(template_group & (tables["articles"] >= 2)))

    # ------------------------------------------------------------------ clusters
    ids = corpus.ids
    article_rank = representative_key(cfg.cluster.keep)

    def content_rank(c: int) -> tuple[object, ...]:
        return min(article_rank((ids[k], corpus.chars[k])) for k in content_members[c])

    linked = set(neighbors) | {c for c, m in enumerate(content_members) if len(m) > 1}
    clusters: list[Cluster] = []
    cluster_of = [""] * n_articles
    groups_of_contents = guarded_clusters(
        linked, neighbors, cfg.cluster.floor, content_rank, solo_ok=lambda c: len(content_members[c]) > 1
    )
    for rep_c, member_contents in groups_of_contents:
        rep_article = min(content_members[rep_c], key=lambda k: article_rank((ids[k], corpus.chars[k])))
        member_articles = sorted(k for c in member_contents for k in content_members[c])
        cid = stable_id("c", ids[member_articles[0]])
        rows = []
        for k in member_articles:
            c = int(content_of[k])
            if c == rep_c:
                sim, shared = 1.0, len(corpus.occurrences(k))
            else:
                sim = neighbors[rep_c][c]
                found = matches[(min(c, rep_c), max(c, rep_c))]
                shared = len({p[0] if c < rep_c else p[1] for p in found})
            rows.append(
                ClusterMember(cid, ids[k], len(member_articles), k == rep_article, sim, corpus.chars[k], shared)
            )
        rows.sort(key=lambda m: (not m.is_representative, m.path))
        clusters.append(Cluster(cid, ids[rep_article], tuple(rows)))
        for k in member_articles:
            cluster_of[k] = cid
    clusters.sort(key=lambda c: c.id)
    stats.clusters = len(clusters)
    stats.clustered_articles = sum(len(c.members) for c in clusters)

    # ------------------------------------------------------------------ article pairs
    pairs: list[ArticlePair] = []
    for x, y, sim, cont_x, cont_y, found in content_pairs:
        evidence = tuple(sorted(ParagraphMatch(occ_index[px], occ_index[py], sc) for (px, py), sc in found.items()))
        matched = len({px for px, _ in found})
        jac = float(signature_jaccard(content_signature(x), content_signature(y)))
        pairs.append(
            ArticlePair(
                ids[first_article[x]],
                ids[first_article[y]],
                sim,
                cont_x,
                cont_y,
                matched,
                max(found.values()),
                round(jac, 4),
                evidence,
            )
        )
    for members in content_members:
        first = members[0]
        n_par = len(corpus.occurrences(first))
        full = tuple(ParagraphMatch(occ_index[p], occ_index[p], 1.0) for p in corpus.occurrences(first))
        for k in members[1:]:
            pairs.append(ArticlePair(ids[first], ids[k], 1.0, 1.0, 1.0, n_par, 1.0, 1.0, full))
    pairs.sort(key=lambda p: (p.a, p.b))
    stats.article_pairs = len(pairs)

    # ------------------------------------------------------------------ boilerplate groups
    groups_out: list[BoilerplateGroup] = []
    occ_article = tables["occ_article"]
    reused = np.flatnonzero(tables["articles"] >= 2)
    members_of_group: dict[int, list[int]] = defaultdict(list)
    if len(reused):
        in_reused = np.isin(occ_group, reused)
        for pos in np.flatnonzero(in_reused).tolist():
            members_of_group[int(occ_group[pos])].append(pos)
    for g in reused.tolist():
        positions = members_of_group[g]
        uids = sorted({corpus.occ_uid[p] for p in positions}, key=lambda u: corpus.norms[u])
        canonical = uids[0]
        paths = sorted({ids[int(occ_article[p])] for p in positions})
        sample = " ".join(corpus.texts[canonical].split())
        if len(sample) > _SAMPLE_CHARS:
            sample = sample[: _SAMPLE_CHARS - 1].rstrip() + "…"
        groups_out.append(
            BoilerplateGroup(
                id=stable_id("g", corpus.norms[canonical]),
                articles=int(tables["articles"][g]),
                occurrences=int(tables["occurrences"][g]),
                is_template=bool(template_group[g]),
                sample=sample,
                example_paths=tuple(paths[:_EXAMPLE_PATHS]),
            )
        )
    groups_out.sort(key=lambda g: (-g.articles, g.id))

    # ------------------------------------------------------------------ per-article shares
    reports: list[ArticleReport] = []
    group_articles = tables["articles"]
    for k in range(n_articles):
        occ = corpus.occurrences(k)
        total = int(occ_chars[occ.start : occ.stop].sum())
        groups_k = occ_group[occ.start : occ.stop]
        chars_k = occ_chars[occ.start : occ.stop]
        template = int(chars_k[template_group[groups_k]].sum()) if total else 0
        shared = int(chars_k[~template_group[groups_k] & (group_articles[groups_k] >= 2)].sum()) if total else 0

        def pct(part: int, whole: int = total) -> float:
            return round(100.0 * part / whole, 1) if whole else 0.0

        reports.append(
            ArticleReport(
                path=ids[k],
                paragraphs=len(occ),
                short_segments=corpus.short_segments[k],
                chars=corpus.chars[k],
                template_pct=pct(template),
                shared_pct=pct(shared),
                # The remainder, so the three shares always add up to exactly 100.0.
                unique_pct=round(100.0 - pct(template) - pct(shared), 1) if total else 0.0,
                cluster_id=cluster_of[k],
            )
        )
    stats.seconds["cluster"] = time.perf_counter() - t_start
    return DedupResult(cfg, stats, clusters, pairs, groups_out, reports, scored)


__all__ = [
    "Corpus",
    "DedupResult",
    "ParagraphEdges",
    "analyse",
    "digest_files",
    "ingest_corpus",
    "match_corpus",
    "run",
]
