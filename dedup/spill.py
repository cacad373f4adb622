"""Texts and large arrays kept in temporary files while a run holds only where each one lies.

The distinct paragraphs' normalised texts and their samples were 164 MB of a 454 MB in-memory
corpus at 102 MB of articles (200k paragraphs), and the later stages read few of them:
verification reads the candidates' texts, the reports the boilerplate groups'. Kept here
(:class:`SpilledTexts`), they cost 16 bytes each in memory; the operating system's page cache
holds the file, which it can drop at will and which no process' footprint counts.

The paragraphs' MinHash signatures and the sentences' band keys (88 and 55 MB at 102 MB) are read
by candidate generation only, a few rows of values at a time: they wait in a
:class:`SpilledRows`. The sentences' shingle sets (46 MB), which verification reads a chunk's
ranges at a time, wait in a :class:`SpilledArray`; the whole-article containment sorts its keys
a :class:`SpilledBuckets` bucket at a time.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from dedup.errors import ScratchError

__all__ = ["SpilledArray", "SpilledBuckets", "SpilledRows", "SpilledTexts"]

_FLUSH_BYTES = 1 << 20  # appended texts and arrays are written in pieces of about this size
_GAP_BYTES = 4096  # texts closer than this in the file are fetched with one read


def _scratch_message(what: str, exc: OSError) -> str:
    folder = tempfile.gettempdir()
    reason = exc.strerror or type(exc).__name__
    return f"{what} a temporary file in {folder}: {reason} (set TMPDIR to a folder with room)"


def _scratch_file() -> tempfile._TemporaryFileWrapper[bytes]:
    """An unlinked temporary file in ``TMPDIR`` (a :class:`ScratchError` if it cannot be made)."""
    try:
        return tempfile.TemporaryFile()
    except OSError as exc:
        raise ScratchError(_scratch_message("cannot make", exc)) from None


def _write_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    """``os.pwrite`` all of ``data`` at ``offset`` (a :class:`ScratchError` if it fails)."""
    view = memoryview(data).cast("B")
    try:
        while view:
            done = os.pwrite(fd, view, offset)
            offset += done
            view = view[done:]
    except OSError as exc:
        raise ScratchError(_scratch_message("cannot write", exc)) from None


def _read_into(fd: int, buffer: memoryview, offset: int) -> None:
    """Fill ``buffer`` from ``offset`` (``os.preadv``: straight into the buffer, no copy)."""
    while buffer:
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [buffer], offset)
        else:  # pragma: no cover - platforms without preadv
            data = os.pread(fd, len(buffer), offset)
            got = len(data)
            buffer[:got] = data
        if not got:  # pragma: no cover - the file is private to this run
            raise ScratchError(f"a temporary file in {tempfile.gettempdir()} was cut short")
        buffer, offset = buffer[got:], offset + got


class SpilledTexts(Sequence[str]):
    """An append-only list of strings whose UTF-8 bytes live in an unlinked temporary file.

    The file is made in the system's temporary folder (``TMPDIR``) and vanishes when the object is
    collected or the process ends. Reads go through ``os.pread``, so processes forked from the
    owner read it side by side without sharing a file position. A row can be replaced
    (``texts[i] = text``): the new text is appended and the row points at it.

    >>> texts = SpilledTexts()
    >>> texts.extend(["café au lait", "", "tea"])
    >>> texts[1] = "green tea"
    >>> len(texts), texts[0], texts.take([2, 1, 2]), list(texts)
    (3, 'café au lait', ['tea', 'green tea', 'tea'], ['café au lait', 'green tea', 'tea'])
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._file = _scratch_file()
        self._fd = self._file.fileno()
        self._pending: list[bytes] = []
        self._written = 0  # bytes in the file
        self._end = 0  # bytes in the file and pending
        self._starts = array("q")
        self._sizes = array("q")
        self.extend(list(texts))

    def extend(self, texts: Sequence[str]) -> None:
        """Append the texts, in order."""
        if not texts:
            return
        joined = "".join(texts)
        data = joined.encode("utf-8")
        if len(data) == len(joined):  # ASCII: a character is a byte
            sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        else:
            sizes = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
        starts = np.cumsum(sizes) - sizes + self._end
        self._starts.frombytes(starts.tobytes())
        self._sizes.frombytes(sizes.tobytes())
        self._append(data)

    def _append(self, data: bytes) -> None:
        self._pending.append(data)
        self._end += len(data)
        if self._end - self._written >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write what was appended to the file (reads do it first)."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            _write_all(self._fd, data, self._written)
            self._written += len(data)

    def __len__(self) -> int:
        return len(self._starts)

    def __setitem__(self, row: int, text: str) -> None:
        data = text.encode("utf-8")
        self._starts[row], self._sizes[row] = self._end, len(data)
        self._append(data)

    @overload
    def __getitem__(self, row: int) -> str: ...

    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return self.take(range(*row.indices(len(self))))
        return self.take([row])[0]

    def __iter__(self) -> Iterator[str]:
        step = 4096
        for lo in range(0, len(self), step):
            yield from self.take(range(lo, min(lo + step, len(self))))

    def take(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The texts of the given rows (in that order, repeats allowed); texts that lie close
        together in the file come with one read."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return []
        if rows.min() < -len(self) or rows.max() >= len(self):
            raise IndexError("SpilledTexts index out of range")
        self.flush()
        starts = np.frombuffer(self._starts, dtype=np.int64)[rows]
        ends = starts + np.frombuffer(self._sizes, dtype=np.int64)[rows]
        order = np.argsort(starts, kind="stable")
        lo, hi = starts[order], ends[order]
        reach = np.maximum.accumulate(hi)
        cuts = np.flatnonzero(lo[1:] > reach[:-1] + _GAP_BYTES) + 1
        out: list[str] = [""] * len(rows)
        bounds = zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [len(lo)])).tolist(), strict=True)
        lo_list, hi_list, order_list, reach_list = lo.tolist(), hi.tolist(), order.tolist(), reach.tolist()
        for first, stop in bounds:
            base = lo_list[first]
            data = os.pread(self._fd, reach_list[stop - 1] - base, base)
            for k in range(first, stop):
                out[order_list[k]] = data[lo_list[k] - base : hi_list[k] - base].decode("utf-8")
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpilledTexts | list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpilledTexts({len(self)} texts, {self._end} bytes)"


