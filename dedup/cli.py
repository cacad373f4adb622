"""Typer command-line interface: a thin shell over :mod:`dedup.pipeline` and :mod:`dedup.report`.

Exit codes: 0 success, 1 the run failed (``Error: ...`` on stderr), 2 bad options or paths.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import glob
import inspect
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import tomllib
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from dedup.config import (
    ClusterConfig,
    DedupConfig,
    Engine,
    IngestConfig,
    KeepPolicy,
    Linkage,
    LshConfig,
    SegmentConfig,
    ShingleConfig,
    VerifyConfig,
)
from dedup.engines import no_huge_pages
from dedup.engines.local import abandon_pools
from dedup.errors import ConfigError, DedupError, InputError
from dedup.incremental import MAX_REMOVED
from dedup.pipeline import DedupResult, analyse, match_corpus
from dedup.records import RunStats, Skip
from dedup.report import REPORT_FILES, write_csv, write_kept_reports, write_reports
from dedup.store import LockTimeoutError, Store, lockable, network_file_system, store_lock

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
EXIT_NEW_DUPLICATES = 3
EXIT_DUPLICATE_RATE = 4
EXIT_LOCKED = 5

_D = DedupConfig()
_FRACTION: dict[str, Any] = {"min": 0.0, "max": 1.0}

# Options shared by every command that runs the pipeline, with the dataclass defaults.
_RUN_OPTIONS: list[tuple[str, Any, Any]] = [
    ("keep", KeepPolicy, typer.Option(help="Cluster representative: longest text, first path, or shortest text.")),
    ("num_perm", int, typer.Option(min=2, max=1024, help="MinHash permutations.")),
    ("seed", int, typer.Option(min=0, help="MinHash permutation seed.")),
    ("jaccard_threshold", float, typer.Option(**_FRACTION, help="Shingle Jaccard the LSH bands are tuned for.")),
    ("bands", int | None, typer.Option(min=1, help="LSH bands (with --rows) [default: derived]")),
    ("rows", int | None, typer.Option(min=1, help="Rows per LSH band (with --bands) [default: derived]")),
    ("shingle_size", int, typer.Option(min=1, max=16, help="Words per shingle.")),
    (
        "min_words",
        int,
        typer.Option(min=1, help="Shorter segments (and heading-like ones under twice this) are never matched."),
    ),
    (
        "paragraph_similarity",
        float,
        typer.Option(**_FRACTION, help="Minimum rapidfuzz similarity for two paragraphs to match."),
    ),
    (
        "article_similarity",
        float,
        typer.Option(**_FRACTION, help="Minimum article similarity (larger containment) for a near-duplicate pair."),
    ),
    (
        "shingle_containment",
        float,
        typer.Option(
            **_FRACTION,
            help="Also a near-duplicate pair when this share of one article's non-template shingles is in the other.",
        ),
    ),
    (
        "cluster_floor",
        float | None,
        typer.Option(
            **_FRACTION, help="Guarded linkage: each member must match the representative at least this much."
        ),
    ),
    (
        "boilerplate_min_articles",
        int,
        typer.Option(min=2, help="A paragraph in at least this many distinct articles is boilerplate."),
    ),
    ("include_boilerplate", bool, typer.Option(help="Score article pairs on boilerplate paragraphs too.")),
    ("linkage", Linkage, typer.Option(help="guarded: members must match the representative; single: chains allowed.")),
    (
        "text_field",
        str,
        typer.Option(help="JSON/JSONL field (Parquet column) holding the article text, or a list of its paragraphs."),
    ),
    ("id_field", str, typer.Option(help="JSON/JSONL field (Parquet column) holding the record id.")),
    (
        "text_is_html",
        bool,
        typer.Option(help="The JSON/JSONL text field holds HTML: extract its main text, as for .html files."),
    ),
    (
        "text_is_markdown",
        bool,
        typer.Option(help="The JSON/JSONL text field holds Markdown: read its text, as for .md files."),
    ),
    ("max_file_mb", float, typer.Option(min=0.001, help="Skip files larger than this many MB (decompressed).")),
    (
        "workers",
        int | None,
        typer.Option(
            min=1, help="Worker processes, at most the CPUs this process may use [default: those CPUs, see README]"
        ),
    ),
    (
        "engine",
        Engine,
        typer.Option(help="What reads and fingerprints the files: local worker processes, or Apache Spark."),
    ),
    (
        "spark_master",
        str | None,
        typer.Option(help="Spark master URL for --engine spark, e.g. local[8] [default: Spark's configuration]"),
    ),
    ("quiet", bool, typer.Option("--quiet", "-q", help="No progress bars, skip lines or summary table.")),
]
_RUN_DEFAULTS: dict[str, Any] = {
    "keep": _D.cluster.keep,
    "num_perm": _D.lsh.num_perm,
    "seed": _D.lsh.seed,
    "jaccard_threshold": _D.lsh.jaccard_threshold,
    "bands": None,
    "rows": None,
    "shingle_size": _D.shingle.size,
    "min_words": _D.segment.min_words,
    "paragraph_similarity": _D.verify.min_similarity,
    "article_similarity": _D.cluster.min_article_similarity,
    "shingle_containment": _D.cluster.min_shingle_containment,
    "cluster_floor": _D.cluster.cluster_floor,
    "boilerplate_min_articles": _D.cluster.boilerplate_min_articles,
    "include_boilerplate": _D.cluster.include_boilerplate,
    "linkage": _D.cluster.linkage,
    "text_field": _D.ingest.text_field,
    "id_field": _D.ingest.id_field,
    "text_is_html": _D.ingest.text_is_html,
    "text_is_markdown": _D.ingest.text_is_markdown,
    "max_file_mb": _D.ingest.max_file_bytes / (1024 * 1024),
    "workers": None,
    "engine": _D.engine,
    "spark_master": None,
    "quiet": False,
}


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file of option values (keys as option names, - or _); flags given on the command line win.",
        exists=True,
        dir_okay=False,
        envvar="DEDUP_CONFIG",
    ),
]


def _coerce(value: Any, annotation: Any) -> Any:
    """Turn a TOML value into what the option's type expects (paths, enums)."""
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
    kinds = typing.get_args(base) or (base,)
    for kind in kinds:
        if kind is Path:
            return Path(value)
        if isinstance(kind, type) and issubclass(kind, Enum):
            return kind(value)
    return value


