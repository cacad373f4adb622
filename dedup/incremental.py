"""Scheduled runs over a persistent store: ``dedup index`` and ``dedup report``.

``index_folder`` reads only new or changed files, keeps their digests in the store, matches the
whole stored corpus (so its reports equal a ``dedup scan`` of the folder), keeps cluster ids stable
from run to run, and tells what is new since the previous run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dedup.clean import CleanPlan, membership
from dedup.cluster import stable_id
from dedup.config import DedupConfig, Engine
from dedup.errors import ConfigError, InputError
from dedup.ingest import (
    READER_VERSION,
    REASON_BAD_NAME,
    REASON_INVALID_UTF8,
    REASON_TOO_LARGE,
    REASON_UNDECODABLE,
    REASON_UNSUPPORTED,
    bytes_sha1s,
    size_is_content,
    unsupported,
)
from dedup.pipeline import (
    DedupResult,
    ProgressHook,
    SkipHook,
    _noop_progress,
    _noop_skip,
    analyse,
    build_corpus,
    collecting,
    iter_batches,
    iter_uri_batches,
    list_folder,
    sorted_skips,
    verify_candidates_cached,
)
from dedup.records import ArticlePair, BoilerplateGroup, Cluster, DigestBatch, RunStats, Skip
from dedup.store import FileState, Store, file_sha1, now_iso, stat_of
from dedup.verify_cache import VerifyCache

if TYPE_CHECKING:
    from dedup.engines.spark import UriFolder


@dataclass(slots=True)
class Changes:
    """What one ``dedup index`` run changed in the store and found new."""

    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_moved: int = 0
    """New files whose content is that of a file gone (moved or renamed): in neither count above."""
    articles_added: int = 0
    articles_removed: int = 0
    new_pairs: list[ArticlePair] = field(default_factory=list)
    new_clusters: list[Cluster] = field(default_factory=list)
    duplicate_rate: float = 0.0
    stats: RunStats = field(default_factory=RunStats)
    """The run's counts and timings (those of its full result; also there when it made none)."""
    kept_reports: dict[str, bytes] | None = None
    """A run that found nothing to read or forget, asked for reports: the last run's report files
    (those that do not depend on the run, see :data:`KEPT_REPORTS`), which it would write again."""
    skips: list[Skip] = field(default_factory=list)
    """With ``kept_reports``: every skip, as a result's (for ``skipped.csv``); in a dry run, those
    of the listing."""
    planned: dict[str, Any] | None = None
    """A dry run's plan: the paths a run would read (``new``, ``changed``) and forget
    (``removed``), and each file moved (``{"from": earlier path, "to": new path}``)."""

    def to_dict(self) -> dict[str, Any]:
        """Counts for ``summary.json``."""
        return {
            "files_new": self.files_new,
            "files_changed": self.files_changed,
            "files_unchanged": self.files_unchanged,
            "files_removed": self.files_removed,
            "files_moved": self.files_moved,
            "articles_added": self.articles_added,
            "articles_removed": self.articles_removed,
            "new_pairs": len(self.new_pairs),
            "new_clusters": len(self.new_clusters),
            "new_clustered_articles": sum(len(c.members) for c in self.new_clusters),
            "duplicate_rate": round(self.duplicate_rate, 4),
        }


def duplicate_rate(result: DedupResult) -> float:
    """Share of articles that are non-representative members of a cluster (what clean would drop)."""
    dropped = sum(len(c.members) - 1 for c in result.clusters)
    return dropped / result.stats.articles if result.stats.articles else 0.0


_VERIFY_CACHE = "verify"

MAX_REMOVED = 0.5
"""Default largest share of the stored files a run may find gone (see :func:`index_folder`)."""


def _match_all(
    batches: Iterable[DigestBatch], cfg: DedupConfig, stats: RunStats, cache: VerifyCache | None, reports: bool = True
) -> tuple[DedupResult, VerifyCache]:
    """Match the stored digest batches and those read in this run (loading counts as reading).

    Candidate pairs verified by an earlier run are taken from ``cache``; returns the result and
    the cache of this run's outcomes. ``reports=False``: no report will be written (see
    :func:`~dedup.pipeline.analyse`).
    """
    t0 = time.perf_counter()
    corpus = build_corpus(batches, cfg, stats, samples=reports)
    stats.seconds["read_fingerprint"] = stats.seconds.get("read_fingerprint", 0.0) + time.perf_counter() - t0
    edges, fresh_cache = verify_candidates_cached(corpus, cfg, stats, cache, release=True, reports=reports)
    return analyse(corpus, edges, cfg, stats, reports), fresh_cache


_BAND_FIELDS = ("band_params", "band_keys", "band_pairs")


