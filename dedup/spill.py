"""Texts kept in a temporary file while a run holds only where each one lies.

The distinct paragraphs' normalised texts and their samples were 164 MB of a 454 MB in-memory
corpus at 102 MB of articles (200k paragraphs), and the later stages read few of them:
verification reads the candidates' texts, the reports the boilerplate groups'. Kept here, they
cost 16 bytes each in memory; the operating system's page cache holds the file, which it can
drop at will and which no process' footprint counts.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from dedup.errors import ScratchError

__all__ = ["SpilledTexts"]

_FLUSH_BYTES = 1 << 20  # appended texts are written in pieces of about this size
_GAP_BYTES = 4096  # texts closer than this in the file are fetched with one read


def _scratch_message(what: str, exc: OSError) -> str:
    folder = tempfile.gettempdir()
    reason = exc.strerror or type(exc).__name__
    return f"{what} the temporary text file in {folder}: {reason} (set TMPDIR to a folder with room)"


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
        try:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the object
        except OSError as exc:
            raise ScratchError(_scratch_message("cannot make", exc)) from None
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
            view = memoryview(data)
            try:
                while view:
                    done = os.pwrite(self._fd, view, self._written)
                    self._written += done
                    view = view[done:]
            except OSError as exc:
                raise ScratchError(_scratch_message("cannot write", exc)) from None

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