def _apply_config_file(ctx: typer.Context, path: Path | None, kwargs: dict[str, Any], params: dict[str, Any]) -> None:
    """Fill options left at their defaults from the ``--config`` TOML file (command-line flags win)."""
    if path is None:
        return
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise _fail(f"cannot read --config {path}: {exc}", EXIT_USAGE) from None
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in params or name in ("config", "ctx"):
            raise _fail(f"--config {path}: unknown option {key!r}", EXIT_USAGE)
        source = ctx.get_parameter_source(name)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            try:
                kwargs[name] = _coerce(value, params[name])
            except ValueError as exc:
                raise _fail(f"--config {path}: bad value for {key!r}: {exc}", EXIT_USAGE) from None


def with_run_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add the shared pipeline options and ``--config`` to a command; options arrive as one ``opts`` dict."""
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "opts"]
    extra = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=_RUN_DEFAULTS[name], annotation=Annotated[kind, info]
        )
        for name, kind, info in _RUN_OPTIONS
    ]
    extra.append(inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOpt))
    extra.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    annotations = {p.name: p.annotation for p in [*own, *extra]}

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        no_huge_pages()
        ctx = kwargs.pop("ctx")
        _apply_config_file(ctx, kwargs.pop("config"), kwargs, annotations)
        opts = {name: kwargs.pop(name) for name, _, _ in _RUN_OPTIONS}
        _cap_workers(opts)
        with _signals_as_interrupts():
            func(opts=opts, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def config_from_options(opts: dict[str, Any]) -> DedupConfig:
    """Map option values onto the nested config.

    Raises:
        ConfigError: a bad value or combination (the CLI reports it with exit code 2).
    """
    return DedupConfig(
        ingest=IngestConfig(
            opts["text_field"],
            opts["id_field"],
            max(1, int(opts["max_file_mb"] * 1024 * 1024)),
            opts["text_is_html"],
            opts["text_is_markdown"],
        ),
        segment=SegmentConfig(opts["min_words"]),
        shingle=ShingleConfig(opts["shingle_size"]),
        lsh=LshConfig(
            num_perm=opts["num_perm"],
            seed=opts["seed"],
            jaccard_threshold=opts["jaccard_threshold"],
            bands=opts["bands"],
            rows=opts["rows"],
        ),
        verify=VerifyConfig(opts["paragraph_similarity"]),
        cluster=ClusterConfig(
            min_article_similarity=opts["article_similarity"],
            min_shingle_containment=opts["shingle_containment"],
            cluster_floor=opts["cluster_floor"],
            boilerplate_min_articles=opts["boilerplate_min_articles"],
            include_boilerplate=opts["include_boilerplate"],
            keep=opts["keep"],
            linkage=opts["linkage"],
        ),
        workers=opts["workers"] or usable_cpus(),
        engine=opts["engine"],
        spark_master=opts["spark_master"],
    )


def usable_cpus() -> int:
    """The CPUs this process may use: the machine's, its affinity mask's, its container's quota
    (cgroup CPU bandwidth) and ``LOKY_MAX_CPU_COUNT``, whichever is fewest (loky's count).

    ``os.cpu_count()`` counts the host's CPUs: in a container limited to 2 of 64, a run would
    start 64 workers, each with its own memory.
    """
    from loky import cpu_count

    return max(1, int(cpu_count()))


def _cap_workers(opts: dict[str, Any]) -> None:
    """Lower ``--workers`` to the CPUs this process may use, with a note (unless ``--quiet``).

    More workers than CPUs make a run no faster, and each holds its own memory. Only the command
    line is capped: library callers (tests, benchmarks) get the workers they ask for.
    """
    usable = usable_cpus()
    if opts["workers"] is not None and opts["workers"] > usable:
        if not opts["quiet"]:
            note = f"note: --workers {opts['workers']} is more than the {usable} CPUs this process may use"
            typer.echo(f"{note}: running {usable}", err=True)
        opts["workers"] = usable


def build_config(**overrides: Any) -> DedupConfig:
    """A config from CLI-style option names, defaults for the rest (used by benchmarks and tests)."""
    unknown = set(overrides) - set(_RUN_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
    return config_from_options({**_RUN_DEFAULTS, **overrides})


def _print_version(value: bool) -> None:
    if value:
        from dedup.report import package_version

        deps = ", ".join(f"{name} {package_version(name)}" for name in ("datasketch", "rapidfuzz", "numpy"))
        typer.echo(f"dedup {package_version('dedup')} ({deps}; Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the versions and exit."),
    ] = False,
) -> None:
    """Find duplicate and near-duplicate articles, and their boilerplate, in folders of scraped text."""


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _check_out(out: Path) -> None:
    """Exit 2 unless ``out`` is (or can be made) a writable folder."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".dedup-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _fail(f"cannot write to --out {out}: {exc.strerror or exc}", EXIT_USAGE) from None


_TEMP_SUFFIX = re.compile("[a-z0-9_]{8}")


@contextmanager
def _replacing(out: Path) -> Iterator[Path]:
    """A new folder beside ``out`` to write into; at the end it takes the place of ``out`` (whose
    old content goes), so nothing of an earlier run's output remains and a failed run leaves
    ``out`` as it was. The caller holds the lock of ``out`` (``clean``'s): the folders a killed
    run left beside it (named as this function names them, ``mkdtemp``'s eight characters after the
    prefix) are removed first."""
    for prefix in (f".{out.name}.new-", f".{out.name}.old-"):
        for stale in out.parent.glob(glob.escape(prefix) + "?" * 8):
            if _TEMP_SUFFIX.fullmatch(stale.name[len(prefix) :]):
                shutil.rmtree(stale, ignore_errors=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        os.chmod(fresh, out.stat().st_mode & 0o7777)  # not mkdtemp's 0700: the folder's own mode
        yield fresh
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "out")
        os.replace(fresh, out)
        shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


@contextmanager
def _guard() -> Iterator[None]:
    """Turn library failures into ``Error: ...`` + exit 1; never a traceback full of article text."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        if _RECEIVED:  # an error the interrupt caused (see _signals_as_interrupts): that is what to say
            raise _interrupted() from None
        raise _failure(exc) from None


def _failure(exc: Exception) -> typer.Exit:
    """The exit (its ``Error:`` line printed) for a failure; with ``DEDUP_DEBUG`` set, the error
    itself is raised again (a traceback) unless it is the user's or a lock's."""
    if isinstance(exc, ConfigError):
        return _fail(str(exc), EXIT_USAGE)
    if isinstance(exc, LockTimeoutError):
        return _fail(str(exc), EXIT_LOCKED)
    if isinstance(exc, DedupError):
        return _fail(str(exc), EXIT_ERROR)
    if os.environ.get("DEDUP_DEBUG"):
        raise exc
    if isinstance(exc, sqlite3.Error):  # the store's file system failed mid-run (disk full, I/O error)
        return _fail(f"the store failed: {exc}; it keeps what the last complete run wrote", EXIT_ERROR)
    if isinstance(exc, OSError):  # a file dedup writes (a clean copy): the OS's words and the file, no text
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror or type(exc).__name__}{where}", EXIT_ERROR)
    if isinstance(exc, ImportError):
        # A module name, never article text: say which dependency is missing or broken.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = f"a dependency is missing or broken ({first}); reinstall dedup with its dependencies"
        return _fail(message, EXIT_ERROR)
    return _fail(f"internal error ({type(exc).__name__}); set DEDUP_DEBUG=1 for a traceback", EXIT_ERROR)


class Terminated(BaseException):
    """SIGTERM, raised in the run's main process as Ctrl-C raises ``KeyboardInterrupt``.

    Not a ``KeyboardInterrupt``: py4j logs one of those with a traceback (a Spark run), and an
    ``except Exception`` catches neither.
    """


_RECEIVED: list[signal.Signals] = []
"""The stopping signals the current command received (see :func:`_signals_as_interrupts`)."""


def _interrupted() -> typer.Exit:
    number = _RECEIVED[0]
    return _fail(f"interrupted by {number.name}", 128 + number)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """Within a command: SIGTERM (``kill``, ``timeout``, systemd, a scheduler's deadline) and Ctrl-C
    end the run with one ``Error: interrupted by SIG...`` line and exit ``128 + signal`` (130, 143).

    Python's default for SIGTERM ends the process on the spot. Raised as an exception instead, it
    unwinds the run as Ctrl-C does: the store's transaction rolls back, a report being written
    leaves no temporary file, and the worker pools end. A forked worker inherits the handler;
    there it ends the worker as the default would (only the main process unwinds). Whatever error
    a run meets once it received one of them is taken for its consequence (a Spark JVM stopped by
    the same SIGTERM fails the call under way): the line says it was interrupted.

    A signal that arrives while a finalizer runs (a ``__del__``, a weak reference's callback)
    raises there, and Python prints and drops what a finalizer raises: the run went on, committed,
    and once exited 0 with ``Exception ignored ... Terminated`` on stderr. Such a signal is raised
    again a millisecond later (a SIGALRM, whose handler runs in the code the finalizer
    interrupted), and at the run's next progress step or as the command returns, if still due.
    """
    main = os.getpid()
    _RECEIVED.clear()
    previous_hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if _RECEIVED and isinstance(info.exc_value, Terminated | KeyboardInterrupt) and os.getpid() == main:
            signal.setitimer(signal.ITIMER_REAL, 0.001)
        else:
            previous_hook(info)

    def on_alarm(signum: int, frame: object) -> None:
        if os.getpid() == main:
            _check_interrupted()

    def on_signal(signum: int, frame: object) -> None:
        if os.getpid() != main:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        _RECEIVED.append(signal.Signals(signum))
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous: dict[signal.Signals, Any] = {}
    for number, handler in ((signal.SIGINT, on_signal), (signal.SIGTERM, on_signal), (signal.SIGALRM, on_alarm)):
        try:
            previous[number] = signal.signal(number, handler)
        except ValueError:  # not the main thread (an embedding application): its signals stay its own
            break
    sys.unraisablehook = unraisable
    try:
        yield
        _check_interrupted()  # a signal a finalizer dropped after the last progress step
    except (KeyboardInterrupt, Terminated) as exc:
        abandon_pools()
        if not _RECEIVED:  # a KeyboardInterrupt raised by other means than the signal
            _RECEIVED.append(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        raise _interrupted() from None
    except typer.Exit as exc:
        abandon_pools()
        if _RECEIVED and exc.exit_code != 128 + _RECEIVED[0]:  # not said yet: a finalizer dropped it
            raise _interrupted() from None
        raise
    except BaseException:
        abandon_pools()  # workers left by a failed run (their results are not wanted) end now
        if _RECEIVED:
            raise _interrupted() from None
        raise
    finally:
        sys.unraisablehook = previous_hook
        if signal.SIGALRM in previous:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():  # None: a handler not set from Python (the default)
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def _check_interrupted(*_: object) -> None:
    """Raise the stopping signal the current command received, if a finalizer dropped the
    exception its handler raised (see :func:`_signals_as_interrupts`); a progress hook."""
    if _RECEIVED:
        raise Terminated if _RECEIVED[0] == signal.SIGTERM else KeyboardInterrupt


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress display on stderr, or a no-op hook when disabled."""
    if not enabled:
        yield _check_interrupted
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
            _check_interrupted()
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            bar.advance(tasks[stage], advance)

        yield hook


def _print_table(title: str, rows: list[tuple[str, object]], err: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in rows:
        table.add_row(label, str(value))
    Console(stderr=err).print(table)


def _summary_rows(s: RunStats) -> list[tuple[str, object]]:
    return [
        ("files seen / read", f"{s.files_seen} / {s.files_read}"),
        ("skipped", ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())) or "0"),
        ("articles", s.articles),
        ("paragraphs (distinct)", f"{s.paragraphs} ({s.unique_paragraphs})"),
        ("candidate / verified paragraph pairs", f"{s.candidate_pairs} / {s.verified_paragraph_pairs}"),
        ("boilerplate groups", s.boilerplate_groups),
        ("near-duplicate article pairs", s.article_pairs),
        ("clusters (articles)", f"{s.clusters} ({s.clustered_articles})"),
        ("seconds", f"{sum(s.seconds.values()):.2f}"),
    ]


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127]} | {9: "\\t", 10: "\\n", 13: "\\r"}