def _stored_cache(store: Store) -> VerifyCache | None:
    """The kept verification outcomes, if the store has a complete cache of this tool's making.

    A cache made before band candidates were kept (the last fields missing) still holds valid
    outcomes: it is used without them.
    """
    found = store.get_cache(_VERIFY_CACHE)
    if not isinstance(found, VerifyCache):
        return None
    names = VerifyCache.__slots__
    missing = [name for name in names if not hasattr(found, name)]
    if not missing:
        return found
    if tuple(missing) == _BAND_FIELDS and names[-len(_BAND_FIELDS) :] == _BAND_FIELDS:
        return VerifyCache(*(getattr(found, name) for name in names[: -len(_BAND_FIELDS)]))
    return None


def _stable_ids(result: DedupResult, previous: dict[str, str]) -> DedupResult:
    """Give each cluster the id most of its members had last run (new clusters get a fresh id)."""
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    # Bigger clusters choose first, so a cluster that split keeps its id on the larger part.
    for cluster in sorted(result.clusters, key=lambda c: (-len(c.members), c.id)):
        votes = Counter(previous[m.path] for m in cluster.members if m.path in previous)
        choice = next(
            (cid for cid, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])) if cid not in taken), None
        )
        if choice is None:
            choice = cluster.id
            suffix = 1
            while choice in taken or (choice in previous.values() and choice not in votes):
                choice = stable_id("c", f"{cluster.id}/{suffix}")
                suffix += 1
        taken.add(choice)
        renamed[cluster.id] = choice
    # Records are rebuilt only where the id changed (most clusters keep theirs from run to run).
    clusters = sorted(
        (
            c
            if renamed[c.id] == c.id
            else Cluster(
                renamed[c.id],
                c.representative,
                tuple(dataclasses.replace(m, cluster_id=renamed[c.id]) for m in c.members),
            )
            for c in result.clusters
        ),
        key=lambda c: c.id,
    )
    articles = [
        dataclasses.replace(a, cluster_id=renamed[a.cluster_id])
        if a.cluster_id and renamed.get(a.cluster_id, a.cluster_id) != a.cluster_id
        else a
        for a in result.articles
    ]
    return dataclasses.replace(result, clusters=clusters, articles=articles)


def _with_first_seen(result: DedupResult, groups_seen: dict[str, tuple[str, str]]) -> DedupResult:
    # Built field by field: dataclasses.replace costs 1 s per 100,000 groups.
    groups = [
        BoilerplateGroup(
            g.id, g.articles, g.occurrences, g.is_template, g.sample, g.example_paths, g.all_paths, *groups_seen[g.id]
        )
        if g.id in groups_seen
        else g
        for g in result.groups
    ]
    return dataclasses.replace(result, groups=groups)


def _group_first_seen(
    result: DedupResult, previous: dict[str, tuple[str, str]], article_seen: dict[str, str], when: str
) -> dict[str, tuple[str, str]]:
    """First-seen time and first carrier of every reused paragraph group (kept from earlier runs)."""
    out: dict[str, tuple[str, str]] = {}
    for g in result.groups:
        if g.id in previous:
            out[g.id] = previous[g.id]
        else:
            carriers = sorted(g.all_paths, key=lambda p: (article_seen.get(p, when), p))
            out[g.id] = (article_seen.get(carriers[0], when) if carriers else when, carriers[0] if carriers else "")
    return out


def _new_pair_test(
    previous: set[tuple[str, str]], copies: dict[str, str], earlier: dict[str, str]
) -> Callable[[ArticlePair], bool]:
    """Whether a pair is new: the last run had not found its two articles alike.

    ``previous``: the last run's pairs; ``copies``: its exact copies, each mapped to the first of
    them by path (``pairs.csv`` lists exact copies, and their pairs, against that one); ``earlier``:
    the earlier path of each article moved since. A pair is compared with each side taken as the
    first of its copies then: moving a copy ahead of its original, or removing the original,
    changes the pairs listed but not the duplicates, and brings no new pair. An article new in
    this run has no earlier copies, so a new copy is a new duplicate.

    >>> pair = lambda a, b: ArticlePair(a, b, 1.0, 1.0, 1.0, 1.0, 1, 1.0, 1.0, ())
    >>> before = {("m/49", "m/50"), ("m/49", "m/copy")}  # m/copy copies m/49; both match m/50
    >>> copies = {"m/49": "m/49", "m/copy": "m/49"}
    >>> _new_pair_test(before, copies, {"k/x": "m/copy"})(pair("k/x", "m/50"))  # m/copy moved to k/x
    False
    >>> _new_pair_test(before, copies, {})(pair("m/copy", "m/50"))  # m/49 removed
    False
    >>> _new_pair_test(before, copies, {})(pair("a/new", "m/50"))  # a new copy
    True
    """

    known = {(min(a, b), max(a, b)) for a, b in ((copies.get(x, x), copies.get(y, y)) for x, y in previous)}

    def is_new(p: ArticlePair) -> bool:
        a, b = (copies.get(x, x) for x in (earlier.get(p.a, p.a), earlier.get(p.b, p.b)))
        return (min(a, b), max(a, b)) not in known

    return is_new


