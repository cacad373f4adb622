"""Spark engine: the per-file stage (read, extract, segment, fingerprint) on an Apache Spark cluster.

Optional: ``pip install "dedup[spark]"`` (PySpark; Spark 4 needs Java 17 or later). The same stage
function as the local engine runs in Spark's Python workers, and the digests come back to this
process (the driver), where matching runs as in a local scan. Reports are byte for byte those of
the local engine (tested): no result depends on which engine read the files or in which order.

* A folder *path* (:func:`map_ordered_spark`): the driver lists it and hands out batches of paths
  (:func:`dedup.pipeline.digest_files`); it must be readable at the same path on every executor
  (any folder in local mode, a shared mount on a cluster).
* A folder *URI* on any file system Spark reads (:func:`map_uri_files`): Spark lists it and reads
  the files' bytes itself (:func:`dedup.pipeline.digest_file_bytes`); no mount needed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any, TypeVar

from dedup.errors import ConfigError, DedupError

T = TypeVar("T")
R = TypeVar("R")

_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
_NOTHING = object()


def _pyspark() -> Any:
    """The ``pyspark.sql`` module, or a :class:`ConfigError` that says how to install it."""
    try:
        import pyspark.sql
        import pyspark.sql.functions  # reached as pyspark.sql.functions
    except ImportError:
        raise ConfigError('--engine spark needs PySpark: pip install "dedup[spark]"') from None
    return pyspark.sql


# What the JVM itself prints on stderr when Spark 4 loads the Vector API (Java 17+): no log setting
# reaches it, and a cron job run with --quiet would mail it every night.
_JVM_NOTICE = b"WARNING: Using incubator modules: jdk.incubator.vector"


class _JvmStderr:
    """Lines the JVM writes on its stderr (a pipe), read by a thread: held while Spark starts,
    then passed on to this process' stderr, but the incubator notice (:data:`_JVM_NOTICE`)."""

    def __init__(self, read_fd: int, target_fd: int) -> None:
        self.target_fd = target_fd
        self.lock = threading.Lock()
        self.held: list[bytes] | None = []
        self.thread = threading.Thread(target=self._read, args=(read_fd,), name="dedup-spark-stderr", daemon=True)
        self.thread.start()

    def _read(self, read_fd: int) -> None:
        with open(read_fd, "rb", buffering=0) as source:
            for line in iter(source.readline, b""):
                if line.rstrip(b"\r\n") == _JVM_NOTICE:
                    continue
                with self.lock:
                    if self.held is not None:
                        self.held.append(line)
                    else:
                        os.write(self.target_fd, line)
        with self.lock:  # the JVM exited: its lines are all out
            os.close(self.target_fd)
            self.target_fd = -1

    def release(self) -> None:
        """Spark started: pass on what was held, and every later line as it comes."""
        with self.lock:
            held, self.held = self.held or [], None
            for line in held if self.target_fd >= 0 else ():
                os.write(self.target_fd, line)

    def failure(self) -> str:
        """Spark did not start: the JVM's error message, or the first line its launch script printed
        ("" when none); stack traces dropped."""
        self.thread.join(timeout=2.0)  # a JVM that exited has closed the pipe: read to the end
        with self.lock:
            held, self.held = self.held or [], []
        lines = [text for raw in held if (text := raw.decode("utf-8", "replace").strip())]
        for line in lines:
            if line.startswith("Exception in thread"):
                return line.split(": ", 1)[-1][:200]
        # Else the launch script's first complaint ("JAVA_HOME is not set", ".../java: No such file
        # or directory"), without the script's "<path>: line <n>: " prefix.
        return re.sub(r"^\S+: line \d+: ", "", lines[0])[:200] if lines else ""