def _skip_line(skip: Skip) -> str:
    """The one stderr line of a skip; control characters in a name (a newline, a tab) are escaped
    so that it stays one line.

    >>> _skip_line(Skip("a\\nb.txt", "empty", ""))
    'skipped a\\\\nb.txt (empty)'
    """
    detail = f": {skip.detail}" if skip.detail else ""
    return f"skipped {skip.path} ({skip.reason}{detail})".translate(_CONTROL)


@contextmanager
def _locked_store(path: Path, cfg: DedupConfig, lock_timeout: float, **kwargs: bool) -> Iterator[Store]:
    """The store, opened under its lock (see :func:`~dedup.store.store_lock`). On a network file
    system, one warning line first, with or without ``--quiet``: the run goes on."""
    kind = network_file_system(path)
    if kind:
        typer.echo(
            f"warning: the store {path} is on a network file system ({kind}): keep it on a local disk, "
            "where SQLite's journal and locks are safe (see README, The store)",
            err=True,
        )
    with store_lock(path, lock_timeout), Store(path, cfg, **kwargs) as db:
        yield db


def _skip_printer(quiet: bool) -> Callable[[Skip], None]:
    """The skip hook of a run: one line on stderr per skip, none with ``--quiet``."""

    def on_skip(skip: Skip) -> None:
        if not quiet:
            typer.echo(_skip_line(skip), err=True)

    return on_skip