_SUMMARY = "last_summary"
_LISTING_SKIPS = "listing_skips"
"""State key: the skips of the last run's listing (their files are not stored), for dedup report."""


@functools.cache
def _code_digest() -> str:
    """BLAKE2b of this package's source files and rapidfuzz's version.

    A development change that alters results keeps the version number, so the version alone would
    let a run with nothing new show counts the new code would not give.
    """
    from dedup.report import package_version

    digest = hashlib.blake2b(package_version("rapidfuzz").encode(), digest_size=8)
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _summary_key(cfg: DedupConfig) -> dict[str, Any]:
    """What a stored run summary is valid for: this tool version and code, and every parameter but
    those that say where the work runs (``workers``, ``engine``, ``spark_master``)."""
    from dedup.report import package_version

    params = cfg.to_dict()
    for name in ("workers", "engine", "spark_master"):
        params.pop(name, None)
    return {"version": package_version("dedup"), "code": _code_digest(), "params": params}


def _unchanged_stats(store: Store, cfg: DedupConfig) -> tuple[RunStats, float] | None:
    """The stats and duplicate rate of the last run, if it was made with ``cfg`` by this tool version."""
    found = store.get_state(_SUMMARY)
    if isinstance(found, dict) and found.get("key") == _summary_key(cfg) and isinstance(found.get("stats"), RunStats):
        return found["stats"], float(found["duplicate_rate"])
    return None


KEPT_REPORTS = ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv")
"""The reports a run with nothing new writes again from the store (``skipped.csv``, the new
reports and ``summary.json`` depend on the run itself)."""
_KEPT_REPORTS = "last_reports"
_CLEAN_PLAN = "clean_plan"


def keep_reports(store: Store, cfg: DedupConfig, files: dict[str, bytes]) -> None:
    """Within the run's transaction: keep the report files the run wrote (compressed), for the next
    run that finds nothing new (see :func:`kept_reports`). Call after :func:`index_folder` matched."""
    summary = store.get_state(_SUMMARY)
    packed = {name: zlib.compress(files[name], 1) for name in KEPT_REPORTS}
    # A cache (a run without it matches): kept uncompressed around the compressed files.
    store.set_cache(_KEPT_REPORTS, {"key": _summary_key(cfg), "run": summary["run"], "files": packed})


def _of_last_run(store: Store, key: str, cfg: DedupConfig | None = None) -> dict[str, Any] | None:
    """The cache entry ``key`` if the last run that matched kept it (tagged with that run's id:
    one that another run kept, or none, gives ``None``), made by this tool's code with ``cfg``
    (``None``: with any parameters)."""
    found = store.get_cache(key)
    summary = store.get_state(_SUMMARY)
    if not (isinstance(found, dict) and isinstance(summary, dict)):
        return None
    if found.get("run") is None or found.get("run") != summary.get("run"):
        return None
    if cfg is None:
        return found if (found.get("key") or {}).get("code") == _code_digest() else None
    return found if found.get("key") == _summary_key(cfg) else None


def kept_reports(store: Store, cfg: DedupConfig) -> dict[str, bytes] | None:
    """The report files kept by the last run that matched, if it wrote them, with ``cfg`` and this
    tool's code (a matching run that wrote none, or other parameters: ``None``)."""
    found = _of_last_run(store, _KEPT_REPORTS, cfg)
    return None if found is None else {name: zlib.decompress(blob) for name, blob in found["files"].items()}


def kept_clean_plan(store: Store, cfg: DedupConfig) -> CleanPlan | None:
    """What ``dedup clean`` needs, as the last run that matched kept it with ``cfg`` and this
    tool's code (other parameters, ``--keep`` among them: ``None``, and clean matches the store)."""
    found = _of_last_run(store, _CLEAN_PLAN, cfg)
    if found is None:
        return None
    return CleanPlan(tuple(sorted(store.article_files())), found["members"], frozenset(found["boilerplate"].tolist()))


_READ_LIMIT = "max_file_bytes"
"""State key: the ``--max-file-mb`` (in bytes) of the last run."""
_READER = "reader_version"
"""State key: the :data:`~dedup.ingest.READER_VERSION` of the last run."""


