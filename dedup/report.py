"""Report writers: fixed column orders, sorted rows, byte-stable CSV and a JSON summary."""

from __future__ import annotations

import contextvars
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from dedup.config import DedupConfig
from dedup.errors import DedupError
from dedup.pipeline import DedupResult
from dedup.records import ParagraphMatch, RunStats, Skip

CLUSTERS_COLUMNS = (
    "cluster_id",
    "path",
    "cluster_size",
    "is_representative",
    "similarity_to_representative",
    "chars",
    "shared_paragraphs",
)
PAIRS_COLUMNS = (
    "path_a",
    "path_b",
    "similarity",
    "containment_a",
    "containment_b",
    "shingle_containment",
    "matched_paragraphs",
    "best_score",
    "minhash_jaccard",
    "matches",
)
BOILERPLATE_COLUMNS = (
    "group_id",
    "articles",
    "occurrences",
    "is_boilerplate",
    "sample_text",
    "example_paths",
    "first_seen",
    "first_article",
)
ARTICLES_COLUMNS = (
    "path",
    "paragraphs",
    "short_segments",
    "chars",
    "template_pct",
    "shared_pct",
    "unique_pct",
    "cluster_id",
)
SKIPPED_COLUMNS = ("path", "reason", "detail")
REPORT_FILES = ("clusters.csv", "pairs.csv", "boilerplate.csv", "articles.csv", "skipped.csv", "summary.json")


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``"unknown"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _fraction(x: float) -> str:
    return f"{x:.4f}"


def _flag(x: bool) -> str:
    return "true" if x else "false"


def _evidence(m: ParagraphMatch) -> str:
    """``i-j:0.97`` for a full match, ``i-j~0.40/0.25`` (share of i found in j / of j in i) for a partial one."""
    if m.full:
        return f"{m.index_a}-{m.index_b}:{m.score:.2f}"
    return f"{m.index_a}-{m.index_b}~{m.score:.2f}/{m.score_b:.2f}"


def _file_mode() -> int:
    """The mode a newly created file gets here (``0o666`` less the umask, which can only be read
    by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_STAGED: contextvars.ContextVar[list[tuple[str, Path]] | None] = contextvars.ContextVar("staged", default=None)
"""Within :func:`_all_or_none`: the files written so far, under their temporary names."""


@contextmanager
def _all_or_none(last: Path) -> Iterator[None]:
    """Report files written within are renamed into place only once all of them are written; ``last``
    (``summary.json``) is removed before the first rename and renamed last.

    A run that fails while it writes them (a full disk) leaves the earlier reports as they were;
    one stopped during the renames leaves no ``summary.json``: a folder that holds one holds the
    complete reports of the run it describes. No temporary file is left either way.
    """
    staged: list[tuple[str, Path]] = []
    token = _STAGED.set(staged)
    try:
        yield
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _STAGED.reset(token)
    staged.sort(key=lambda item: item[1] == last)  # stable: the others in the order written
    done = 0
    try:
        last.unlink(missing_ok=True)
        for tmp, path in staged:
            os.replace(tmp, path)
            done += 1
    except OSError as exc:
        raise DedupError(f"cannot write {staged[done][1]}: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in staged[done:]:
            Path(tmp).unlink(missing_ok=True)


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: no half-written reports.

    The file gets the mode any new file gets (``mkstemp`` makes it ``0600``: a report that
    others sharing the machine or group could not read)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise DedupError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            os.fchmod(fh.fileno(), _file_mode())
        staged = _STAGED.get()
        if staged is None:
            os.replace(tmp, path)
        else:
            staged.append((tmp, path))
    except OSError as exc:  # a full disk, say: one line, and the earlier report stays whole
        Path(tmp).unlink(missing_ok=True)
        raise DedupError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV with a header row, ``\\n`` line ends and minimal quoting."""

    def write(fh: Any) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)

    _atomic_write(path, write)


def write_clusters_csv(result: DedupResult, path: Path) -> None:
    """``clusters.csv``: one row per clustered article, by cluster id, representative first."""
    write_csv(
        path,
        CLUSTERS_COLUMNS,
        (
            (
                m.cluster_id,
                m.path,
                m.cluster_size,
                _flag(m.is_representative),
                _fraction(m.similarity_to_representative),
                m.chars,
                m.shared_paragraphs,
            )
            for c in result.clusters
            for m in c.members
        ),
    )


def write_pairs_csv(result: DedupResult, path: Path) -> None:
    """``pairs.csv``: one row per verified article pair, sorted by paths."""
    write_csv(
        path,
        PAIRS_COLUMNS,
        (
            (
                p.a,
                p.b,
                _fraction(p.similarity),
                _fraction(p.containment_a),
                _fraction(p.containment_b),
                _fraction(p.shingle_containment),
                p.matched_paragraphs,
                _fraction(p.best_score),
                _fraction(p.minhash_jaccard),
                ";".join(_evidence(m) for m in p.matches),
            )
            for p in result.pairs
        ),
    )


def write_boilerplate_csv(result: DedupResult, path: Path) -> None:
    """``boilerplate.csv``: paragraph groups found in two or more articles, most widespread first."""
    write_csv(
        path,
        BOILERPLATE_COLUMNS,
        (
            (
                g.id,
                g.articles,
                g.occurrences,
                _flag(g.is_template),
                g.sample,
                ";".join(g.example_paths),
                g.first_seen,
                g.first_article,
            )
            for g in result.groups
        ),
    )