@contextmanager
def _started_jvm() -> Iterator[_JvmStderr | None]:
    """Start Spark's JVM inside the block with a pipe as its stderr (a :class:`_JvmStderr` reads
    it); this process' own stderr is the real one again after the block, while the JVM keeps the
    pipe until it exits. ``None`` where stderr has no file descriptor to redirect."""
    try:
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        saved, target = os.dup(2), os.dup(2)
    except (OSError, ValueError):
        yield None
        return
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield _JvmStderr(read_fd, target)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _first_line(exc: BaseException) -> str:
    """The first line of an error from Spark (its JVM's message), at most 200 characters."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@contextmanager
def spark_context(master: str | None = None, app_name: str = "dedup") -> Iterator[Any]:
    """The ``SparkContext`` to run on: the active session's when there is one (a job that calls
    dedup from its own Spark application; left running), else a new session (stopped at the end).

    A new session gets ``master`` (``None``: what ``spark-submit`` or Spark's configuration
    says, else ``local[*]``), no console progress bar, and Spark's own log at ERROR (dedup
    prints its own progress and skip lines). In local mode Spark's Python workers run this
    interpreter, so they import the same dedup.

    Raises:
        ConfigError: PySpark is not installed.
        DedupError: Spark could not start (no Java, a bad master URL).
    """
    sql = _pyspark()
    active = sql.SparkSession.getActiveSession()
    if active is not None:
        yield active.sparkContext
        return
    if master is None or master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = sql.SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    builder = builder.config("spark.ui.showConsoleProgress", "false").config(
        "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_LOG_CONFIG}"
    )
    with _started_jvm() as jvm_stderr:
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # PySparkRuntimeError (no Java, the JVM stopped), Py4JJavaError
            reason = jvm_stderr.failure() if jvm_stderr is not None else ""
            reason = reason or _first_line(exc)
            raise DedupError(f"Spark could not start ({reason}); check JAVA_HOME and --spark-master") from None
        if jvm_stderr is not None:
            jvm_stderr.release()
    try:
        yield session.sparkContext
    except BaseException:
        # The run failed or was stopped (SIGTERM to the process group ends the JVM too): stopping
        # the session may fail in turn, and that error is not the one to report.
        with contextlib.suppress(Exception):
            session.stop()
        raise
    session.stop()


def code_identity() -> tuple[str, str]:
    """This process' dedup code (a digest of its source and rapidfuzz's version, see
    :func:`dedup.incremental._code_digest`) and datasketch version: what digests depend on."""
    from dedup.incremental import _code_digest
    from dedup.report import package_version

    return _code_digest(), package_version("datasketch")


def _identities_of(_: object) -> tuple[str, str]:
    return code_identity()


def _check_executors(sc: Any) -> None:
    """Fail unless every executor that answers runs the same dedup code and datasketch version as
    this process: digests made by other code would be silently mixed with this process' own.

    Raises:
        DedupError: an executor runs other code, or none could be asked.
    """
    slots = max(1, sc.defaultParallelism)
    try:
        found = set(sc.parallelize(range(slots), slots).map(_identities_of).collect())
    except Exception as exc:
        reason = type(exc).__name__
        raise DedupError(f"Spark executors cannot run dedup ({reason}); is dedup installed there?") from None
    mine = code_identity()
    other = sorted(found - {mine})
    if other:
        raise DedupError(
            f"Spark executors run other dedup code or datasketch (code {other[0][0]}, datasketch {other[0][1]}; "
            f"this process: code {mine[0]}, datasketch {mine[1]}): install the same dedup everywhere"
        )


def map_ordered_spark(
    func: Callable[[T], R], items: Iterable[T], master: str | None = None, per_task: int = 8
) -> Iterator[R]:
    """``map`` on Spark with results in input order.

    The items go in *waves*, each one Spark job of one task per core of the cluster, each task
    ``per_task`` items: a task costs Spark about 25 ms of its own work, so tasks of one batch of
    files spent a third of the time on it. Reading the 102 MB benchmark corpus with the two
    cores of the development machine, warm: 9.0–11.2 s in tasks of one batch, 6.9–7.2 s of four,
    5.7–6.5 s of eight (the local engine: 4.3–4.5 s). Two jobs are in flight at a time, so the
    cores left idle by the last tasks of one wave start on the next; this process takes a wave's
    results while the next ones run, and holds at most three waves of results (with batches of
    128 files, 24 batches per core of the cluster).

    Args:
        func: a picklable top-level function of a module the executors can import.
        items: work items (picklable).
        master: the Spark master URL for a new session (see :func:`spark_context`).
        per_task: items per Spark task.

    Raises:
        DedupError: a Spark job failed (the message names the error class only; a task's
            traceback may hold article text).
    """
    iterator = iter(items)
    first = next(iterator, _NOTHING)
    if first is _NOTHING:  # nothing to read (a nightly run with no new file): no Spark session to start
        return
    iterator = chain([first], iterator)
    with spark_context(master) as sc:
        _check_executors(sc)
        tasks = max(1, sc.defaultParallelism)

        def run(chunk: list[T]) -> list[R]:
            # Partitions keep their items' order, and collect() the partitions'.
            return sc.parallelize(chunk, min(tasks, len(chunk))).map(func).collect()

        chunks = iter(lambda: list(islice(iterator, tasks * per_task)), [])
        yield from _in_waves(sc, (functools.partial(run, chunk) for chunk in chunks))


def _in_waves(sc: Any, jobs: Iterator[Callable[[], list[R]]]) -> Iterator[R]:
    """The results of each job (a Spark job started by the callable), job after job, with two
    jobs in flight: this process takes a job's results while the next one runs.

    Raises:
        DedupError: a job failed (its error class only).
    """
    # The jobs' own group: stopping cancels them, not what else the application runs on ``sc``.
    group = f"dedup-{os.getpid()}-{threading.get_ident()}-{id(jobs)}"

    def in_group(job: Callable[[], list[R]]) -> list[R]:
        sc.setJobGroup(group, "dedup: reading and fingerprinting files", True)
        return job()

    with ThreadPoolExecutor(2, thread_name_prefix="dedup-spark") as pool:
        pending: deque[Future[list[R]]] = deque()

        def submit() -> None:
            job = next(jobs, None)
            if job is not None:
                pending.append(pool.submit(in_group, job))

        submit()
        submit()
        try:
            while pending:
                try:
                    results = pending.popleft().result()
                except Exception as exc:
                    raise DedupError(f"a Spark job failed ({type(exc).__name__})") from None
                submit()
                yield from results
        finally:
            if pending:  # stopped early: the jobs still running are not waited for
                sc.cancelJobGroup(group)
                for future in pending:
                    future.cancel()


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(folder: str) -> bool:
    """Whether a folder argument names a Hadoop file system location (``hdfs://``, ``s3a://``,
    ``file://`` ...) rather than a local path.

    >>> is_uri("s3a://bucket/scraped"), is_uri("file:///data/x"), is_uri("data/x"), is_uri("C:/x")
    (True, True, False, False)
    """
    return bool(_URI.match(folder))


# How Spark reads a folder's files for dedup (set for that read only): tasks of up to 32 MB of
# files, each counted as at least 32 KB (its defaults, 128 MB and 4 MB, make tasks of 32 small
# files, and a task costs Spark about 25 ms); a file that vanished since the listing (a scraper
# still writing the folder) is passed over instead of failing the run, as a local run skips it.
_READ_CONF = {
    "spark.sql.files.maxPartitionBytes": str(32 << 20),
    "spark.sql.files.openCostInBytes": str(32 << 10),
    "spark.sql.files.ignoreMissingFiles": "true",
}


def _digest_partition(
    rows: Iterable[Any],
    root: str,
    func: Callable[[list[tuple[str, bytes]]], R],
    per_call: int,
    only: Any = None,
) -> Iterator[R]:
    """Executor side: a partition's files (``path``, ``content`` rows; with ``only``, a broadcast
    set of relative paths, those in it) in path order, ``per_call`` at a time, as ``(relative
    path, bytes)`` lists for ``func``."""
    only = only.value if only is not None else None
    files = []
    for path, content in rows:
        rel = _relative(path, root)
        if only is None or rel in only:
            files.append((rel, bytes(content)))
    files.sort()
    for lo in range(0, len(files), per_call):
        yield func(files[lo : lo + per_call])


def _relative(path: str, root: str) -> str:
    return str(path)[len(root) :].lstrip("/")


@dataclass(frozen=True)
class UriFolder:
    """A folder on a file system Spark reads, as Spark listed it (valid while its session runs)."""

    root: str
    """The folder's qualified path, as Spark writes the start of its files' paths."""
    frame: Any
    """Spark's ``binaryFile`` frame of the files (nothing is read before it is filtered)."""
    files: list[tuple[str, int, int]]
    """Relative path, size and modification time (ns) of each file, in path order."""