def _stale_outcomes(store: Store, stored: dict[str, tuple[int, int]], cfg: DedupConfig) -> set[str]:
    """The stored files whose stored outcome this run would not give, unchanged as they are: read
    again, as a scan with this run's options and this version would read them.

    - skipped as ``unsupported_type``, in a format this version reads (or, for Parquet, since
      pyarrow was installed);
    - skipped as ``too_large`` while ``--max-file-mb`` changed since the last run: it may fit now,
      and its skip names the limit (a file too large on disk is not opened);
    - read while ``--max-file-mb`` shrank, where the file may be over it now: larger on disk, or
      compressed or Parquet (the size on disk does not tell).

    - read by a reader before :data:`~dedup.ingest.READER_VERSION` 4, which may read it
      otherwise: every file read (JSONL lines, declared charsets, Markdown, normalising), and a
      file skipped as ``invalid_utf8`` or ``undecodable`` (Chinese, Japanese and Korean legacy
      encodings);
    - skipped as ``unsupported_type`` by a reader before version 5, which did not look for an
      HTML page in a file whose name gives no format.

    A store made before the last run's limit was kept knows nothing of it: its ``too_large``
    files are read once, and of the files it read only those larger on disk. One made before the
    reader's version was kept reads those files once.
    """
    limit = cfg.ingest.max_file_bytes
    last = store.get_state(_READ_LIMIT)
    skipped = store.file_skips()
    newly_read = {p for p, reason in skipped.items() if reason == REASON_UNSUPPORTED and unsupported(p) is None}
    limited = {p for p, reason in skipped.items() if reason == REASON_TOO_LARGE and last != limit}
    stale = newly_read | (limited & stored.keys())
    reader = store.get_state(_READER, 1)
    if reader < 4:  # see READER_VERSION: every file read may read otherwise
        undecoded = {p for p, reason in skipped.items() if reason in (REASON_INVALID_UTF8, REASON_UNDECODABLE)}
        stale |= (stored.keys() - skipped.keys()) | (undecoded & stored.keys())
    if reader < 5:  # pages named without .html, and .xhtml/.shtml files, are read
        stale |= {p for p, reason in skipped.items() if reason == REASON_UNSUPPORTED} & stored.keys()
    if last is None or limit < last:
        for path, (size, _) in stored.items():
            if path not in skipped and (size > limit or (last is not None and not size_is_content(path))):
                stale.add(path)
    return stale


def _moves(arrived: Iterable[FileState], gone: Iterable[str], known: dict[str, FileState]) -> dict[str, str]:
    """The earlier path of each new file whose content hash is that of a file gone since the last
    run: it was moved or renamed (files of equal content pair off in path order).

    >>> old = {name: FileState(name, 1, 1, f"h{name}", "read", "t") for name in ("a", "b")}
    >>> _moves([FileState("new/a", 1, 2, "ha", "read", "u")], ["a", "b"], old)
    {'new/a': 'a'}
    """
    by_hash: dict[str, list[str]] = {}
    for rel in gone:
        if known[rel].sha1:
            by_hash.setdefault(known[rel].sha1, []).append(rel)
    arrivals: dict[str, list[str]] = {}
    for state in arrived:
        if state.path not in known and state.sha1 in by_hash:
            arrivals.setdefault(state.sha1, []).append(state.path)
    pairs = (zip(sorted(news), sorted(by_hash[sha]), strict=False) for sha, news in arrivals.items())
    return dict(chain.from_iterable(pairs))


def _uri_hashes(
    folder: UriFolder,
    known: dict[str, FileState],
    listed: dict[str, tuple[int, int]],
    cfg: DedupConfig,
    rehash: bool = False,
    also: Iterable[str] = (),
) -> dict[str, str]:
    """The SHA-1 of every file of a URI folder whose size or time changed since a run that kept its
    hash (every such file with ``rehash``), and of the files ``also`` names, read by Spark (one
    job; a local run hashes such files too): a file only touched, or written again with the same
    bytes, is then unchanged, and not read again."""
    from dedup.engines.spark import map_uri_files

    suspects = [
        rel
        for rel, state in listed.items()
        if (old := known.get(rel)) is not None and old.sha1 and (rehash or (old.size, old.mtime_ns) != state)
    ]
    suspects += also
    if not suspects:
        return {}
    found = map_uri_files(folder, bytes_sha1s, cfg.ingest.max_file_bytes, [], cfg.spark_master, only=suspects)
    return dict(chain.from_iterable(found))