class SpilledRows:
    """A ``(height, n)`` array kept in an unlinked temporary file, made ``n`` columns at a time
    from blocks in the transposed layout (``(k, height)``, one row per item: the way
    fingerprints arrive, a batch of paragraphs or sentences at a time).

    The columns are gathered into blocks of about ``_BLOCK_BYTES`` (8 MB); each full block is
    transposed and written once, row after row, so the file holds row ``i`` of every block
    contiguously. ``rows[i]`` and ``rows[lo:hi]`` then take one read per block (a row of 200k
    signature values, 800 KB, comes in 11 reads), and nothing but the read copy is held in
    memory. Reads use ``os.pread``, so forked processes read side by side (call :meth:`finish`
    before forking, so that the last partial block is written once). Indexing, ``len``, iteration
    and ``shape`` behave like those of the NumPy array (:meth:`to_array`), so code that reads rows
    takes either.

    >>> rows = SpilledRows(3, np.uint32)
    >>> rows.append(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint32))
    >>> rows.append(np.array([[7, 8, 9]], dtype=np.uint32))
    >>> rows.shape, rows[1].tolist(), rows[1:].tolist()
    ((3, 3), [2, 5, 8], [[2, 5, 8], [3, 6, 9]])
    """

    def __init__(self, height: int, dtype: np.dtype | type) -> None:
        self.dtype = np.dtype(dtype)
        self.height = height
        self._n = 0
        self._file = _scratch_file()
        self._written = 0  # bytes in the file
        self._block_width = max(1, _BLOCK_BYTES // max(1, height * self.dtype.itemsize))
        self._blocks: list[tuple[int, int, int]] = []  # (first column, columns, byte offset) of each
        self._pending: list[np.ndarray] = []
        self._pending_columns = 0

    @classmethod
    def from_array(cls, values: np.ndarray) -> SpilledRows:
        """The rows of a ``(height, n)`` array."""
        out = cls(values.shape[0], values.dtype)
        out.append(np.asarray(values).T)
        return out

    def append(self, block: np.ndarray) -> None:
        """Add ``len(block)`` columns: ``block[i]`` holds column ``i``'s value of every row."""
        if block.ndim != 2 or block.shape[1] != self.height:
            raise ValueError(f"expected a (k, {self.height}) block, got {block.shape}")
        block = np.asarray(block, dtype=self.dtype)
        while len(block):
            take = min(len(block), self._block_width - self._pending_columns)
            self._pending.append(block[:take].copy())
            self._pending_columns += take
            self._n += take
            block = block[take:]
            if self._pending_columns == self._block_width:
                self.finish()

    def finish(self) -> None:
        """Write the columns not yet written (reads do it first; call it before forking readers)."""
        if not self._pending:
            return
        rows = _transposed(np.concatenate(self._pending))
        self._blocks.append((self._n - self._pending_columns, self._pending_columns, self._written))
        self._pending.clear()
        self._pending_columns = 0
        _write_all(self._file.fileno(), rows.data, self._written)
        self._written += rows.nbytes

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self._n)

    def __len__(self) -> int:
        return self.height

    def __getitem__(self, index: int | slice) -> np.ndarray:
        if isinstance(index, slice):
            lo, hi, step = index.indices(self.height)
            if step != 1:
                return np.stack([self[i] for i in range(lo, hi, step)]) if lo < hi else self._read(0, 0)
            return self._read(lo, max(lo, hi))
        i = index + self.height if index < 0 else index
        if not 0 <= i < self.height:
            raise IndexError("SpilledRows index out of range")
        return self._read(i, i + 1)[0]

    def _read(self, lo: int, hi: int) -> np.ndarray:
        self.finish()
        out = np.empty((hi - lo, self._n), dtype=self.dtype)
        if not out.size:
            return out
        item, fd = self.dtype.itemsize, self._file.fileno()
        single = len(self._blocks) == 1
        for first, width, offset in self._blocks:
            part = out if single else np.empty((hi - lo, width), dtype=self.dtype)
            _read_into(fd, memoryview(part.reshape(-1).view(np.uint8)), offset + lo * width * item)
            if not single:
                out[:, first : first + width] = part
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.height):
            yield self[i]

    def to_array(self) -> np.ndarray:
        """Every row, as one ``(height, n)`` array."""
        return self[:]

    def __repr__(self) -> str:
        return f"SpilledRows({self.height} rows of {self._n} {self.dtype} values)"


