"""The Spark engine (``--engine spark``): same reports as the local engine, results in order, clear errors.

Needs PySpark (``pip install ".[test,spark]"``) and Java 17 or later; without them only the
tests that need neither run.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
import operator
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dedup.cli import app, build_config
from dedup.errors import ConfigError, DedupError
from dedup.store import Store
from tests.conftest import SAMPLE

REPORTS = ("articles.csv", "boilerplate.csv", "clusters.csv", "pairs.csv", "skipped.csv")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _missing() -> str:
    """What this machine lacks to run Spark ("" when nothing)."""
    if shutil.which("java") is None:
        return "needs Java"
    return "needs PySpark" if importlib.util.find_spec("pyspark") is None else ""


def _require_spark() -> None:
    """Skip without PySpark or Java, except in CI (``CI`` set), which installs both: fail there."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the Spark tests, but this machine {missing}")
        pytest.skip(missing)


def test_a_session_dedup_starts_is_stopped_after_the_run() -> None:
    _require_spark()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from dedup.engines.spark import map_ordered_spark

    assert SparkSession.getActiveSession() is None
    assert list(map_ordered_spark(operator.neg, iter(()), master="local[1]")) == []
    assert SparkSession.getActiveSession() is None and SparkContext._active_spark_context is None  # none started
    # Spark's Python workers import the function: one of the standard library's, not of a test module.
    assert list(map_ordered_spark(operator.neg, range(5), master="local[1]")) == [0, -1, -2, -3, -4]
    assert SparkSession.getActiveSession() is None


def _dedup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m dedup ARGS`` in a fresh process (no Spark session of this one)."""
    return subprocess.run(
        [sys.executable, "-m", "dedup", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_a_quiet_run_on_spark_prints_nothing(tmp_path: Path) -> None:
    """Spark's log is cut to errors and the JVM's own incubator-module notice is dropped: cron
    mails nothing."""
    _require_spark()
    args = ["scan", str(SAMPLE / "articles"), "--out", str(tmp_path), "--engine", "spark", "--spark-master", "local[1]"]
    done = _dedup(*args, "-q")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (tmp_path / "clusters.csv").exists()


@pytest.mark.parametrize(
    ("master", "env", "reason"),
    [
        # Spark's own words: 3.5 also names mesos.
        ("bogus://x", {}, r"Master must either be yarn or start with spark, (mesos, )?k8s, or local"),
        ("local[1]", {"JAVA_HOME": "/nonexistent"}, re.escape("/nonexistent/bin/java: No such file or directory")),
    ],
)
def test_spark_that_cannot_start_is_one_error_line(
    tmp_path: Path, master: str, env: dict[str, str], reason: str
) -> None:
    _require_spark()
    done = _dedup(
        "scan",
        str(SAMPLE / "articles"),
        "--out",
        str(tmp_path),
        "--engine",
        "spark",
        "--spark-master",
        master,
        "-q",
        env=env,
    )
    assert done.returncode == 1
    expected = rf"Error: Spark could not start \({reason}\); check JAVA_HOME and --spark-master\n"
    assert re.fullmatch(expected, done.stderr), done.stderr


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local session for the module: the engine uses an active session and leaves it running."""
    _require_spark()
    import pyspark.sql as sql

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = sql.SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    yield session
    session.stop()


@pytest.mark.parametrize(("n_items", "per_task"), [(0, 3), (1, 3), (10, 1), (10, 3), (25, 4)])
def test_results_come_in_item_order_across_waves(spark: object, n_items: int, per_task: int) -> None:
    from dedup.engines.spark import map_ordered_spark

    assert list(map_ordered_spark(operator.neg, range(n_items), per_task=per_task)) == [-x for x in range(n_items)]
    assert spark.sparkContext._jsc is not None  # type: ignore[attr-defined]  # the active session still runs


def test_a_reader_that_stops_early_cancels_only_its_own_jobs(spark: object) -> None:
    from dedup.engines.spark import map_ordered_spark

    sc = spark.sparkContext  # type: ignore[attr-defined]
    results = map_ordered_spark(operator.neg, range(100), per_task=1)
    assert next(results) == 0
    own: list[object] = []

    def application_job() -> None:  # the calling application's work, running beside dedup's
        sc.setJobGroup("the-application", "a job of the calling application")
        own.extend(sc.parallelize([0.5, 0.5], 2).map(time.sleep).collect())

    beside = threading.Thread(target=application_job)
    beside.start()
    time.sleep(0.2)
    results.close()  # the caller stops reading: dedup's jobs in flight are cancelled
    beside.join()
    assert own == [None, None]  # the application's job was not
    assert list(map_ordered_spark(operator.neg, range(4))) == [0, -1, -2, -3]