def index_folder(
    root: Path | str,
    store: Store,
    cfg: DedupConfig,
    keep_missing: bool = False,
    on_skip: SkipHook = _noop_skip,
    on_progress: ProgressHook = _noop_progress,
    need_result: bool = True,
    exclude: Iterable[Path] = (),
    max_removed: float = MAX_REMOVED,
    rehash: bool = False,
    before_commit: Callable[[DedupResult | None, Changes], object] | None = None,
    dry_run: bool = False,
) -> tuple[DedupResult | None, Changes]:
    """Bring the store up to date with ``root`` and return the full result and what changed.

    Args:
        need_result: ``False`` when the caller needs only the changes and the run's stats (no
            reports): the result is then ``None``, and the matching skips what only reports show
            (evidence rows, MinHash Jaccards, per-article rows, sample texts; the new pairs in the
            changes come without them). When no file was added, changed or removed since a run
            with the same parameters, nothing is matched again either (the stats are the last
            run's, which the same stored digests would give again); with ``need_result``, only
            where that run kept its reports (see ``before_commit``).
        exclude: folders and files of a local ``root`` never read (the store and the run's
            reports, when they lie inside it); see :func:`~dedup.ingest.discover_files`.
        max_removed: the largest share of the stored files that may be gone from ``root``
            (without ``keep_missing``); more, and the run stops before it changes anything: an
            unmounted, emptied or wrong folder would otherwise drop the whole store, and the next
            run would read everything again and report every pair as new.
        rehash: hash every stored file, not only those whose size or modification time changed
            (a file rewritten with other content of the same size under the same time is then
            found changed too).
        before_commit: called with the full result and the changes (``need_result`` only) inside
            the run's transaction, before it commits: the reports. A run stopped while it writes
            them stores nothing, so the next run finds the same new pairs again; written after the
            commit, they would have been lost (the store knowing them, no report naming them).
            A run that finds nothing to read or forget, where the last run that matched kept its
            reports (:func:`keep_reports`), matches nothing: it is called with ``None`` and the
            changes holding those reports (``kept_reports``) and the skips.
        dry_run: only tell what a run would read and forget (the changes' file counts and
            ``planned``): nothing is read but the new and changed files' hashes, nothing matched or
            written; ``max_removed`` stops it as it would stop the run.

    ``root``: a local folder, or (a ``str``) a Hadoop file system URI that the Spark engine lists
    and reads (the executors hash what they read; a file whose size or modification time changed
    is hashed by Spark first, as a local one is here).

    Raises:
        InputError: ``root`` is not a directory, or more than ``max_removed`` of the stored files
            are gone from it.
        ConfigError: ``root`` is a URI and the engine is not Spark.
    """
    run = functools.partial(
        _index_folder,
        store=store,
        cfg=cfg,
        keep_missing=keep_missing,
        on_skip=on_skip,
        on_progress=on_progress,
        need_result=need_result,
        max_removed=max_removed,
        rehash=rehash,
        before_commit=before_commit,
        dry_run=dry_run,
    )
    if isinstance(root, str):
        from dedup.engines.spark import spark_context

        if cfg.engine is not Engine.SPARK:
            raise ConfigError(f"{root} is not a local folder: reading it needs --engine spark")
        with spark_context(cfg.spark_master):  # one session lists the folder and reads it
            return run(root)
    if not root.is_dir():
        raise InputError(f"input folder not found: {root}")
    return run(root, exclude=exclude)


