"""Typer command-line interface: a thin shell over :mod:`dedup.pipeline` and :mod:`dedup.report`.

Exit codes: 0 success, 1 the run failed (``Error: ...`` on stderr), 2 bad options or paths.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from dedup.config import (
    ClusterConfig,
    DedupConfig,
    IngestConfig,
    KeepPolicy,
    LshConfig,
    SegmentConfig,
    ShingleConfig,
    VerifyConfig,
)
from dedup.errors import ConfigError, DedupError
from dedup.pipeline import DedupResult, run
from dedup.records import Skip
from dedup.report import write_reports

app = typer.Typer(
    help="Find duplicate and near-duplicate articles, and their boilerplate, in folders of scraped text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

Fraction = dict(min=0.0, max=1.0)

FolderArg = Annotated[
    Path,
    typer.Argument(
        help="Folder of articles to scan (recursively).", exists=True, file_okay=False, dir_okay=True
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder the reports are written to.")]
KeepOpt = Annotated[
    KeepPolicy, typer.Option(help="Cluster representative: longest text, first path, or shortest text.")
]
NumPermOpt = Annotated[int, typer.Option(min=2, max=1024, help="MinHash permutations.")]
SeedOpt = Annotated[int, typer.Option(min=0, help="MinHash permutation seed.")]
JaccardOpt = Annotated[
    float, typer.Option(**Fraction, help="Shingle-Jaccard level the LSH bands are tuned for.")
]
BandsOpt = Annotated[int | None, typer.Option(min=1, help="LSH bands (give with --rows; default derived).")]
RowsOpt = Annotated[int | None, typer.Option(min=1, help="Rows per LSH band (give with --bands).")]
ShingleOpt = Annotated[int, typer.Option(min=1, max=16, help="Words per shingle.")]
MinWordsOpt = Annotated[
    int, typer.Option(min=1, help="Segments with fewer words (or under twice as many, heading-like) are short: never matched.")
]
ParaSimOpt = Annotated[
    float,
    typer.Option(**Fraction, help="Minimum rapidfuzz similarity for two paragraphs to match."),
]
ArticleSimOpt = Annotated[
    float,
    typer.Option(**Fraction, help="Minimum article similarity (larger containment) for a near-duplicate pair."),
]
FloorOpt = Annotated[
    float | None,
    typer.Option(**Fraction, help="Every cluster member must match the representative at least this much "
                 "[default: --article-similarity]."),
]
BoilerOpt = Annotated[
    int, typer.Option(min=2, help="A paragraph in at least this many distinct articles is boilerplate.")
]
InclBoilerOpt = Annotated[
    bool, typer.Option(help="Score article pairs on boilerplate paragraphs too.")
]
TextFieldOpt = Annotated[str, typer.Option(help="JSON/JSONL field holding the article text.")]
IdFieldOpt = Annotated[str, typer.Option(help="JSON/JSONL field holding the record id.")]
MaxMbOpt = Annotated[float, typer.Option(min=0.001, help="Skip files larger than this (MB, decompressed).")]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="Worker processes [default: all cores].")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, skip lines or summary table.")]


@app.callback()
def _root() -> None:
    """Find duplicate and near-duplicate articles, and their boilerplate, in folders of scraped text."""


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def build_config(
    *,
    keep: KeepPolicy = KeepPolicy.LONGEST,
    num_perm: int = 128,
    seed: int = 1,
    jaccard_threshold: float = 0.7,
    bands: int | None = None,
    rows: int | None = None,
    shingle_size: int = 3,
    min_words: int = 10,
    paragraph_similarity: float = 0.8,
    article_similarity: float = 0.5,
    cluster_floor: float | None = None,
    boilerplate_min_articles: int = 10,
    include_boilerplate: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    max_file_mb: float = 64.0,
    workers: int | None = None,
) -> DedupConfig:
    """Map CLI option values onto the nested config (raises :class:`ConfigError` on bad combinations)."""
    return DedupConfig(
        ingest=IngestConfig(text_field, id_field, max(1, int(max_file_mb * 1024 * 1024))),
        segment=SegmentConfig(min_words),
        shingle=ShingleConfig(shingle_size),
        lsh=LshConfig(num_perm=num_perm, seed=seed, jaccard_threshold=jaccard_threshold, bands=bands, rows=rows),
        verify=VerifyConfig(paragraph_similarity),
        cluster=ClusterConfig(
            min_article_similarity=article_similarity,
            cluster_floor=cluster_floor,
            boilerplate_min_articles=boilerplate_min_articles,
            include_boilerplate=include_boilerplate,
            keep=keep,
        ),
        workers=workers or os.cpu_count() or 1,
    )


def _check_out(out: Path) -> None:
    """Exit 2 unless ``out`` is (or can be made) a writable folder."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".dedup-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _fail(f"cannot write to --out {out}: {exc.strerror or exc}", EXIT_USAGE) from None


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress display on stderr, or a no-op hook when disabled."""
    if not enabled:
        yield lambda stage, advance, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, Any] = {}
    labels = {"read": "reading + fingerprinting", "match": "matching paragraphs"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def hook(stage: str, advance: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            bar.advance(tasks[stage], advance)

        yield hook


def _print_summary(result: DedupResult, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result.stats
    table = Table(title="dedup scan", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())) or "0"
    for label, value in (
        ("files seen / read", f"{s.files_seen} / {s.files_read}"),
        ("skipped", skipped),
        ("articles", s.articles),
        ("paragraphs (distinct)", f"{s.paragraphs} ({s.unique_paragraphs})"),
        ("candidate / verified paragraph pairs", f"{s.candidate_pairs} / {s.verified_paragraph_pairs}"),
        ("boilerplate groups", s.boilerplate_groups),
        ("near-duplicate article pairs", s.article_pairs),
        ("clusters (articles)", f"{s.clusters} ({s.clustered_articles})"),
        ("seconds", f"{sum(s.seconds.values()):.2f}"),
        ("reports", str(out)),
    ):
        table.add_row(label, str(value))
    Console(stderr=True).print(table)


def execute_scan(folder: Path, out: Path | None, cfg: DedupConfig, quiet: bool) -> DedupResult:
    """Run the pipeline with CLI progress/skip output and write the reports (shared by commands)."""

    def on_skip(skip: Skip) -> None:
        if not quiet:
            detail = f": {skip.detail}" if skip.detail else ""
            typer.echo(f"skipped {skip.path} ({skip.reason}{detail})", err=True)

    with _progress(not quiet and sys.stderr.isatty()) as hook:
        result = run(folder, cfg, on_skip=on_skip, on_progress=hook)
    if out is not None:
        write_reports(result, out)
    return result


@app.command()
def scan(
    folder: FolderArg,
    out: OutOpt = Path("dedup-report"),
    keep: KeepOpt = KeepPolicy.LONGEST,
    num_perm: NumPermOpt = 128,
    seed: SeedOpt = 1,
    jaccard_threshold: JaccardOpt = 0.7,
    bands: BandsOpt = None,
    rows: RowsOpt = None,
    shingle_size: ShingleOpt = 3,
    min_words: MinWordsOpt = 10,
    paragraph_similarity: ParaSimOpt = 0.8,
    article_similarity: ArticleSimOpt = 0.5,
    cluster_floor: FloorOpt = None,
    boilerplate_min_articles: BoilerOpt = 10,
    include_boilerplate: InclBoilerOpt = False,
    text_field: TextFieldOpt = "text",
    id_field: IdFieldOpt = "id",
    max_file_mb: MaxMbOpt = 64.0,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Scan FOLDER and write clusters.csv, pairs.csv, boilerplate.csv, articles.csv and summary.json."""
    try:
        cfg = build_config(
            keep=keep,
            num_perm=num_perm,
            seed=seed,
            jaccard_threshold=jaccard_threshold,
            bands=bands,
            rows=rows,
            shingle_size=shingle_size,
            min_words=min_words,
            paragraph_similarity=paragraph_similarity,
            article_similarity=article_similarity,
            cluster_floor=cluster_floor,
            boilerplate_min_articles=boilerplate_min_articles,
            include_boilerplate=include_boilerplate,
            text_field=text_field,
            id_field=id_field,
            max_file_mb=max_file_mb,
            workers=workers,
        )
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    _check_out(out)
    try:
        result = execute_scan(folder, out, cfg, quiet)
    except DedupError as exc:
        raise _fail(str(exc), EXIT_ERROR) from None
    except Exception as exc:  # never a traceback full of article text in a job log
        if os.environ.get("DEDUP_DEBUG"):
            raise
        raise _fail(f"internal error ({type(exc).__name__}); set DEDUP_DEBUG=1 for a traceback", EXIT_ERROR) from None
    if not quiet:
        _print_summary(result, out)


def main() -> None:  # pragma: no cover - console entry point alias
    """Entry point for ``python -m dedup``."""
    app()


__all__ = ["app", "build_config", "execute_scan", "main"]