def test_a_failed_task_is_one_error_without_its_text(spark: object) -> None:
    from dedup.engines.spark import map_ordered_spark

    with pytest.raises(DedupError) as caught:
        list(map_ordered_spark(int, ["1", "2", "3", "article text that must not reach the user"], per_task=1))
    assert str(caught.value).startswith("a Spark job failed (")
    assert "article text" not in str(caught.value)


def test_executors_running_other_dedup_code_are_refused(spark: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import dedup.engines.spark as engine

    real = engine.code_identity()
    assert len(real[0]) == 16 and real[1]
    # This process pretends to run other code; the executors (Spark's own Python workers) do not.
    monkeypatch.setattr(engine, "code_identity", lambda: ("0" * 16, real[1]))
    with pytest.raises(DedupError) as caught:
        list(engine.map_ordered_spark(operator.neg, range(3)))
    assert str(caught.value) == (
        f"Spark executors run other dedup code or datasketch (code {real[0]}, datasketch {real[1]}; "
        f"this process: code {'0' * 16}, datasketch {real[1]}): install the same dedup everywhere"
    )


def test_scan_on_spark_writes_the_local_engine_reports(spark: object, tmp_path: Path) -> None:
    runner = CliRunner()
    local, on_spark = tmp_path / "local", tmp_path / "spark"
    folder = str(SAMPLE / "articles")
    result = runner.invoke(app, ["scan", folder, "--out", str(local), "--workers", "2", "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["scan", folder, "--out", str(on_spark), "--engine", "spark", "-q"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    for name in REPORTS:
        assert (on_spark / name).read_bytes() == (local / name).read_bytes(), name
    local_summary = json.loads((local / "summary.json").read_text())
    spark_summary = json.loads((on_spark / "summary.json").read_text())
    assert spark_summary["parameters"]["engine"] == "spark"
    for summary in (local_summary, spark_summary):
        del summary["seconds"], summary["parameters"]["engine"], summary["parameters"]["workers"]
    assert spark_summary == local_summary


def test_bad_files_are_skipped_on_spark_with_the_local_engine_lines(spark: object, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    good = "Paragraph one of the article says something long enough to be indexed here.\n\n" * 3
    (src / "a.txt").write_text(good, encoding="utf-8")
    (src / "b.txt").write_bytes(b"\x00\x00binary")
    (src / "c.jsonl").write_text("{broken\n", encoding="utf-8")
    (src / "d.md").write_bytes(b"")
    outputs = []
    for engine in ("local", "spark"):
        result = CliRunner().invoke(app, ["scan", str(src), "-o", str(tmp_path / engine), "--engine", engine])
        assert result.exit_code == 0, result.output
        outputs.append([line for line in result.output.splitlines() if line.startswith("skipped")])
        summary = json.loads((tmp_path / engine / "summary.json").read_text())
        assert summary["skipped"] == {"binary": 1, "empty": 1, "malformed_json": 1}
    assert outputs[1] == outputs[0]
    assert outputs[1] == [
        "skipped b.txt (binary: control bytes in the first 8 KiB)",
        "skipped c.jsonl:1 (malformed_json: JSONDecodeError)",
        "skipped d.md (empty)",
    ]
    assert (tmp_path / "spark" / "skipped.csv").read_bytes() == (tmp_path / "local" / "skipped.csv").read_bytes()


def test_a_folder_given_as_a_uri_is_read_by_spark_with_the_local_reports(spark: object, tmp_path: Path) -> None:
    runner = CliRunner()
    local, remote = tmp_path / "local", tmp_path / "remote"
    folder = SAMPLE / "articles"
    assert runner.invoke(app, ["scan", str(folder), "--out", str(local), "-q"]).exit_code == 0
    result = runner.invoke(app, ["scan", folder.as_uri(), "--out", str(remote), "--engine", "spark", "-q"])
    assert result.exit_code == 0, result.output
    for name in REPORTS:
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    summaries = [json.loads((out / "summary.json").read_text()) for out in (local, remote)]
    assert summaries[1]["files_seen"] == summaries[0]["files_seen"] == 230


def test_uri_listing_reads_what_a_local_scan_reads_but_spark_hidden_names(spark: object, tmp_path: Path) -> None:
    """Odd names, nested folders, gzip, Zstandard, Parquet, bad and too large files: the same
    reports and skips as a local scan; names starting with "_" are hidden from Spark (its rule),
    "." from both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.ingest import compress

    src = tmp_path / "in"
    (src / "sub dir" / "ü").mkdir(parents=True)
    text = "Paragraph {} of the article says something long enough to be indexed here today.\n\n"
    article = "".join(text.format(i) for i in range(4))
    (src / "a b.txt").write_text(article, encoding="utf-8")
    (src / "sub dir" / "ü" / "ç%20#x.md").write_text(article, encoding="utf-8")
    (src / "sub dir" / "c[1].txt.gz").write_bytes(gzip.compress(article.encode()))
    (src / "big.txt").write_text(article * 40, encoding="utf-8")
    (src / "d.md.zst").write_bytes(compress(article.encode(), "zstd"))
    pq.write_table(pa.table({"text": [article, "Short."]}), src / "rows.parquet")
    pq.write_table(pa.table({"text": [article * 40]}), src / "wide.parquet")  # small on disk, too large
    (src / "b.txt").write_bytes(b"\x00\x00binary")
    (src / "notes.pdf").write_bytes(b"%PDF-1.4")
    (src / "scan.pdf").write_bytes(b"%PDF-1.4" + b"x" * 9000)  # unsupported before too large, like a local run
    (src / ".hidden.txt").write_text(article, encoding="utf-8")
    runner = CliRunner()
    options = ["--max-file-mb", "0.005"]  # 5,242 bytes: big.txt (about 13 KB) is too large
    local = runner.invoke(app, ["scan", str(src), "--out", str(tmp_path / "local"), *options])
    (src / "_draft.txt").write_text(article + "A draft.\n", encoding="utf-8")  # hidden from Spark only
    remote = runner.invoke(
        app, ["scan", src.as_uri(), "--out", str(tmp_path / "remote"), "--engine", "spark", *options]
    )
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    for name in REPORTS:
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    skips = [sorted(line for line in r.output.splitlines() if line.startswith("skipped")) for r in (local, remote)]
    assert skips[1] == skips[0]
    assert skips[0][:4] == [
        "skipped b.txt (binary: control bytes in the first 8 KiB)",
        f"skipped big.txt (too_large: {len(article.encode()) * 40} bytes > limit 5242)",
        "skipped notes.pdf (unsupported_type: not .txt/.md/.html/.json/.jsonl/.parquet nor an HTML page)",
        "skipped scan.pdf (unsupported_type: not .txt/.md/.html/.json/.jsonl/.parquet)",  # not opened
    ]
    # The column's size in the file's metadata (the text, and a few bytes pyarrow's version sets).
    assert re.fullmatch(r"skipped wide\.parquet \(too_large: 130\d\d bytes in columns text > limit 5242\)", skips[0][4])
    clusters = _rows(tmp_path / "remote" / "clusters.csv")
    assert sorted(row["path"] for row in clusters) == [
        "a b.txt",
        "d.md.zst",
        "rows.parquet#1",
        "sub dir/c[1].txt.gz",
        "sub dir/ü/ç%20#x.md",
    ]


def test_eval_of_a_uri_on_spark_gives_the_local_metrics(spark: object, tmp_path: Path) -> None:
    runner = CliRunner()
    truth = str(SAMPLE / "truth.csv")
    for name, folder, extra in (
        ("local", str(SAMPLE / "articles"), []),
        ("spark", (SAMPLE / "articles").as_uri(), ["--engine", "spark"]),
    ):
        result = runner.invoke(app, ["eval", folder, "--truth", truth, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "spark" / "errors.csv").read_bytes() == (tmp_path / "local" / "errors.csv").read_bytes()
    metrics = [json.loads((tmp_path / name / "eval.json").read_text())["metrics"] for name in ("local", "spark")]
    assert metrics[1] == metrics[0] and metrics[0]["articles_evaluated"] == 240


def test_index_of_a_uri_keeps_a_store_like_a_local_folder(spark: object, tmp_path: Path) -> None:
    """Nightly runs on a folder Spark lists and reads: the same changes, new pairs and reports as
    runs on the local folder, run after run (added files, then a changed and a removed one, then
    nothing new)."""
    runner = CliRunner()
    names = sorted(p.name for p in (SAMPLE / "articles").iterdir())
    folder = tmp_path / "articles"
    folder.mkdir()

    def run(step: str, *more: str) -> None:
        for name, where, extra in (
            ("local", str(folder), []),
            ("spark", folder.as_uri(), ["--engine", "spark"]),
        ):
            out = tmp_path / step / name
            args = ["index", where, "--store", str(tmp_path / f"{name}.sqlite"), "--out", str(out), "-q", *extra, *more]
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
        local, spark_out = tmp_path / step / "local", tmp_path / step / "spark"
        for csv_name in ("new_pairs.csv", "new_clusters.csv", "articles.csv", "clusters.csv", "pairs.csv"):
            assert (spark_out / csv_name).read_bytes() == (local / csv_name).read_bytes(), (step, csv_name)
        both = [json.loads((out / "summary.json").read_text()) for out in (local, spark_out)]
        assert both[1]["changes"] == both[0]["changes"], step
        assert both[1]["files_read"] == both[0]["files_read"], step  # only new and changed files are read
        summaries[step] = {**both[0]["changes"], "files_read": both[0]["files_read"]}

    summaries: dict[str, dict[str, object]] = {}
    for step, batch in (("first", names[:4]), ("second", names[4:])):
        for name in batch:
            src = SAMPLE / "articles" / name
            (shutil.copytree if src.is_dir() else shutil.copyfile)(src, folder / name)
        run(step)
    changed, removed, touched, rewritten, moved = sorted(p for p in folder.rglob("*.txt"))[:5]
    changed.write_text("A completely new text for this article, long enough to be indexed by dedup now.\n")
    os.utime(changed, ns=(10**18, 10**18))  # a time neither run saw
    removed.unlink()
    # Same bytes, other time or a copy written again: unchanged (their hash is the one kept).
    os.utime(touched, ns=(10**18, 10**18))
    rewritten.write_bytes(rewritten.read_bytes())
    os.utime(rewritten, ns=(2 * 10**18, 2 * 10**18))
    (folder / "archive").mkdir()
    moved.rename(folder / "archive" / moved.name)  # known by its hash: moved, not new
    # A dry run on Spark lists what one on the local folder lists (the moved file found by its hash).
    planned = []
    for name, where, extra in (("local", str(folder), []), ("spark", folder.as_uri(), ["--engine", "spark"])):
        args = ["index", where, "--store", str(tmp_path / f"{name}.sqlite"), "--dry-run", "--json", "-q", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        planned.append({k: v for k, v in json.loads(result.output).items() if k != "store"})
    assert planned[1] == planned[0] and planned[0]["files"]["moved"] == 1
    run("third")
    run("fourth")
    # Other text of the same length under the same time: found only by hashing every file.
    same_size = sorted(p for p in folder.rglob("*.txt"))[6]
    st = same_size.stat()
    same_size.write_text(same_size.read_text().replace(" the ", " xyz "))
    os.utime(same_size, ns=(st.st_atime_ns, st.st_mtime_ns))
    run("fifth", "--rehash")
    assert summaries["second"]["files_unchanged"] == summaries["first"]["files_new"] > 0
    assert summaries["second"]["files_new"] > 0
    assert (summaries["third"]["files_changed"], summaries["third"]["files_removed"]) == (1, 1)
    assert (summaries["third"]["files_moved"], summaries["third"]["files_new"], summaries["third"]["new_pairs"]) == (
        1,
        0,
        0,
    )
    assert summaries["third"]["files_read"] == 2  # the changed file and the moved one
    assert summaries["fourth"]["files_new"] == summaries["fourth"]["files_changed"] == 0
    assert (summaries["fifth"]["files_changed"], summaries["fifth"]["files_read"]) == (1, 1)
    # Both stores keep the same size, time (to the millisecond, as Hadoop lists a local file),
    # hash and status of every file (the touched file's new time, the hashes made when read).
    kept = []
    for name in ("local", "spark"):
        with Store(tmp_path / f"{name}.sqlite", build_config(), create=False) as store:
            kept.append({f.path: (f.size, f.mtime_ns // 10**6, f.sha1, f.status) for f in store.files().values()})
    assert kept[1] == kept[0]
    assert kept[0][str(touched.relative_to(folder))][1] == 10**12
    assert all(len(sha) == 40 for _, _, sha, _ in kept[0].values())


def test_a_file_that_vanishes_after_the_listing_is_passed_over(spark: object, tmp_path: Path) -> None:
    from dedup.engines.spark import list_uri_folder, map_uri_files
    from dedup.pipeline import digest_file_bytes

    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"Article {name} has words enough to be read as one paragraph here.\n")
    folder = list_uri_folder(tmp_path.as_uri())
    (tmp_path / "b.txt").unlink()  # a scraper removed it between the listing and the reading
    cfg = build_config(workers=1, engine="spark")
    task = functools.partial(digest_file_bytes, cfg=cfg)
    results = list(map_uri_files(folder, task, cfg.ingest.max_file_bytes, []))
    assert sorted(i for r in results for i in r.digests.ids) == ["a.txt", "c.txt"]
    assert spark.conf.get("spark.sql.files.ignoreMissingFiles") == "false"  # type: ignore[attr-defined]  # the session's own setting is back


def test_every_file_of_a_uri_moved_at_once_is_no_mass_removal(spark: object, tmp_path: Path) -> None:
    """As on a local folder: the new files' hashes, taken before --max-removed judges, say where
    the gone ones went."""
    folder, store = tmp_path / "articles", tmp_path / "s.sqlite"
    shutil.copytree(SAMPLE / "articles" / "maca", folder / "maca")
    args = ["index", folder.as_uri(), "--store", str(store), "--engine", "spark", "--json", "-q"]
    assert CliRunner().invoke(app, args).exit_code == 0
    everything = [p for p in folder.rglob("*") if p.is_file()]
    (folder / "2026").mkdir()
    (folder / "maca").rename(folder / "2026" / "maca")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    assert (changes["files_moved"], changes["files_removed"], changes["new_pairs"]) == (len(everything), 0, 0)


def test_index_of_a_uri_needs_a_store_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["index", "hdfs://namenode/scraped", "--engine", "spark"])
    assert result.exit_code == 2
    assert result.output == (
        "Error: --store is needed: hdfs://namenode/scraped is a URI, with no local folder to keep the store in\n"
    )


def test_a_uri_needs_the_spark_engine(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scan", "hdfs://namenode/scraped", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output == "Error: hdfs://namenode/scraped is not a local folder: reading it needs --engine spark\n"


def test_a_uri_that_cannot_be_listed_is_one_error_line(spark: object, tmp_path: Path) -> None:
    uri = (tmp_path / "nope").as_uri()
    result = CliRunner().invoke(app, ["scan", uri, "--out", str(tmp_path / "out"), "--engine", "spark", "-q"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot list {uri} (")
    assert len(result.output.splitlines()) == 1
    (tmp_path / "a.txt").write_text("One article in a file given where a folder is expected.\n")
    uri = (tmp_path / "a.txt").as_uri()
    result = CliRunner().invoke(app, ["scan", uri, "--out", str(tmp_path / "out"), "--engine", "spark", "-q"])
    assert (result.exit_code, result.output) == (1, f"Error: {uri} is a file, not a folder\n")


def test_index_on_spark_from_a_config_file_finds_the_local_engine_new_pairs(spark: object, tmp_path: Path) -> None:
    runner = CliRunner()
    names = sorted(p.name for p in (SAMPLE / "articles").iterdir())
    outputs: dict[str, Path] = {}
    for engine in ("local", "spark"):
        folder = tmp_path / engine / "articles"
        folder.mkdir(parents=True)
        for batch in (names[: len(names) // 2], names[len(names) // 2 :]):
            for name in batch:
                src = SAMPLE / "articles" / name
                (shutil.copytree if src.is_dir() else shutil.copyfile)(src, folder / name)
            outputs[engine] = tmp_path / engine / "out"
            args = ["index", str(folder), "--store", str(tmp_path / engine / "s.sqlite"), "--out", str(outputs[engine])]
            (tmp_path / engine / "dedup.toml").write_text(f'engine = "{engine}"\n')  # as a cron job would
            result = runner.invoke(app, [*args, "--config", str(tmp_path / engine / "dedup.toml"), "-q"])
            assert result.exit_code == 0, result.output
        assert json.loads((outputs[engine] / "summary.json").read_text())["parameters"]["engine"] == engine
    for name in ("new_pairs.csv", "new_clusters.csv", "articles.csv", "clusters.csv", "pairs.csv"):
        assert (outputs["spark"] / name).read_bytes() == (outputs["local"] / name).read_bytes(), name
    # The groups' first-seen times are those of each run; everything else is the same.
    local_rows, spark_rows = (_rows(outputs[engine] / "boilerplate.csv") for engine in ("local", "spark"))
    for rows in (local_rows, spark_rows):
        assert all(row.pop("first_seen") for row in rows)
    assert spark_rows == local_rows


def test_spark_master_without_the_spark_engine_exits_2(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    args = ["scan", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--spark-master", "local[2]"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output == "Error: spark_master is only used with engine spark (--engine spark)\n"


def test_spark_engine_without_pyspark_exits_2_and_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Some words that make one article for the reader to read today.\n")
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    result = CliRunner().invoke(
        app, ["scan", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--engine", "spark"]
    )
    assert result.exit_code == 2
    assert result.output.endswith('Error: --engine spark needs PySpark: pip install "dedup[spark]"\n')
    from dedup.engines.spark import spark_context

    with pytest.raises(ConfigError), spark_context():
        pass