def _index_folder(
    root: Path | str,
    store: Store,
    cfg: DedupConfig,
    keep_missing: bool,
    on_skip: SkipHook,
    on_progress: ProgressHook,
    need_result: bool,
    exclude: Iterable[Path] = (),
    max_removed: float = MAX_REMOVED,
    rehash: bool = False,
    before_commit: Callable[[DedupResult | None, Changes], object] | None = None,
    dry_run: bool = False,
) -> tuple[DedupResult | None, Changes]:
    when = now_iso()
    stats = RunStats()
    changes = Changes()
    run_skips: list[Skip] = []  # what this run skipped: in listing, and in the files it read
    on_skip = collecting(on_skip, run_skips)
    t0 = time.perf_counter()
    stored = store.file_stats()
    uri_folder = None
    unlisted: list[Skip] = []  # folders that could not be listed (their stored files are kept), pipes
    read_hashes: dict[str, str] = {}  # URI files: the SHA-1 of each file read, from the executors
    listing_skips: list[Skip] = []  # file names not UTF-8, entries that cannot be listed or read
    if isinstance(root, str):
        from dedup.engines.spark import list_uri_folder

        uri_folder = list_uri_folder(root)  # listed once: the reading below starts from this listing
        listed = {rel: (size, mtime_ns) for rel, size, mtime_ns in uri_folder.files}
        on_disk = list(listed)
        stats.files_seen = len(on_disk)
        state_of = listed.get
        folder_name = root
    else:
        on_disk, unlisted = list_folder(root, exclude, stats, on_skip)
        listing_skips = list(run_skips)  # never stored as files: kept for dedup report apart
        root_str = str(root)  # a str join: pathlib costs 1 s per 100,000 files
        state_of = lambda rel: stat_of(os.path.join(root_str, rel))  # noqa: E731
        folder_name = str(root.resolve())
    # Files whose size and time are those stored are unchanged; the others are new, or need a look,
    # as do those whose stored outcome these options would not give.
    stale = _stale_outcomes(store, stored, cfg)
    others: list[tuple[str, tuple[int, int] | None]] = []
    for rel in on_disk:
        st = state_of(rel)
        if st is None or stored.get(rel) != st or (rehash and rel in stored) or rel in stale:
            others.append((rel, st))
    listed_paths = set(on_disk)
    unseen = [rel for rel in stored if rel not in listed_paths]  # gone, or in a folder not listed
    # The whole stored state only of the files that need it (0.1 s per 100,000 files saved).
    known = store.file_states([*(rel for rel, _ in others if rel in stored), *unseen])
    if uri_folder is not None:
        # A run hashes new files as it reads them, after the --max-removed check. Where that check
        # could stop it, and in a dry run (which reads none), where files are gone, they are hashed
        # first, as a local run hashes them: a new file with a gone file's hash was moved, not removed.
        maybe_moved = unseen and (dry_run or len(unseen) > max_removed * len(stored))
        arrived = [rel for rel, _ in others if rel not in stored] if maybe_moved else []
        hashes = _uri_hashes(uri_folder, known, listed, cfg, rehash, arrived)
        sha_of = lambda rel: hashes.get(rel, "")  # noqa: E731
    else:
        sha_of = lambda rel: file_sha1(os.path.join(root_str, rel))  # noqa: E731
    to_read: list[str] = []
    new_states: list[FileState] = []
    same_content: list[FileState] = []
    unchanged = len(on_disk) - len(others)
    for rel, st in others:
        old = known.get(rel)
        sha = sha_of(rel) if st is not None else ""
        if old is not None and st is not None and sha and old.sha1 == sha and rel not in stale:
            same_content.append(old._replace(size=st[0], mtime_ns=st[1]))
            unchanged += 1
            continue
        to_read.append(rel)
        first = old.first_seen if old is not None else when
        new_states.append(FileState(rel, st[0] if st else -1, st[1] if st else -1, sha, "read", first))
        if old is None:
            changes.files_new += 1
        else:
            changes.files_changed += 1
    changes.files_unchanged = unchanged
    removed = [] if keep_missing else sorted(unseen)
    if unlisted:  # a folder that could not be listed (permissions, a stale mount) still holds its files
        hidden = tuple("" if s.path == "./" else s.path for s in unlisted if s.path.endswith("/"))
        removed = [rel for rel in removed if not rel.startswith(hidden)]
    if len(removed) - len(_moves(new_states, removed, known)) > max_removed * len(stored):
        raise InputError(
            f"{len(removed)} of the {len(stored)} files in the store are gone from {folder_name} "
            f"({len(removed) / len(stored):.0%}, more than --max-removed {max_removed:g}; first: {removed[0]!r}): "
            "is it the right folder, and mounted? Nothing was changed; pass --max-removed 1 to drop them from "
            "the store, or --keep-missing to keep them"
        )
    changes.files_removed = len(removed)
    if dry_run:
        moves = _moves(new_states, removed, known)
        changes.files_moved, changes.files_new = len(moves), changes.files_new - len(moves)
        changes.files_removed -= len(moves)
        changes.planned = {
            "new": sorted(f.path for f in new_states if f.path not in known and f.path not in moves),
            "changed": sorted(f.path for f in new_states if f.path in known),
            "removed": sorted(set(removed) - set(moves.values())),
            "moved": [{"from": old, "to": new} for new, old in sorted(moves.items())],
        }
        changes.skips = sorted_skips(run_skips)
        return None, changes
    new_skips: list[Skip] = []
    gone = set(to_read) | set(removed)
    new_ids: set[str] = set()
    file_of: dict[str, str] = {}  # the file of each article read in this run

    def fresh() -> Iterator[DigestBatch]:
        # Each batch goes into the store (inside the run's transaction) as it arrives and on to the
        # matcher: nothing holds the digests of every new file at once.
        if uri_folder is not None:
            batches = iter_uri_batches(
                uri_folder, cfg, stats, on_skip, on_progress, to_read, skips_out=new_skips, hashes_out=read_hashes
            )
        else:
            batches = iter_batches(root, to_read, cfg, stats, on_skip, on_progress, skips_out=new_skips)
        for batch in batches:
            store.add_batch(batch, seen_before, when)
            new_ids.update(batch.ids)
            file_of.update(zip(batch.ids, batch.files, strict=True))
            yield batch

    stats.seconds["read_fingerprint"] = time.perf_counter() - t0  # listing and hashing; loading adds to it
    last = None if to_read or removed else _unchanged_stats(store, cfg)
    if last is not None and need_result:
        changes.kept_reports = kept_reports(store, cfg)
        if changes.kept_reports is None:  # the last run that matched wrote no reports
            last = None
    if last is not None:
        # Nothing to read or forget, same parameters: the stored digests give the last run's result
        # again, so no pair or cluster is new (and its reports are those of the last run).
        last_stats, changes.duplicate_rate = last
        changes.skips = sorted_skips([*run_skips, *store.skips()])
        skipped = RunStats()
        for skip in changes.skips:
            skipped.add_skip(skip.reason)
        changes.stats = dataclasses.replace(
            last_stats,
            files_seen=stats.files_seen,
            files_read=0,
            skipped=skipped.skipped,
            reused_candidate_pairs=last_stats.candidate_pairs,
            seconds={**stats.seconds, "index": 0.0, "verify": 0.0, "cluster": 0.0},  # every stage, as always
        )
        with store.transaction():
            store.set_meta("input_folder", folder_name)
            store.update_mtimes(same_content)
            store.touch_files(unseen, when)
            store.set_state(_LISTING_SKIPS, listing_skips)
            store.set_state(_READ_LIMIT, cfg.ingest.max_file_bytes)
            store.set_state(_READER, READER_VERSION)
            store.set_state("last_run", when)
            if need_result and before_commit is not None:
                before_commit(None, changes)
        return None, changes
    stored_files = store.article_files()
    seen_before = store.first_seen()
    # One transaction for the whole run: a run killed at any point leaves the store as it was.
    with store.transaction():
        store.forget_files([*to_read, *removed])
        # Stored batches are read to the end before the first new batch is written.
        cache = _stored_cache(store)
        result, cache = _match_all(
            chain(store.digest_batches(samples=need_result), fresh()), cfg, stats, cache, need_result
        )
        store.set_cache(_VERIFY_CACHE, cache)
        if read_hashes:  # new URI files get their hash only as they are read
            new_states = [f._replace(sha1=read_hashes.get(f.path, f.sha1)) for f in new_states]
        # A moved or renamed file brings no new duplicate: its articles are those of its earlier
        # path (same ids past the path), with their first-seen times, clusters and pairs.
        moves = _moves(new_states, removed, known)
        earlier = {
            aid: moves[file] + aid[len(file) :]
            for aid, file in file_of.items()
            if file in moves and moves[file] + aid[len(file) :] in stored_files
        }
        later = {old: new for new, old in earlier.items()}
        changes.files_moved = len(moves)
        changes.files_new -= len(moves)
        changes.files_removed -= len(moves)
        new_states = [
            f._replace(first_seen=known[moves[f.path]].first_seen) if f.path in moves else f for f in new_states
        ]
        old_ids = set(stored_files)
        changes.articles_added = len(new_ids - old_ids - set(earlier))
        kept_ids = {aid for aid, file in stored_files.items() if file not in gone}
        changes.articles_removed = len(old_ids - kept_ids - new_ids - set(later))
        kept_skips = store.skips()
        for skip in kept_skips:  # skipped files that were not read again still count in the summary
            stats.add_skip(skip.reason)
        if need_result:
            result = dataclasses.replace(result, skips=sorted_skips([*run_skips, *kept_skips]))

        stored_clusters: dict[str, str] = store.get_state("clusters", {})
        previous_clusters = {
            **stored_clusters,
            **{n: stored_clusters[o] for n, o in earlier.items() if o in stored_clusters},
        }
        result = _stable_ids(result, previous_clusters)
        carried = {new: seen_before[old] for new, old in earlier.items()}
        article_seen = {**seen_before, **{i: when for i in new_ids - old_ids}, **carried}
        store.set_first_seen(carried)
        groups_before = store.get_state("groups", {})
        if later:  # a group first carried by a moved article is carried by it under its new path
            groups_before = {g: (t, later.get(a, a)) for g, (t, a) in groups_before.items()}
        groups_seen = _group_first_seen(result, groups_before, article_seen, when)
        if need_result:  # the reports name each group's first carrier; the store keeps them anyway
            result = _with_first_seen(result, groups_seen)

        is_new = _new_pair_test(store.get_state("pairs", set()), store.get_state("copies", {}), earlier)
        changes.new_pairs = [p for p in result.pairs if is_new(p)]
        changes.new_clusters = [
            c for c in result.clusters if any(previous_clusters.get(m.path) != c.id for m in c.members)
        ]
        changes.duplicate_rate = duplicate_rate(result)

        store.set_meta("input_folder", folder_name)
        store.add_files(new_states, new_skips, when)
        store.update_mtimes(same_content)
        store.touch_files(unseen, when)
        store.set_state("pairs", {(p.a, p.b) for p in result.pairs})
        store.set_state("copies", result.copies)
        store.set_state("clusters", {m.path: c.id for c in result.clusters for m in c.members})
        store.set_state("groups", groups_seen)
        store.set_state(_LISTING_SKIPS, listing_skips)
        store.set_state(_READ_LIMIT, cfg.ingest.max_file_bytes)
        store.set_state(_READER, READER_VERSION)
        store.set_state("last_run", when)
        kept_stats = dataclasses.replace(result.stats, seconds={})
        summary = {
            "key": _summary_key(cfg),
            "stats": kept_stats,
            "duplicate_rate": changes.duplicate_rate,
            # This matching run, told apart from every other (two runs can share a second): the
            # reports another one kept are not its own (see kept_reports).
            "run": uuid.uuid4().hex,
            "time": when,
        }
        store.set_state(_SUMMARY, summary)
        # What dedup clean needs, but the articles (the store's): a clean matches nothing again.
        plan = {"members": membership(result.clusters), "boilerplate": result.boilerplate_keys}
        store.set_cache(_CLEAN_PLAN, {"key": summary["key"], "run": summary["run"], **plan})
        changes.stats = result.stats
        if need_result and before_commit is not None:
            before_commit(result, changes)
    return (result if need_result else None), changes