def _own_output(out: Path) -> list[Path]:
    """The folder a run writes its reports into, and each report file in it: the folder is left out
    of a corpus it lies in, the files where the folder is the corpus' own (``--out .``)."""
    names = (*REPORT_FILES, "new_pairs.csv", "new_clusters.csv", "eval.json", "errors.csv")
    return [out, *(out / name for name in names)]


def _match(folder: Path, cfg: DedupConfig, quiet: bool, out: Path | None = None) -> Any:
    """Stages 1-5 with CLI progress bars and one stderr line per skipped file; ``out``, the run's
    reports folder, is not read when it lies in ``folder``."""

    on_skip = _skip_printer(quiet)
    with _progress(not quiet and sys.stderr.isatty()) as hook:
        # Only the analysis reads the corpus afterwards (the eval sweeps re-run it alone).
        exclude = () if out is None else _own_output(out)
        return match_corpus(folder, cfg, on_skip=on_skip, on_progress=hook, release=True, exclude=exclude)


FolderArg = Annotated[
    Path, typer.Argument(help="Folder of articles (scanned recursively).", exists=True, file_okay=False, dir_okay=True)
]


def _folder_or_uri(value: str) -> Path | str:
    """A local folder that exists (a ``Path``, with :data:`FolderArg`'s messages), or a Hadoop file
    system URI (``hdfs://``, ``s3a://``, ``file://`` ..., kept as a string) for --engine spark."""
    from dedup.engines.spark import is_uri

    if is_uri(value):
        return value
    try:
        is_dir = os.path.isdir(value)
        exists = is_dir or os.path.exists(value)
    except (OSError, ValueError):
        exists = is_dir = False
    if not exists:
        raise typer.BadParameter(f"dir {value!r} does not exist.")
    if not is_dir:
        raise typer.BadParameter(f"dir {value!r} is a file.")
    return Path(value)


