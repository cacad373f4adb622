"""Text normalisation: the canonical form every comparison (shingles, rapidfuzz, exact matches) runs on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

# Order matters: NFKC first (it turns full-width letters, ligatures and non-breaking spaces into their
# plain forms), then casefold (which NFKC output may still need, e.g. "ß" -> "ss"), then quote folding
# (curly and straight quotes become one character), then apostrophes inside words are dropped so
# "kratom’s" and "kratom's" and "kratoms" agree, and finally every other punctuation run becomes a space.
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_INNER_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_NON_WORD_KEEP_NEWLINE = re.compile(r"(?:[^\w\n]|_)+")


def _ascii_table() -> bytes:
    """Byte map of the ASCII fast path: letters lower-cased, digits, apostrophes and newlines kept,
    the backtick made an apostrophe, every other byte a space."""
    table = bytearray(b" " * 256)
    for i in range(128):
        c = chr(i)
        if c.isalnum():
            table[i] = ord(c.lower())
    table[ord("'")] = table[ord("`")] = ord("'")
    table[ord("\n")] = ord("\n")
    return bytes(table)


_ASCII = _ascii_table()
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")


def _fold(text: str) -> str:
    """Unicode form, case and quote folding (the result may still hold punctuation)."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)


def _drop_inner_apostrophes(data: bytes) -> bytes:
    """Apostrophes between two letters or digits are removed, the others become spaces."""
    parts = data.split(b"'")
    out = [parts[0]]
    for part in parts[1:]:
        inner = bool(out[-1]) and bool(part) and out[-1][-1] in _WORD_BYTES and part[0] in _WORD_BYTES
        out.append(part if inner else b" " + part)
    return b"".join(out)


_SPACE, _NEWLINE = 32, 10
_VECTOR_BYTES = 512  # from this size on, spaces are collapsed in NumPy (per-line joins below it)


def _collapse_spaces(data: bytes) -> list[str]:
    """``[b" ".join(line.split()).decode() for line in data.split(b"\\n")]`` for bytes made only of
    word bytes, spaces and newlines, with a few array operations instead of a split and a join per
    line: a space is kept when a word byte comes before it and a word byte (not a newline, not the
    end) after its run. The sentence pieces of 4,000 articles in one call: 0.06 s instead of 0.14 s.

    >>> _collapse_spaces(b"  a  b \\n\\n c d  ")
    ['a b', '', 'c d']
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    keep = arr != _SPACE
    # The first space of a run after a word byte stays (leading spaces and runs shrink to it) ...
    keep[1:] |= (arr[:-1] != _SPACE) & (arr[:-1] != _NEWLINE)
    arr = arr[keep]
    # ... unless a newline or the end follows it.
    drop = arr == _SPACE
    drop[:-1] &= arr[1:] == _NEWLINE
    return arr[~drop].tobytes().decode("ascii").split("\n")


def _ascii_lines(folded: str) -> list[str]:
    """Normalise ASCII text line by line with byte operations (the common case, no regex)."""
    data = folded.encode("ascii").translate(_ASCII)
    if b"'" in data:
        data = _drop_inner_apostrophes(data)
    if len(data) >= _VECTOR_BYTES:
        return _collapse_spaces(data)
    return [b" ".join(line.split()).decode("ascii") for line in data.split(b"\n")]


def _regex_lines(folded: str) -> list[str]:
    """Normalise folded Unicode text line by line (letters outside ASCII)."""
    if "'" in folded:
        folded = _INNER_APOSTROPHE.sub("", folded)
    return [" ".join(line.split()) for line in _NON_WORD_KEEP_NEWLINE.sub(" ", folded).split("\n")]


def _lines(text: str) -> list[str]:
    folded = _fold(text)
    return _ascii_lines(folded) if folded.isascii() else _regex_lines(folded)


def normalize_text(text: str) -> str:
    """Fold Unicode form, case, quotes, punctuation and whitespace.

    Args:
        text: raw paragraph text.

    Returns:
        Lower-case words separated by single spaces (no punctuation, no leading/trailing space).

    >>> normalize_text("Kratom’s  “Role”—in PAIN!")
    'kratoms role in pain'
    >>> normalize_text(normalize_text("Ｆｕｌｌ-width, ﬁne."))
    'full width fine'
    """
    if "\n" in text:
        return " ".join(" ".join(_lines(text)).split())
    return _lines(text)[0]


def normalize_many(texts: Sequence[str]) -> list[str]:
    """``[normalize_text(t) for t in texts]`` in one pass over the joined texts (far fewer calls).

    The texts are joined with newlines, which folding keeps and the punctuation pass leaves alone,
    so every text comes back on its own line. Texts that hold a newline themselves take the
    one-by-one path.

    >>> normalize_many(["Kratom’s  “Role”", "—in PAIN!", ""])
    ['kratoms role', 'in pain', '']
    """
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") == len(texts) - 1:
        lines = _lines(joined)
        if len(lines) == len(texts):  # NFKC never makes a newline, but be sure
            return lines
    return [normalize_text(t) for t in texts]


__all__ = ["normalize_many", "normalize_text"]