_BLOCK_BYTES = 8 << 20  # columns gathered, transposed and written at once


def _transposed(block: np.ndarray) -> np.ndarray:
    """``np.ascontiguousarray(block.T)``, 64 rows of ``block`` at a time: the tiles stay in the
    CPU caches (16k x 128 uint32 values: 1.2 ms, against 14.6 ms at once).

    >>> _transposed(np.arange(6).reshape(3, 2)).tolist()
    [[0, 2, 4], [1, 3, 5]]
    """
    out = np.empty(block.shape[::-1], dtype=block.dtype)
    for lo in range(0, len(block), 64):
        out[:, lo : lo + 64] = block[lo : lo + 64].T
    return out


class SpilledBuckets:
    """Values sorted into a few buckets, each bucket in a temporary file of its own until taken:
    a large array made piece by piece and then worked on a bucket at a time is never whole in
    memory.

    >>> buckets = SpilledBuckets(2, np.uint64)
    >>> buckets.add(np.array([5, 2, 7, 4], dtype=np.uint64), np.array([1, 0, 1, 1]))
    >>> buckets.add(np.array([9], dtype=np.uint64), np.array([0]))
    >>> buckets.take(0).tolist(), buckets.take(1).tolist()
    ([2, 9], [5, 7, 4])
    """

    def __init__(self, count: int, dtype: np.dtype | type) -> None:
        self.dtype = np.dtype(dtype)
        self._files: list[tempfile._TemporaryFileWrapper[bytes] | None] = [_scratch_file() for _ in range(count)]
        self._sizes = [0] * count  # bytes in each file

    def add(self, values: np.ndarray, bucket: np.ndarray) -> None:
        """Append each ``values[i]`` to bucket ``bucket[i]`` (in order within a bucket)."""
        values = np.asarray(values, dtype=self.dtype)
        for b, file in enumerate(self._files):
            if file is None:
                raise ValueError(f"bucket {b} was taken")
            chosen = np.ascontiguousarray(values[bucket == b])
            if len(chosen):
                _write_all(file.fileno(), chosen.data, self._sizes[b])
                self._sizes[b] += chosen.nbytes

    def take(self, b: int) -> np.ndarray:
        """Bucket ``b``'s values in the order they were added; its file is then closed."""
        file, self._files[b] = self._files[b], None
        if file is None:
            raise ValueError(f"bucket {b} was taken")
        out = np.empty(self._sizes[b] // self.dtype.itemsize, dtype=self.dtype)
        _read_into(file.fileno(), memoryview(out.view(np.uint8)), 0)
        file.close()
        return out


class SpilledArray:
    """A 1-D array appended piece by piece to an unlinked temporary file and read back by ranges.

    ``gather(starts, stops)`` returns the slices ``[starts[i], stops[i])`` end to end, in the given
    order; ranges less than 4 KB apart in the file come with one read. Forked processes read side
    by side (``os.pread``).

    >>> values = SpilledArray(np.uint32)
    >>> values.add(np.array([1, 2, 3], dtype=np.uint32)); values.add(np.array([4, 5], dtype=np.uint32))
    >>> len(values), values.gather(np.array([3, 0]), np.array([5, 2])).tolist(), values.to_array().tolist()
    (5, [4, 5, 1, 2], [1, 2, 3, 4, 5])
    """

    def __init__(self, dtype: np.dtype | type) -> None:
        self.dtype = np.dtype(dtype)
        self._file = _scratch_file()
        self._written = 0  # bytes in the file
        self._pending: list[np.ndarray] = []
        self._pending_bytes = 0
        self._n = 0

    def add(self, values: np.ndarray) -> None:
        """Append the values."""
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if len(values):
            self._pending.append(values)
            self._pending_bytes += values.nbytes
            self._n += len(values)
            if self._pending_bytes >= _FLUSH_BYTES:
                self.flush()

    def flush(self) -> None:
        """Write what was appended to the file (reads do it first; call it before forking)."""
        if self._pending:
            data = np.concatenate(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            _write_all(self._file.fileno(), data.data, self._written)
            self._written += data.nbytes

    def __len__(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int]:
        return (self._n,)

    def to_array(self) -> np.ndarray:
        """Every value, as one array."""
        return self.gather(np.zeros(1, dtype=np.int64), np.full(1, self._n, dtype=np.int64))

    def gather(self, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """The ranges ``[starts[i], stops[i])`` end to end."""
        starts, stops = np.asarray(starts, dtype=np.int64), np.asarray(stops, dtype=np.int64)
        lengths = stops - starts
        if not len(starts) or not lengths.any():
            return np.empty(0, dtype=self.dtype)
        if starts.min() < 0 or stops.max() > self._n or lengths.min() < 0:
            raise IndexError("SpilledArray range out of bounds")
        self.flush()
        item = self.dtype.itemsize
        order = np.argsort(starts, kind="stable")
        lo, hi = starts[order], stops[order]
        reach = np.maximum.accumulate(hi)
        cuts = np.flatnonzero(lo[1:] > reach[:-1] + max(1, _GAP_BYTES // item)) + 1
        first = np.concatenate(([0], cuts))
        last = np.concatenate((cuts, [len(lo)])) - 1
        group_lo, group_hi = lo[first], reach[last]
        sizes = group_hi - group_lo
        base = np.cumsum(sizes) - sizes
        buffer = np.empty(int(sizes.sum()), dtype=self.dtype)
        raw = buffer.view(np.uint8)
        fd = self._file.fileno()
        for at, g_lo, size in zip(base.tolist(), group_lo.tolist(), sizes.tolist(), strict=True):
            _read_into(fd, memoryview(raw[at * item : (at + size) * item]), g_lo * item)
        group = np.repeat(np.arange(len(first)), last - first + 1)
        position = np.empty(len(starts), dtype=np.int64)
        position[order] = base[group] + lo - group_lo[group]
        offsets = np.cumsum(lengths) - lengths
        if len(buffer) == int(lengths.sum()) and np.array_equal(position, offsets):
            return buffer  # the ranges lie end to end, in order (to_array): no index, no copy
        return buffer[np.repeat(position - offsets, lengths) + np.arange(int(lengths.sum()))]

    def __repr__(self) -> str:
        return f"SpilledArray({self._n} {self.dtype} values)"
