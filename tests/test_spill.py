"""The spilled texts, rows and buckets: file-backed containers that must read back exactly what was put in."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import spill
from dedup.errors import ScratchError
from dedup.spill import SpilledArray, SpilledBuckets, SpilledRows, SpilledTexts

texts_strategy = st.lists(st.text(max_size=40), max_size=30)


# The patched sizes are the same for every example, so one monkeypatch serves them all.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(texts_strategy, max_size=5),
    replacements=st.lists(st.tuples(st.integers(min_value=0), st.text(max_size=40)), max_size=10),
    picks=st.lists(st.integers(min_value=0), max_size=40),
)
def test_reads_back_what_was_appended_and_replaced(
    monkeypatch: pytest.MonkeyPatch, batches: list[list[str]], replacements: list[tuple[int, str]], picks: list[int]
) -> None:
    # Tiny write pieces and read gaps: every path (pending bytes, several reads, one read) is taken.
    monkeypatch.setattr(spill, "_FLUSH_BYTES", 16)
    monkeypatch.setattr(spill, "_GAP_BYTES", 8)
    texts, expected = SpilledTexts(), []
    for batch in batches:
        texts.extend(batch)
        expected.extend(batch)
    for row, text in replacements:
        if expected:
            texts[row % len(expected)] = text
            expected[row % len(expected)] = text
    assert len(texts) == len(expected)
    assert list(texts) == expected
    rows = [p % len(expected) for p in picks] if expected else []
    assert texts.take(rows) == [expected[r] for r in rows]
    assert texts.take(np.array(rows, dtype=np.int64)) == [expected[r] for r in rows]
    if expected:
        assert texts[-1] == expected[-1] and texts[1:3] == expected[1:3]


def test_empty_and_out_of_range() -> None:
    texts = SpilledTexts()
    assert len(texts) == 0 and not texts and texts.take([]) == [] and list(texts) == []
    texts.extend(["a"])
    with pytest.raises(IndexError):
        texts[1]
    with pytest.raises(IndexError):
        texts.take([0, -2])


def test_equality_with_lists_and_each_other() -> None:
    assert SpilledTexts(["x", "ü"]) == ["x", "ü"] == SpilledTexts(["x", "ü"])
    assert SpilledTexts(["x"]) != ["y"] and SpilledTexts(["x"]) != ("x", "y")


def _read_in_child(texts: SpilledTexts, rows: list[int], queue: multiprocessing.Queue) -> None:
    queue.put(texts.take(rows))


def test_forked_processes_read_the_same_file() -> None:
    """Forked verification workers read the parent's file side by side (``pread``: no shared position)."""
    texts = SpilledTexts([f"paragraph {i} " * (i % 7) for i in range(5000)])
    texts[3] = "replaced before the fork"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    rows = [[4999, 3, 0], list(range(0, 5000, 3)), [3, 3]]
    children = [context.Process(target=_read_in_child, args=(texts, r, queue)) for r in rows]
    for child in children:
        child.start()
    got = sorted((queue.get(timeout=30) for _ in children), key=len)
    for child in children:
        child.join(timeout=30)
    assert got == sorted((texts.take(r) for r in rows), key=len)
    assert texts.take([3]) == ["replaced before the fork"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(min_value=1, max_value=9),
    blocks=st.lists(st.integers(min_value=0, max_value=40), max_size=8),
    dtype=st.sampled_from([np.uint8, np.uint32, np.uint64]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_spilled_rows_read_back_the_transposed_blocks(
    monkeypatch: pytest.MonkeyPatch, height: int, blocks: list[int], dtype: type, seed: int
) -> None:
    """Blocks of columns, written row by row a few columns at a time (tiny blocks: every path is
    taken), read back as the rows of the whole ``(height, n)`` array, also between appends."""
    monkeypatch.setattr(spill, "_FLUSH_BYTES", 24)
    monkeypatch.setattr(spill, "_BLOCK_BYTES", 40)
    rng = np.random.default_rng(seed)
    parts = [rng.integers(0, np.iinfo(dtype).max, size=(k, height), dtype=dtype, endpoint=True) for k in blocks]
    whole = np.concatenate(parts).T if parts else np.empty((height, 0), dtype=dtype)
    rows = SpilledRows(height, dtype)
    for i, part in enumerate(parts):
        rows.append(part)
        if i == 1:  # a read between appends writes the partial block; later columns follow it
            so_far = np.concatenate(parts[:2]).T
            assert np.array_equal(rows.to_array(), so_far)
    assert rows.shape == whole.shape and len(rows) == height
    assert np.array_equal(rows.to_array(), whole) and rows.to_array().dtype == dtype
    for i in range(-height, height):
        assert np.array_equal(rows[i], whole[i])
    assert np.array_equal(rows[1:], whole[1:]) and np.array_equal(rows[::2], whole[::2])
    assert all(np.array_equal(a, b) for a, b in zip(rows, whole, strict=True))
    assert np.array_equal(SpilledRows.from_array(whole).to_array(), whole)


def test_spilled_rows_refuse_bad_blocks_and_indexes() -> None:
    rows = SpilledRows(3, np.uint32)
    with pytest.raises(ValueError, match=r"\(k, 3\) block"):
        rows.append(np.zeros((2, 4), dtype=np.uint32))
    rows.append(np.arange(6, dtype=np.uint32).reshape(2, 3))
    with pytest.raises(IndexError):
        rows[3]
    assert rows[2].tolist() == [2, 5]


def _rows_in_child(rows: SpilledRows, queue: multiprocessing.Queue) -> None:
    queue.put([rows[i].tolist() for i in range(len(rows))])


def test_forked_processes_read_the_same_rows() -> None:
    """Rows finished before the fork are read by the workers from the one rewritten file."""
    whole = np.arange(3 * 5000, dtype=np.uint64).reshape(3, 5000)
    rows = SpilledRows.from_array(whole)
    rows.finish()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_rows_in_child, args=(rows, queue)) for _ in range(2)]
    for child in children:
        child.start()
    got = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert got == [whole.tolist()] * 2