FolderOrUriArg = Annotated[
    Path,
    typer.Argument(
        help="Folder of articles (scanned recursively); with --engine spark also an hdfs://, s3a://, file:// ... URI.",
        parser=_folder_or_uri,
        metavar="folder",
    ),
]


@app.command()
@with_run_options
def scan(
    folder: FolderOrUriArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder the reports are written to.")] = Path("dedup-report"),
    *,
    opts: dict[str, Any],
) -> None:
    """Scan FOLDER; write clusters.csv, pairs.csv, boilerplate.csv, articles.csv, skipped.csv and summary.json."""
    with _guard():
        cfg = config_from_options(opts)
        _check_out(out)
        corpus, edges, stats = _match(folder, cfg, opts["quiet"], out)
        result = analyse(corpus, edges, cfg, stats)
        write_reports(result, out)
    if not opts["quiet"]:
        _print_table("dedup scan", [*_summary_rows(result.stats), ("reports", str(out))])


EVAL_ERRORS_COLUMNS = ("kind", "path_a", "path_b", "truth_a", "truth_b", "similarity", "shingle_containment")
SWEEP_COLUMNS = ("article_similarity", "precision", "recall", "f1", "ari", "clusters", "clustered_articles")
SHINGLE_SWEEP_COLUMNS = ("shingle_containment", *SWEEP_COLUMNS[1:])


def _evaluate(result: DedupResult, truth: dict[str, str]) -> tuple[dict[str, Any], list[tuple[object, ...]]]:
    from dedup.evaluate import adjusted_rand_index, cluster_pairs, pairwise_scores

    scanned = {a.path for a in result.articles}
    universe = {p: c for p, c in truth.items() if p in scanned}
    predicted = {a.path: a.cluster_id for a in result.articles if a.path in universe}
    scores = pairwise_scores(universe, predicted)
    metrics = {
        "articles_in_truth": len(truth),
        "articles_evaluated": len(universe),
        "truth_paths_not_scanned": len(truth) - len(universe),
        "ari": round(adjusted_rand_index(universe, predicted), 4),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "true_positives": scores.true_positives,
        "false_positives": scores.false_positives,
        "false_negatives": scores.false_negatives,
    }
    t_pairs = cluster_pairs(universe)
    p_pairs = cluster_pairs(predicted)
    errors = [
        (
            kind,
            a,
            b,
            universe[a],
            universe[b],
            f"{result.scored.get((a, b), 0.0):.4f}",
            f"{result.shingle_scored.get((a, b), 0.0):.4f}",
        )
        for kind, pairs in (("false_positive", p_pairs - t_pairs), ("false_negative", t_pairs - p_pairs))
        for a, b in sorted(pairs)
    ]
    return metrics, errors


@app.command("eval")
@with_run_options
def eval_(
    folder: FolderOrUriArg,
    truth: Annotated[
        Path, typer.Option(help="CSV with path,cluster rows (paths relative to FOLDER).", exists=True, dir_okay=False)
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write eval.json and errors.csv here.")] = None,
    sweep: Annotated[bool, typer.Option(help="Re-cluster at article similarity 0.10..0.90 and print a table.")] = False,
    sweep_shingles: Annotated[
        bool, typer.Option(help="Re-cluster at shingle containment 0.10..1.00 and print a table.")
    ] = False,
    *,
    opts: dict[str, Any],
) -> None:
    """Scan FOLDER and score the clusters against a ground truth: ARI, pairwise precision/recall/F1."""
    from dedup.evaluate import read_truth

    with _guard():
        cfg = config_from_options(opts)
        if out is not None:
            _check_out(out)
        truth_map = read_truth(truth)
        if not truth_map:
            raise InputError(f"truth file {truth} has no rows")
        corpus, edges, stats = _match(folder, cfg, True, out)
        result = analyse(corpus, edges, cfg, stats)
        metrics, errors = _evaluate(result, truth_map)
        missing = sorted(set(truth_map) - {a.path for a in result.articles})
        if len(missing) == len(truth_map):  # scores over no article would read as perfect
            raise InputError(
                f"no path in {truth} names an article of {folder} (first: {missing[0]!r}); "
                "paths are relative to the folder, as in articles.csv"
            )
        if missing and not opts["quiet"]:
            typer.echo(
                f"note: {len(missing)} of {len(truth_map)} paths in {truth.name} name no article read "
                f"(first: {missing[0]!r}); they are left out of the scores",
                err=True,
            )

        def sweep_rows(field: str, levels: range) -> list[tuple[object, ...]]:
            rows: list[tuple[object, ...]] = []
            for step in levels:
                level = step / 10
                cluster_cfg = dataclasses.replace(cfg.cluster, **{field: level})
                swept = analyse(corpus, edges, dataclasses.replace(cfg, cluster=cluster_cfg), copy.deepcopy(stats))
                m, _ = _evaluate(swept, truth_map)
                rows.append(
                    (
                        f"{level:.2f}",
                        m["precision"],
                        m["recall"],
                        m["f1"],
                        m["ari"],
                        swept.stats.clusters,
                        swept.stats.clustered_articles,
                    )
                )
            return rows

        rows = sweep_rows("min_article_similarity", range(1, 10)) if sweep else []
        shingle_rows = sweep_rows("min_shingle_containment", range(1, 11)) if sweep_shingles else []
        if out is not None:
            payload = {"metrics": metrics, "parameters": cfg.to_dict()}
            if sweep:
                payload["sweep"] = [dict(zip(SWEEP_COLUMNS, r, strict=True)) for r in rows]
            if sweep_shingles:
                payload["shingle_sweep"] = [dict(zip(SHINGLE_SWEEP_COLUMNS, r, strict=True)) for r in shingle_rows]
            (out / "eval.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            write_csv(out / "errors.csv", EVAL_ERRORS_COLUMNS, errors)
    typer.echo(
        f"ARI {metrics['ari']:.4f}  precision {metrics['precision']:.4f}  recall {metrics['recall']:.4f}  "
        f"F1 {metrics['f1']:.4f}  (articles {metrics['articles_evaluated']}, "
        f"false positives {metrics['false_positives']}, false negatives {metrics['false_negatives']})"
    )
    for row in errors[:20]:
        typer.echo("\t".join(row))
    if len(errors) > 20:
        typer.echo(f"... {len(errors) - 20} more (see errors.csv with --out)")
    for columns, table in ((SWEEP_COLUMNS, rows), (SHINGLE_SWEEP_COLUMNS, shingle_rows)):
        if table:
            typer.echo("\t".join(columns))
            for r in table:
                typer.echo("\t".join(str(v) for v in r))


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="The index file [default: FOLDER/.dedup/index.sqlite]", dir_okay=False),
]