def _stored_counts(store: Store) -> tuple[RunStats, list[Skip]]:
    """The file counts and skips of the stored corpus, as a scan of its folder would count them."""
    stats = RunStats()
    files = store.files()
    listing_skips: list[Skip] = store.get_state(_LISTING_SKIPS, [])
    stats.files_seen = len(files) + sum(1 for s in listing_skips if s.reason == REASON_BAD_NAME)
    stats.files_read = sum(1 for f in files.values() if f.status == "read")
    skips = [*store.skips(), *listing_skips]
    for skip in skips:
        stats.add_skip(skip.reason)
    return stats, skips


def kept_report(store: Store, cfg: DedupConfig) -> tuple[dict[str, bytes], list[Skip], RunStats] | None:
    """What ``dedup report`` writes when the last run that matched kept its reports with ``cfg``
    (see :func:`kept_reports`): those report files, the stored skips, and the counts of that run
    with the stored files' (its reports would be made again from the same stored digests)."""
    files = kept_reports(store, cfg)
    if files is None:
        return None
    counts, skips = _stored_counts(store)
    last: RunStats = store.get_state(_SUMMARY)["stats"]
    stats = dataclasses.replace(
        last,
        files_seen=counts.files_seen,
        files_read=counts.files_read,
        skipped=counts.skipped,
        reused_candidate_pairs=last.candidate_pairs,
        seconds={"read_fingerprint": 0.0, "index": 0.0, "verify": 0.0, "cluster": 0.0},
    )
    return files, sorted_skips(skips), stats