def write_articles_csv(result: DedupResult, path: Path) -> None:
    """``articles.csv``: every article read, in path order."""
    write_csv(
        path,
        ARTICLES_COLUMNS,
        (
            (
                a.path,
                a.paragraphs,
                a.short_segments,
                a.chars,
                f"{a.template_pct:.1f}",
                f"{a.shared_pct:.1f}",
                f"{a.unique_pct:.1f}",
                a.cluster_id,
            )
            for a in result.articles
        ),
    )


def write_skipped_csv(result: DedupResult, path: Path) -> None:
    """``skipped.csv``: every file and record not read, with the reason, in path order (what the
    skip lines say, for a run with ``--quiet``)."""
    write_csv(path, SKIPPED_COLUMNS, ((s.path, s.reason, s.detail) for s in result.skips))


def write_new_reports(new_pairs: DedupResult, out: Path) -> list[Path]:
    """``new_pairs.csv`` and ``new_clusters.csv`` (same columns as pairs.csv and clusters.csv)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "new_pairs.csv", out / "new_clusters.csv"]
    write_pairs_csv(new_pairs, paths[0])
    write_clusters_csv(new_pairs, paths[1])
    return paths


def summary_dict(result: DedupResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``summary.json``: counts, skips, parameters, versions, timings."""
    return run_summary(result.config, result.stats, extra)


def run_summary(cfg: DedupConfig, stats: RunStats, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`summary_dict` of a run's parameters and stats (all a summary needs)."""
    out: dict[str, Any] = {
        "tool": "dedup",
        "version": package_version("dedup"),
        "datasketch_version": package_version("datasketch"),
        "rapidfuzz_version": package_version("rapidfuzz"),
        "parameters": {**cfg.to_dict(), "tag": cfg.tag, "minhash_scheme": "affine32"},
        **stats.to_dict(),
    }
    if extra:
        out.update(extra)
    return out


def write_summary_json(result: DedupResult, path: Path, extra: dict[str, Any] | None = None) -> None:
    """``summary.json`` (pretty-printed, keys in a fixed order)."""
    _write_json(path, summary_dict(result, extra))


def _write_json(path: Path, value: dict[str, Any]) -> None:
    _atomic_write(path, lambda fh: fh.write(json.dumps(value, indent=2) + "\n"))


def write_reports(
    result: DedupResult, out: Path, extra: dict[str, Any] | None = None, new: DedupResult | None = None
) -> list[Path]:
    """Write all six report files into ``out`` (created if missing), and with ``new`` (a result
    holding only the new pairs and clusters) ``new_pairs.csv`` and ``new_clusters.csv`` too.

    The files replace the earlier ones only once all of them are written, ``summary.json`` last
    (see :func:`_all_or_none`).

    Returns:
        The paths written, in :data:`REPORT_FILES` order (then the new reports').
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in REPORT_FILES]
    with _all_or_none(paths[5]):
        write_clusters_csv(result, paths[0])
        write_pairs_csv(result, paths[1])
        write_boilerplate_csv(result, paths[2])
        write_articles_csv(result, paths[3])
        write_skipped_csv(result, paths[4])
        written = write_new_reports(new, out) if new is not None else []
        write_summary_json(result, paths[5], extra)
    return [*paths, *written]


def write_kept_reports(
    out: Path,
    files: dict[str, bytes],
    skips: Iterable[Skip],
    cfg: DedupConfig,
    stats: RunStats,
    extra: dict[str, Any] | None = None,
    new_reports: bool = True,
) -> list[Path]:
    """The reports of a run that matched nothing (an index run with nothing new, a report from
    the store): ``files``, an earlier run's report files, as they were; ``skipped.csv`` of
    ``skips``, empty new reports (with ``new_reports``), and the ``summary.json`` of ``stats``.
    Written as :func:`write_reports` writes them."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in REPORT_FILES]
    new = [out / "new_pairs.csv", out / "new_clusters.csv"] if new_reports else []
    with _all_or_none(paths[5]):
        for name, data in files.items():
            text = data.decode("utf-8")
            _atomic_write(out / name, lambda fh, text=text: fh.write(text))
        write_csv(paths[4], SKIPPED_COLUMNS, ((s.path, s.reason, s.detail) for s in skips))
        for path, columns in zip(new, (PAIRS_COLUMNS, CLUSTERS_COLUMNS), strict=False):
            write_csv(path, columns, [])
        _write_json(paths[5], run_summary(cfg, stats, extra))
    return [*paths, *new]


__all__ = [
    "ARTICLES_COLUMNS",
    "BOILERPLATE_COLUMNS",
    "CLUSTERS_COLUMNS",
    "PAIRS_COLUMNS",
    "REPORT_FILES",
    "SKIPPED_COLUMNS",
    "run_summary",
    "summary_dict",
    "write_articles_csv",
    "write_boilerplate_csv",
    "write_clusters_csv",
    "write_csv",
    "write_kept_reports",
    "write_new_reports",
    "write_pairs_csv",
    "write_reports",
    "write_skipped_csv",
    "write_summary_json",
]