@app.command("index")
@with_run_options
def index_(
    folder: FolderOrUriArg,
    store: StoreOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the full reports and new_*.csv here.")] = None,
    keep_missing: Annotated[bool, typer.Option(help="Keep files that disappeared from FOLDER in the store.")] = False,
    max_removed: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Stop, changing nothing, when more than this share of the stored files is gone from FOLDER "
            "(an unmounted or wrong folder); 1 allows any.",
        ),
    ] = MAX_REMOVED,
    rebuild: Annotated[bool, typer.Option(help="Drop the store's content and index everything again.")] = False,
    rehash: Annotated[
        bool,
        typer.Option(
            help="Hash every file, not only those whose size or time changed: finds content changed "
            "under the same size and time (rsync -t, wget -N), at the cost of reading the whole folder.",
        ),
    ] = False,
    fail_on_new_duplicates: Annotated[
        bool, typer.Option(help=f"Exit {EXIT_NEW_DUPLICATES} when this run found new near-duplicate pairs.")
    ] = False,
    max_duplicate_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help=f"Exit {EXIT_DUPLICATE_RATE} when more than this share of articles are duplicates."
        ),
    ] = None,
    lock_timeout: Annotated[
        float, typer.Option(min=0.0, help=f"Seconds to wait for another run's lock before exiting {EXIT_LOCKED}.")
    ] = 600.0,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on stdout.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Only list the files a run would read (new, changed) and forget (removed, moved); "
            "change nothing, match nothing.",
        ),
    ] = False,
    *,
    opts: dict[str, Any],
) -> None:
    """Index new or changed files of FOLDER into the store and report what is new since the last run."""
    from dedup.incremental import KEPT_REPORTS, Changes, index_folder, keep_reports, restrict_result
    from dedup.report import run_summary

    if store is None and isinstance(folder, str):
        raise _fail(f"--store is needed: {folder} is a URI, with no local folder to keep the store in", EXIT_USAGE)
    store_path = store or folder / ".dedup" / "index.sqlite"
    if dry_run:
        if out is not None:
            raise _fail("--out with --dry-run: a dry run writes no report", EXIT_USAGE)
        _index_dry_run(folder, store_path, opts, keep_missing, max_removed, rehash, rebuild, json_summary)
        return
    with _guard():
        cfg = config_from_options(opts)
        if out is not None:
            _check_out(out)

        def extra_of(changes: Changes) -> dict[str, Any]:
            return {"store": str(store_path), "changes": changes.to_dict()}

        def write_all(result: DedupResult | None, changes: Changes) -> None:
            # Inside the run's transaction (see index_folder): a run stopped while it writes its
            # reports stores nothing, and the next one reports its new pairs again.
            assert out is not None
            if result is None:  # nothing new: the last run's reports, kept in the store
                assert changes.kept_reports is not None
                write_kept_reports(out, changes.kept_reports, changes.skips, cfg, changes.stats, extra_of(changes))
                return
            new = restrict_result(result, changes.new_pairs, changes.new_clusters)
            write_reports(result, out, extra_of(changes), new=new)
            keep_reports(db, cfg, {name: (out / name).read_bytes() for name in KEPT_REPORTS})

        with _locked_store(store_path, cfg, lock_timeout, rebuild=rebuild) as db:
            on_skip = _skip_printer(opts["quiet"])
            with _progress(not opts["quiet"] and sys.stderr.isatty()) as hook:
                # The store and the reports are never read as articles, wherever they are.
                own = _store_files(store_path)
                _, changes = index_folder(
                    folder,
                    db,
                    cfg,
                    keep_missing,
                    on_skip=on_skip,
                    on_progress=hook,
                    need_result=out is not None,
                    exclude=[*own, *(_own_output(out) if out is not None else [])],
                    max_removed=max_removed,
                    rehash=rehash,
                    before_commit=write_all,
                )
        extra = extra_of(changes)
    counts = changes.to_dict()
    if json_summary:
        typer.echo(json.dumps(run_summary(cfg, changes.stats, extra), indent=2))
    if not opts["quiet"]:
        _print_table(
            "dedup index",
            [
                _files_row(counts),
                *_summary_rows(changes.stats)[1:],
                ("new pairs / new clusters", f"{counts['new_pairs']} / {counts['new_clusters']}"),
                ("duplicate rate", f"{counts['duplicate_rate']:.4f}"),
                ("store", str(store_path)),
                *([("reports", str(out))] if out is not None else []),
            ],
        )
    if fail_on_new_duplicates and counts["new_pairs"]:
        typer.echo(f"Gate: {counts['new_pairs']} new near-duplicate pairs (--fail-on-new-duplicates)", err=True)
        raise typer.Exit(EXIT_NEW_DUPLICATES)
    if max_duplicate_rate is not None and counts["duplicate_rate"] > max_duplicate_rate:
        typer.echo(
            f"Gate: duplicate rate {counts['duplicate_rate']:.4f} > {max_duplicate_rate:g} (--max-duplicate-rate)",
            err=True,
        )
        raise typer.Exit(EXIT_DUPLICATE_RATE)