@pytest.mark.parametrize("count", [1, 4])
def test_spilled_buckets_keep_each_buckets_values_in_order(count: int) -> None:
    rng = np.random.default_rng(count)
    buckets = SpilledBuckets(count, np.uint64)
    added = []
    for size in (0, 7, 1000, 1):
        values = rng.integers(0, 2**63, size, dtype=np.uint64)
        which = rng.integers(0, count, size)
        buckets.add(values, which)
        added.append((values, which))
    for b in range(count):
        want = np.concatenate([v[w == b] for v, w in added])
        got = buckets.take(b)
        assert got.dtype == np.uint64 and got.tolist() == want.tolist()
        with pytest.raises(ValueError, match="taken"):
            buckets.take(b)


def test_no_room_for_spilled_rows_is_a_scratch_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full temporary folder while rows are staged is the one-line ScratchError (exit 1 in the CLI)."""
    rows = SpilledRows(2, np.uint64)

    def full(*_: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spill.os, "pwrite", full)
    rows.append(np.zeros((1 << 10, 2), dtype=np.uint64))  # less than a block: written by finish()
    with pytest.raises(ScratchError, match=r"cannot write a temporary file .*No space left on device"):
        rows.finish()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.integers(min_value=0, max_value=50), max_size=8),
    ranges=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=20)), max_size=30),
    gap=st.sampled_from([0, 8, 4096]),
)
def test_spilled_array_gathers_any_ranges(
    monkeypatch: pytest.MonkeyPatch, pieces: list[int], ranges: list[tuple[int, int]], gap: int
) -> None:
    """Ranges in any order, overlapping, empty or end to end read back the slices of the whole
    array (small write pieces and read gaps: every path is taken)."""
    monkeypatch.setattr(spill, "_FLUSH_BYTES", 24)
    monkeypatch.setattr(spill, "_GAP_BYTES", gap)
    rng = np.random.default_rng(len(pieces))
    whole = rng.integers(0, 2**32, sum(pieces), dtype=np.uint32)
    values = SpilledArray(np.uint32)
    at = 0
    for k in pieces:
        values.add(whole[at : at + k])
        at += k
    assert len(values) == values.shape[0] == len(whole)
    assert values.to_array().tolist() == whole.tolist()
    n = len(whole)
    starts = np.array([min(s % (n + 1), n) for s, _ in ranges], dtype=np.int64)
    stops = np.minimum(starts + np.array([k for _, k in ranges], dtype=np.int64), n)
    want = [x for s, e in zip(starts.tolist(), stops.tolist(), strict=True) for x in whole[s:e].tolist()]
    assert values.gather(starts, stops).tolist() == want
    with pytest.raises(IndexError):
        values.gather(np.array([0]), np.array([n + 1]))