def list_uri_folder(uri: str) -> UriFolder:
    """List ``uri`` recursively with the active Spark session (names starting with ``_`` or
    ``.`` are hidden, Spark's rule; see :func:`spark_context`).

    Raises:
        DedupError: the folder cannot be listed, or is a file.
    """
    session = _pyspark().SparkSession.builder.getOrCreate()
    sc = session.sparkContext
    jvm_path = sc._jvm.org.apache.hadoop.fs.Path(uri)
    try:
        root = str(jvm_path.getFileSystem(sc._jsc.hadoopConfiguration()).makeQualified(jvm_path).toString())
        frame = session.read.format("binaryFile").option("recursiveFileLookup", "true").load(uri)
        rows = frame.select("path", "length", _pyspark().functions.unix_micros("modificationTime")).collect()
    except Exception as exc:
        raise DedupError(f"cannot list {uri} ({_first_line(exc)})") from None
    # Times as integer nanoseconds, like os.stat's (Spark keeps microseconds).
    files = sorted((_relative(path, root), int(length), int(micros) * 1000) for path, length, micros in rows)
    if files and not files[0][0]:
        raise DedupError(f"{uri} is a file, not a folder")
    return UriFolder(root, frame, files)


def map_uri_files(
    uri: str | UriFolder,
    func: Callable[[list[tuple[str, bytes]]], R],
    max_bytes: int,
    listing: list[tuple[str, int, int]],
    master: str | None = None,
    per_call: int = 128,
    only: Iterable[str] | None = None,
) -> Iterator[R]:
    """``func`` over the files under ``uri`` on any file system Spark reads (HDFS, S3, GCS, a
    local ``file://`` folder), ``per_call`` files at a time, read by Spark's ``binaryFile`` source.

    Spark lists the folder recursively (unless ``uri`` is a :class:`UriFolder` it listed already,
    in this session); ``listing`` gets the relative path, size and modification
    time of every file (path order) before the first result. Files over ``max_bytes`` are listed
    but not read. Names starting with ``_`` or ``.`` are not listed (Spark's rule for hidden
    files; a local folder only hides ``.``). ``only``: read just these files (a nightly run's new
    and changed ones): Spark then skips, unread, every file modified before the oldest of them.
    Results come task by task; within a task, files in path order.

    Raises:
        DedupError: the folder cannot be listed, or a Spark job failed.
    """
    with spark_context(master) as sc:
        _check_executors(sc)
        session = _pyspark().SparkSession.builder.getOrCreate()
        folder = uri if isinstance(uri, UriFolder) else list_uri_folder(uri)
        root, found, files = folder.root, folder.frame, folder.files
        listing.extend(files)
        wanted = None if only is None else frozenset(only).intersection(name for name, _, _ in files)
        if wanted is not None and len(wanted) == len(files):
            wanted = None  # every file (a first run): no filter to ship
        readable = [f for f in files if f[1] <= max_bytes and (wanted is None or f[0] in wanted)]
        if not readable:
            return
        condition = found["length"] <= max_bytes
        if wanted is not None:  # pushed down with the size: older files are not even opened
            functions = _pyspark().functions
            oldest = min(when for _, _, when in readable) // 1000
            condition &= found["modificationTime"] >= functions.timestamp_micros(functions.lit(oldest))
        conf = session.conf
        saved = {key: conf.get(key, None) for key in _READ_CONF}
        for key, value in _READ_CONF.items():  # for this read only: the session may be the caller's
            conf.set(key, value)
        try:
            rdd = found.filter(condition).select("path", "content").rdd
            n_parts = rdd.getNumPartitions()
        finally:
            for key, value in saved.items():
                if value is None:
                    conf.unset(key)
                else:
                    conf.set(key, value)
        # The chosen names go to each executor once (a broadcast), not with every task.
        chosen = sc.broadcast(wanted) if wanted is not None else None
        task = functools.partial(_digest_partition, root=root, func=func, per_call=per_call, only=chosen)
        tasks = max(1, sc.defaultParallelism)
        waves = (
            functools.partial(sc.runJob, rdd, task, list(range(lo, min(lo + tasks, n_parts))))
            for lo in range(0, n_parts, tasks)
        )
        try:
            yield from _in_waves(sc, waves)
        finally:
            if chosen is not None:
                chosen.destroy()


__all__ = [
    "UriFolder",
    "code_identity",
    "is_uri",
    "list_uri_folder",
    "map_ordered_spark",
    "map_uri_files",
    "spark_context",
]