def _store_files(store_path: Path) -> list[Path]:
    """The store's files (it, its journal and lock): never read as articles, wherever they are."""
    return [store_path.with_name(store_path.name + end) for end in ("", "-wal", "-shm", "-journal", ".lock")]


def _files_row(counts: dict[str, Any]) -> tuple[str, str]:
    """The table row of an index run's file counts."""
    names = ("new", "changed", "unchanged", "removed", "moved")
    return "files " + " / ".join(names), " / ".join(str(counts[f"files_{k}"]) for k in names)


def _index_dry_run(
    folder: Path | str,
    store_path: Path,
    opts: dict[str, Any],
    keep_missing: bool,
    max_removed: float,
    rehash: bool,
    rebuild: bool,
    json_summary: bool,
) -> None:
    """``dedup index --dry-run``: a line per file a run would read or forget on stdout (or JSON),
    the counts on stderr. The store is only read (no lock: a run writing it meanwhile does not
    stop this one), and not made where there is none."""
    from dedup.incremental import index_folder

    with _guard():
        cfg = config_from_options(opts)
        fresh = rebuild or not store_path.exists()
        # No store yet, or --rebuild: every file would be read, as into an empty store.
        with Store(Path(":memory:"), cfg) if fresh else Store.read_only(store_path, cfg) as db:
            _, changes = index_folder(
                folder,
                db,
                cfg,
                keep_missing,
                on_skip=_skip_printer(opts["quiet"]),
                need_result=False,
                exclude=_store_files(store_path),
                max_removed=max_removed,
                rehash=rehash,
                dry_run=True,
            )
    planned = changes.planned
    assert planned is not None
    counts = changes.to_dict()
    if json_summary:
        files = {name: counts[f"files_{name}"] for name in ("new", "changed", "unchanged", "removed", "moved")}
        typer.echo(json.dumps({"dry_run": True, "store": str(store_path), "files": files, **planned}, indent=2))
    else:
        for name in ("new", "changed", "removed"):
            for path in planned[name]:
                typer.echo(f"{name:<8}{path}")
        for move in planned["moved"]:
            typer.echo(f"{'moved':<8}{move['from']} -> {move['to']}")
    if not opts["quiet"]:
        _print_table("dedup index --dry-run", [_files_row(counts), ("store", str(store_path))])