def store_status(store: Store) -> dict[str, Any]:
    """What ``dedup status`` shows: the store's header and content, and its last runs, read from
    the store alone (nothing is matched, the corpus is not read)."""
    meta = store.meta()
    counts, _ = _stored_counts(store)
    size = sum(p.stat().st_size for p in (store.path, store.path.with_name(store.path.name + "-wal")) if p.exists())
    status: dict[str, Any] = {
        "store": str(store.path),
        "bytes": size,
        "store_format": int(meta["store_format"]),
        "created": meta.get("created"),
        "input_folder": meta.get("input_folder"),
        "datasketch_version": meta.get("datasketch_version"),
        "fingerprint_parameters": json.loads(meta.get("fingerprint_params", "{}")),
        "files": counts.files_seen,
        "articles": store.db.execute("SELECT count(*) FROM articles").fetchone()[0],
        "skipped": dict(sorted(counts.skipped.items())),
        "last_run": store.get_state("last_run"),
        "last_matching_run": None,
    }
    summary = store.get_state(_SUMMARY)
    if isinstance(summary, dict) and isinstance(summary.get("stats"), RunStats):
        stats = {k: v for k, v in summary["stats"].to_dict().items() if k != "seconds"}
        key = summary.get("key") or {}
        kept = {name: _of_last_run(store, entry) is not None for name, entry in _KEPT.items()}
        status["last_matching_run"] = {
            "time": summary.get("time"),  # stores written before it was kept: None
            "version": key.get("version"),
            "parameters": key.get("params"),
            **stats,
            "duplicate_rate": round(float(summary["duplicate_rate"]), 4),
            **kept,
        }
    return status


_KEPT = {"kept_reports": _KEPT_REPORTS, "kept_clean_plan": _CLEAN_PLAN}
"""What ``dedup status`` tells is kept by the last run that matched, made by this tool's code: a
``dedup report`` (or ``dedup clean``) with that run's parameters then matches nothing."""


def report_from_store(store: Store, cfg: DedupConfig) -> DedupResult:
    """The full reports from the stored digests alone (the corpus folder is not read)."""
    stats, skips = _stored_counts(store)
    result, _ = _match_all(store.digest_batches(), cfg, stats, _stored_cache(store))
    result = dataclasses.replace(result, skips=sorted_skips(skips))
    result = _stable_ids(result, store.get_state("clusters", {}))
    return _with_first_seen(result, store.get_state("groups", {}))


def restrict_result(result: DedupResult, pairs: list[ArticlePair], clusters: list[Cluster]) -> DedupResult:
    """A result holding only the given pairs and clusters (for new_pairs.csv / new_clusters.csv)."""
    return dataclasses.replace(result, pairs=pairs, clusters=clusters)


__all__ = [
    "KEPT_REPORTS",
    "MAX_REMOVED",
    "Changes",
    "duplicate_rate",
    "index_folder",
    "keep_reports",
    "kept_clean_plan",
    "kept_report",
    "kept_reports",
    "report_from_store",
    "restrict_result",
    "store_status",
]