@app.command("report")
@with_run_options
def report_(
    store: Annotated[Path, typer.Option("--store", help="The index file written by dedup index.", dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder the reports are written to.")] = Path("dedup-report"),
    lock_timeout: Annotated[float, typer.Option(min=0.0, help="Seconds to wait for a running index.")] = 600.0,
    *,
    opts: dict[str, Any],
) -> None:
    """Write the full reports from the store alone, without reading the corpus."""
    from dedup.incremental import kept_report, report_from_store

    with _guard():
        cfg = config_from_options(opts)
        _check_out(out)
        # Under the store's lock (it waits for a running index), unless no lock can be made here
        # (a read-only folder or file system): then the last committed state, read only.
        opened = (
            _locked_store(store, cfg, lock_timeout, create=False) if lockable(store) else Store.read_only(store, cfg)
        )
        with opened as db:
            # The reports the last index run kept, when it matched with these parameters: the
            # stored digests would give them again.
            kept = kept_report(db, cfg)
            result = report_from_store(db, cfg) if kept is None else None
        if kept is not None:
            files, skips, stats = kept
            write_kept_reports(out, files, skips, cfg, stats, {"store": str(store)}, new_reports=False)
        else:
            assert result is not None
            stats = result.stats
            write_reports(result, out, {"store": str(store)})
    if not opts["quiet"]:
        _print_table("dedup report", [*_summary_rows(stats), ("reports", str(out))])


@app.command("status")
def status_(
    store: Annotated[Path, typer.Option("--store", help="The index file written by dedup index.", dir_okay=False)],
    json_summary: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show what the store holds and what its last runs did (read only: nothing matched, no corpus read)."""
    from dedup.incremental import store_status

    with _signals_as_interrupts(), _guard(), Store.read_only(store) as db:
        status = store_status(db)
    if json_summary:
        typer.echo(json.dumps(status, indent=2))
        return
    params = status["fingerprint_parameters"]
    rows: list[tuple[str, object]] = [
        ("store", f"{status['store']} ({status['bytes'] / 1e6:,.1f} MB)"),
        ("created / format", f"{status['created']} / {status['store_format']}"),
        ("input folder", status["input_folder"] or "-"),
        ("datasketch", status["datasketch_version"]),
        ("fingerprint parameters", " ".join(f"{k}={v}" for k, v in params.items())),
        ("files / articles", f"{status['files']} / {status['articles']}"),
        ("skipped", ", ".join(f"{k} {v}" for k, v in status["skipped"].items()) or "0"),
        ("last run", status["last_run"] or "-"),
    ]
    last = status["last_matching_run"]
    if last is not None:
        rows += [
            ("last matching run", f"{last['time'] or '-'} (dedup {last['version']})"),
            ("near-duplicate article pairs", last["article_pairs"]),
            ("clusters (articles)", f"{last['clusters']} ({last['clustered_articles']})"),
            ("duplicate rate", f"{last['duplicate_rate']:.4f}"),
            (
                "kept for report / clean",
                " / ".join("yes" if last[k] else "no" for k in ("kept_reports", "kept_clean_plan")),
            ),
        ]
    _print_table("dedup status", rows, err=False)


@app.command("clean")
@with_run_options
def clean_(
    store: Annotated[Path, typer.Option("--store", help="The index file written by dedup index.", dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder the cleaned corpus is written to.")],
    source: Annotated[
        Path | None,
        typer.Option("--from", help="The corpus folder [default: the folder the store was indexed from]"),
    ] = None,
    strip_boilerplate: Annotated[bool, typer.Option(help="Also remove boilerplate paragraphs.")] = False,
    lock_timeout: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for a running index (or another clean into --out).")
    ] = 600.0,
    *,
    opts: dict[str, Any],
) -> None:
    """Write a cleaned copy of the corpus: one article per cluster (the --keep representative), plus manifest.csv."""
    from dedup.clean import CleanPlan, clean_corpus
    from dedup.incremental import kept_clean_plan, report_from_store
    from dedup.store import file_lock

    with _guard():
        cfg = config_from_options(opts)
        with _locked_store(store, cfg, lock_timeout, create=False) as db:
            folder = source or Path(db.meta().get("input_folder", ""))
            # Before any matching: a wrong folder or --out is told at once.
            if not folder.is_dir():
                raise _fail(f"corpus folder not found: {folder} (give it with --from)", EXIT_USAGE)
            resolved_out, resolved_in = out.resolve(), folder.resolve()
            if resolved_out == resolved_in or resolved_in in resolved_out.parents:
                raise _fail(f"--out {out} is inside the corpus folder {folder}; clean never writes there", EXIT_USAGE)
            _check_out(out)
            # What the last index run kept, if it ran with these parameters; else the store is matched.
            plan = kept_clean_plan(db, cfg) or CleanPlan.of(report_from_store(db, cfg))
        real = out.resolve()  # a link to the folder and the folder share one lock
        # One clean at a time into a folder: what a killed one left beside it can then go.
        with file_lock(
            real.parent / f".{real.name}.lock", lock_timeout, f"--out {out} is being written by another clean"
        ):
            if any(out.iterdir()) and not (out / "manifest.csv").is_file():
                raise _fail(
                    f"--out {out} is not empty and holds no manifest.csv of an earlier dedup clean; "
                    "clean writes a whole new copy: give an empty or new folder",
                    EXIT_USAGE,
                )
            # An earlier copy's files never outlive it; a link to the folder stays a link (to the new copy).
            with _replacing(real) as fresh:
                try:
                    stats = clean_corpus(plan, folder, fresh, cfg, strip_boilerplate)
                except OSError as exc:
                    if exc.filename:  # the OS names the file (one it could not read or make)
                        raise
                    raise DedupError(f"cannot write the cleaned copy into {out}: {exc.strerror or exc}") from None
    if not opts["quiet"]:
        _print_table(
            "dedup clean",
            [
                ("articles kept / dropped", f"{stats.articles_kept} / {stats.articles_dropped}"),
                ("boilerplate paragraphs removed", stats.paragraphs_removed),
                ("files written", stats.files_written),
                ("manifest", str(out / "manifest.csv")),
            ],
        )


@app.command("explain")
def explain_(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The folder the run scanned, or the store of an index run (then the paragraphs are shown as "
            "it keeps them, normalised, and the corpus is not read).",
            exists=True,
        ),
    ],
    path_a: Annotated[str, typer.Argument(help="One article of the pair (a path of pairs.csv).")],
    path_b: Annotated[str, typer.Argument(help="The other article.")],
    report: Annotated[
        Path, typer.Option("--report", "-r", help="The reports folder of the run (holding pairs.csv).")
    ] = Path("dedup-report"),
) -> None:
    """Show why two articles are a near-duplicate pair: their matched paragraphs, side by side."""
    from dedup.explain import explain_pair

    with _signals_as_interrupts(), _guard():
        shown = explain_pair(folder, report, path_a, path_b)
    row = shown.row
    for note in shown.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"a: {row['path_a']}\nb: {row['path_b']}")
    typer.echo(
        f"similarity {row['similarity']} (containment a {row['containment_a']}, b {row['containment_b']}), "
        f"shingle containment {row['shingle_containment']}, matched paragraphs {row['matched_paragraphs']}, "
        f"best score {row['best_score']}, MinHash Jaccard {row['minhash_jaccard']}"
    )
    for m in shown.matches:
        if m.full:
            head = f"a {m.index_a} = b {m.index_b} (the same paragraph, score {m.score:.2f})"
        else:
            head = (
                f"a {m.index_a} ~ b {m.index_b} (partly: {m.share_a:.0%} of a {m.index_a} found in b {m.index_b}, "
                f"{m.share_b:.0%} of b {m.index_b} in a {m.index_a})"
            )
        typer.echo(f"\n{head}\n  a: {m.text_a}\n  b: {m.text_b}")
    if not shown.matches:
        typer.echo("\nno paragraph matches: the pair was found by shingle containment over the whole articles")


def main() -> None:  # pragma: no cover - console entry point alias
    """Entry point for ``python -m dedup``."""
    app()


__all__ = ["app", "build_config", "config_from_options", "main"]
