"""Find and read article files: text, Markdown, HTML, JSON, JSONL and Parquet, each optionally
compressed (gzip, bzip2, xz or Zstandard).

Bad input is normal input: every file or record that cannot be used becomes a :class:`Skip` with one
of the ``REASON_*`` codes below, and reading goes on.
"""

from __future__ import annotations

import bz2
import codecs
import functools
import gzip
import hashlib
import importlib.util
import io
import json
import lzma
import os
import pickle
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from dedup.config import IngestConfig
from dedup.records import Article, Skip

REASON_UNSUPPORTED = "unsupported_type"
REASON_EMPTY = "empty"
REASON_BINARY = "binary"
REASON_INVALID_UTF8 = "invalid_utf8"
REASON_UNDECODABLE = "undecodable"
REASON_TOO_LARGE = "too_large"
REASON_CORRUPT_GZIP = "corrupt_gzip"
REASON_CORRUPT_COMPRESSED = "corrupt_compressed"
REASON_UNREADABLE = "unreadable"
REASON_MALFORMED_JSON = "malformed_json"
REASON_MALFORMED_PARQUET = "malformed_parquet"
REASON_MISSING_TEXT = "missing_text"
REASON_DUPLICATE_ID = "duplicate_id"
REASON_NO_TEXT = "no_text"
REASON_BAD_NAME = "bad_name"

SKIP_REASONS = (
    REASON_BAD_NAME,
    REASON_BINARY,
    REASON_CORRUPT_COMPRESSED,
    REASON_CORRUPT_GZIP,
    REASON_DUPLICATE_ID,
    REASON_EMPTY,
    REASON_INVALID_UTF8,
    REASON_MALFORMED_JSON,
    REASON_MALFORMED_PARQUET,
    REASON_MISSING_TEXT,
    REASON_NO_TEXT,
    REASON_TOO_LARGE,
    REASON_UNDECODABLE,
    REASON_UNREADABLE,
    REASON_UNSUPPORTED,
)


class InputFormat(str, Enum):
    """How a file's content is turned into articles."""

    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"
    JSON = "json"
    JSONL = "jsonl"
    PARQUET = "parquet"


_SUFFIXES = {
    ".txt": InputFormat.TEXT,
    ".text": InputFormat.TEXT,
    ".md": InputFormat.MARKDOWN,
    ".markdown": InputFormat.MARKDOWN,
    ".html": InputFormat.HTML,
    ".htm": InputFormat.HTML,
    ".xhtml": InputFormat.HTML,
    ".xht": InputFormat.HTML,
    ".shtml": InputFormat.HTML,
    ".json": InputFormat.JSON,
    ".jsonl": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
    ".parquet": InputFormat.PARQUET,
}

_CODECS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
"""Compression suffixes, after the format's (``a.jsonl.zst``), and the codec each names."""

# A valid multi-byte UTF-8 sequence. A file holding some of these *and* invalid bytes is broken UTF-8
# (skipped); a file with high bytes but none of these is in a legacy 8-bit encoding (detected).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x20)])  # counted by deleting them (no regex)


class SkipFile(Exception):
    """Raised inside the reader to skip the current file with a reason (it escapes this module
    only from :func:`read_content`, which the planner of a file's parts calls)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def detect_format(name: str) -> tuple[InputFormat | None, str | None]:
    """Format and compression codec (``None``: not compressed) from a file name.

    >>> detect_format("a/b.JSONL.gz")
    (<InputFormat.JSONL: 'jsonl'>, 'gzip')
    >>> detect_format("a/b.md.zst"), detect_format("notes.pdf")
    ((<InputFormat.MARKDOWN: 'markdown'>, 'zstd'), (None, None))
    """
    lower = name.lower()
    codec = _CODECS.get(os.path.splitext(lower)[1])
    if codec is not None:
        lower = os.path.splitext(lower)[0]
    return _SUFFIXES.get(os.path.splitext(lower)[1]), codec


def size_is_content(name: str) -> bool:
    """Whether a file's size on disk is the size of its content, which ``--max-file-mb`` holds
    (not for a compressed or Parquet file).

    >>> size_is_content("a.html"), size_is_content("a.txt.xz"), size_is_content("a.parquet")
    (True, False, False)
    """
    fmt, codec = detect_format(name)
    return codec is None and fmt is not InputFormat.PARQUET


@functools.cache
def parquet_readable() -> bool:
    """Whether pyarrow, which reads Parquet files, is installed (the ``parquet`` extra)."""
    return importlib.util.find_spec("pyarrow") is not None


def discover_files(root: Path, exclude: Iterable[Path] = (), unreadable: list[Skip] | None = None) -> Iterator[str]:
    """Every non-hidden file under ``root``, as sorted ``/``-separated relative paths.

    Symbolic links to directories are followed once: a directory already visited (same device and
    inode) is not entered again, so link loops end. Hidden files and directories (``.git``, the
    ``.dedup`` store) are not listed.

    Args:
        root: folder to walk.
        exclude: folders and files never listed, wherever they are (dedup's own reports and store,
            when a run writes them inside ``root``): a folder is known by its device and inode, a
            file by its real path. Those that do not exist are ignored, and so is ``root`` itself.
        unreadable: gets an ``unreadable`` skip for each folder that cannot be listed (its path
            ends with ``/``; ``./`` for ``root``): what lies in it is unknown, not gone; and for
            each named pipe, socket or device, which is not listed (opening a pipe would wait for
            a writer for ever).

    Yields:
        Relative paths in byte-wise sorted order of their components.
    """
    seen: set[tuple[int, int]] = set()
    skipped_files: set[str] = set()
    try:
        top = os.stat(root)
    except OSError:
        top = None
    for path in exclude:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if top is None or (st.st_dev, st.st_ino) != (top.st_dev, top.st_ino):  # never the folder itself
                seen.add((st.st_dev, st.st_ino))  # as if visited already
        else:
            skipped_files.add(os.path.realpath(path))
    # A name is resolved only when it is one of theirs: realpath on every file cost 1 s per 100,000.
    skipped_names = {os.path.basename(path) for path in skipped_files}

    def walk(directory: Path, prefix: str) -> Iterator[str]:
        try:
            st = directory.stat()
            if (st.st_dev, st.st_ino) in seen:
                return
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            if unreadable is not None:
                unreadable.append(Skip(prefix or "./", REASON_UNREADABLE, exc.strerror or type(exc).__name__))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{prefix}{entry.name}"
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                yield from walk(Path(entry.path), f"{rel}/")
            elif entry.name in skipped_names and os.path.realpath(entry.path) in skipped_files:
                continue
            elif _special(entry) is None:
                yield rel
            elif unreadable is not None:  # a FIFO would block the reader for ever
                unreadable.append(Skip(rel, REASON_UNREADABLE, f"not a regular file ({_special(entry)})"))

    yield from walk(root, "")


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"))


def _special(entry: os.DirEntry[str]) -> str | None:
    """What a listed entry that is no folder is, when it is no regular file either (``None`` for a
    file, and for a link to nothing: the reader says why it cannot read it)."""
    if entry.is_file(follow_symlinks=True):  # the directory's own type field: no system call
        return None
    try:
        mode = entry.stat(follow_symlinks=True).st_mode
    except OSError:
        return None
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), None if stat.S_ISREG(mode) else "a device")


def _within(size: int, limit: int) -> None:
    if size > limit:
        raise SkipFile(REASON_TOO_LARGE, f"{size} bytes > limit {limit}")


def _read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of a stream (a decompressing reader may return fewer per call)."""
    parts, size = [], 0
    while size <= limit:
        chunk = fh.read(limit + 1 - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _zstd_complete(raw: bytes) -> bool:
    """Whether ``raw`` is whole Zstandard frames (a reader takes a cut one for a shorter text)."""
    import zstandard

    while raw:
        obj = zstandard.ZstdDecompressor().decompressobj()
        obj.decompress(raw)
        if not obj.eof:
            return False
        raw = obj.unused_data
    return True


def _decompress(source: BinaryIO, codec: str, limit: int) -> bytes:
    """A compressed stream's content, at most ``limit`` bytes of it (more is ``too_large``: a small
    file can unpack to gigabytes, and nothing past the limit is unpacked). A stream the codec cannot
    read to its end is ``corrupt_gzip`` (gzip, as before other codecs were read) or
    ``corrupt_compressed``."""
    import zstandard

    reason = REASON_CORRUPT_GZIP if codec == "gzip" else REASON_CORRUPT_COMPRESSED
    try:
        if codec == "zstd":
            raw = source.read()
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
            data = _read_at_most(reader, limit)
            if len(data) <= limit and not _zstd_complete(raw):
                raise SkipFile(reason, "zstd: the stream ends inside a frame")
        else:
            opened = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}[codec]
            with opened(fileobj=source) if codec == "gzip" else opened(source) as fh:  # type: ignore[operator]
                data = _read_at_most(fh, limit)
    except (EOFError, OSError, ValueError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
        detail = str(exc) or type(exc).__name__
        raise SkipFile(reason, detail if codec == "gzip" else f"{codec}: {detail}") from None
    if len(data) > limit:
        raise SkipFile(REASON_TOO_LARGE, f"more than {limit} bytes after decompression")
    return data


def compress(data: bytes, codec: str | None) -> bytes:
    """``data`` compressed with ``codec`` (``None``: as it is), the same bytes every time (no time
    stamp in a gzip header): what ``dedup clean`` writes back.

    >>> all(_decompress(io.BytesIO(compress(b"abc", c)), c, 9) == b"abc" for c in _CODECS.values())
    True
    """
    if codec is None:
        return data
    if codec == "zstd":
        import zstandard

        return bytes(zstandard.ZstdCompressor().compress(data))
    return {"gzip": lambda d: gzip.compress(d, mtime=0), "bzip2": bz2.compress, "xz": lzma.compress}[codec](data)


def decompress(data: bytes, codec: str | None, limit: int) -> bytes:
    """A file's content from its bytes (see :func:`_decompress`); raises :class:`SkipFile`."""
    if codec is None:
        _within(len(data), limit)
        return data
    return _decompress(io.BytesIO(data), codec, limit)


def read_content(path: Path, codec: str | None, limit: int) -> bytes:
    """A file's content, decompressed with ``codec``; raises :class:`SkipFile` (``too_large``,
    ``unreadable``, corrupt)."""
    try:
        if codec is None:
            _within(path.stat().st_size, limit)
            return path.read_bytes()
        with path.open("rb") as fh:
            return _decompress(fh, codec, limit)
    except OSError as exc:
        raise SkipFile(REASON_UNREADABLE, exc.strerror or type(exc).__name__) from None


_MULTIBYTE_LEGACY = frozenset(
    codecs.lookup(name).name
    for name in (
        "gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950", "shift_jis", "shift_jis_2004",
        "shift_jisx0213", "cp932", "euc_jp", "euc_jis_2004", "euc_jisx0213", "iso2022_jp", "iso2022_jp_1",
        "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext", "euc_kr", "cp949", "johab",
        "iso2022_kr",
    )
)  # fmt: skip
"""The legacy encodings of Chinese, Japanese and Korean: two bytes a character, which often look
like a valid UTF-8 sequence by chance."""


_WEB_LEGACY = frozenset(
    codecs.lookup(name).name
    for name in (
        "cp866", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8",
        "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r", "koi8_u", "mac_roman",
        "mac_cyrillic", "cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
        "cp1258", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "euc_jp", "iso2022_jp", "shift_jis", "cp932",
        "euc_kr", "cp949",
    )
)  # fmt: skip
"""The legacy encodings of the WHATWG Encoding Standard (what a browser decodes a page with)."""


def _declared_encoding(data: bytes) -> str | None:
    """The Python codec of the charset an HTML page declares (``<meta charset>``, ``http-equiv``,
    in its first 4 KiB), by its WHATWG name (``iso-8859-1`` is windows-1252, ``gb2312`` GB18030,
    ``shift_jis`` cp932); ``None`` when it declares none, UTF-8 or UTF-16, or a name that is not
    a browser's legacy encoding (``<meta charset="unicode_escape">`` names a Python codec).

    >>> _declared_encoding(b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">')
    'cp1252'
    >>> _declared_encoding(b'<meta charset="undefined">'), _declared_encoding(b"<p>none</p>")
    (None, None)
    """
    from w3lib.encoding import html_body_declared_encoding, resolve_encoding

    label = html_body_declared_encoding(data)
    try:
        name = codecs.lookup(resolve_encoding(label) or "") if label else None
    except LookupError:
        return None
    return name.name if name is not None and name.name in _WEB_LEGACY else None


def _utf8_share(data: bytes) -> float:
    """Of the non-ASCII characters UTF-8 decoding finds in ``data``, the share that are not
    replacement characters: near 1 for UTF-8 with a few damaged bytes, 0.1-0.3 for Chinese,
    Japanese or Korean text in a legacy encoding (its byte pairs look like UTF-8 now and then)."""
    text = data.decode("utf-8", errors="replace")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    bad = text.count("\ufffd")
    return (non_ascii - bad) / non_ascii if non_ascii else 1.0


def looks_binary(data: bytes) -> bool:
    """Whether a file's first 8 KiB hold a NUL byte, or more than 5 % control bytes."""
    head = data[:8192]
    return b"\x00" in head or len(head) - len(head.translate(None, _CONTROL)) > 0.05 * len(head)


def decode_bytes(data: bytes, html: bool = False) -> str:
    """Decode file bytes to text: BOM, then strict UTF-8, then (``html``) the charset the page
    declares, then a detected legacy encoding.

    Bytes that hold valid UTF-8 sequences among invalid ones are damaged UTF-8 (``invalid_utf8``:
    a guessed encoding would garble the valid characters), unless most of their non-ASCII
    characters are invalid as UTF-8 and the detected encoding is a legacy Chinese, Japanese or
    Korean one, whose byte pairs look like UTF-8 by chance (such pages were all skipped before).

    Raises:
        SkipFile: ``empty``, ``binary``, ``invalid_utf8`` or ``undecodable``.

    >>> decode_bytes("café".encode("utf-8"))
    'café'
    >>> decode_bytes('<meta charset="windows-1251"><p>Кратом'.encode("cp1251"), html=True)[-6:]
    'Кратом'
    """
    if not data.strip():
        raise SkipFile(REASON_EMPTY)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile(REASON_UNDECODABLE, "bad UTF-16") from None
    if looks_binary(data):
        raise SkipFile(REASON_BINARY, "control bytes in the first 8 KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        broken = f"invalid byte at offset {exc.start}"
    declared = _declared_encoding(data) if html else None
    if declared is not None:
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass  # a wrong declaration: detected as an undeclared page is
    import charset_normalizer

    damaged = _UTF8_MULTIBYTE.search(data) is not None
    if damaged and _utf8_share(data) >= 0.5:
        raise SkipFile(REASON_INVALID_UTF8, broken)
    best = charset_normalizer.from_bytes(data).best()
    if damaged and (best is None or codecs.lookup(best.encoding).name not in _MULTIBYTE_LEGACY):
        raise SkipFile(REASON_INVALID_UTF8, broken)
    if best is None:
        raise SkipFile(REASON_UNDECODABLE, "no encoding fits")
    return str(best)


# The start of an HTML document: after a BOM, whitespace, an XML declaration (XHTML) and comments
# (``<!-- saved from url=... -->``, a cache's stamp), a doctype or an ``<html>`` tag.
_HTML_START = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,400}>\s*)?(?:<!--.{0,4000}?-->\s*)*<(!doctype\s+html|html[\s>])",
    re.I | re.S,
)
_PEEK = 8192
"""The bytes read of a file whose name gives no format, to tell whether it is an HTML page."""


def _is_html_page(data: bytes) -> bool:
    """Whether a file's bytes are an HTML document: a doctype first, or an ``<html>`` tag with a
    head or body tag in the first 2 KiB after it (text that starts by naming the tag is text).

    >>> _is_html_page(b"<!DOCTYPE html><p>x"), _is_html_page(b"<html> is the root element")
    (True, False)
    >>> _is_html_page(b'<?xml version="1.0"?>\\n<!-- saved from url=(0041)x -->\\n<html><body>x')
    True
    """
    found = _HTML_START.match(data[:_PEEK])
    if found is None:
        return False
    head = data[found.start(1) : found.start(1) + 2048].lower()
    return found.group(1).lower().startswith(b"!") or b"<head" in head or b"<body" in head


# YAML front matter: a first line of dashes, lines that start with a key, and a closing line.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?=[\w\"'-]+[ \t]*:).*?^(?:---|\.\.\.)[ \t]*$\r?\n?", re.S | re.M)


@functools.cache
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(children: list[Any]) -> str:
    parts: list[str] = []
    for token in children:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")  # the segmenter re-joins hard-wrapped lines, as in a text file
        # Links keep their text (link_open and link_close hold the address); images, inline HTML
        # and emphasis marks are dropped.
    return "".join(parts)


def markdown_text(text: str) -> str:
    r"""The text of a Markdown document, block by block, each keeping its lines (the segmenter
    re-joins hard-wrapped ones, as in a text file: a scraper may write text with one line per
    paragraph and no blank line between, which Markdown would read as one paragraph): headings
    keep a ``#`` mark and list items a ``-`` (the segmenter drops both), a link its text but not
    its address, a table row its cells; images, HTML tags and YAML front matter are dropped; code
    keeps its lines.

    Scraped Markdown (what crawlers for language models write) carries the address of every link:
    two copies of a paragraph whose links point elsewhere (another mirror, other affiliate codes)
    differed by every word of the addresses, enough to fall under the paragraph bar.

    >>> text = "---\ntitle: A\n---\n# Kratom **facts**\n\nSee [it](https://x.org/s?id=1) ![pic](p.png)\nnow.\n\n* one"
    >>> markdown_text(text)
    '# Kratom facts\nSee it \nnow.\n- one'
    """
    text = _FRONT_MATTER.sub("", text, count=1)
    lines: list[str] = []
    prefix = ""
    row: list[str] | None = None
    for token in _markdown_parser().parse(text):
        kind = token.type
        if kind == "heading_open":
            prefix = "#" * int(token.tag[1:]) + " "
        elif kind == "list_item_open":
            prefix = "- "
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            lines.append(" | ".join(row))
            row = None
        elif kind == "inline":
            content = _inline_text(token.children or [])
            if row is not None:
                row.append(content)
            else:
                lines.append(prefix + content)
                prefix = ""
        elif kind in ("fence", "code_block"):
            lines.extend(token.content.splitlines())
        elif kind == "html_block":
            lines.extend(_TAG.sub(" ", token.content).splitlines())
    return "\n".join(line for line in lines if line.strip())


_TAG = re.compile(r"<[^>]*>")


def extract_html(html: str) -> str:
    """Main text of an HTML page (trafilatura: navigation, footers, cookie banners dropped).

    Raises:
        SkipFile: ``no_text`` when nothing readable is found.
    """
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_recall=True)
    if not text or not text.strip():
        raise SkipFile(REASON_NO_TEXT, "no main text found in HTML")
    return str(text)


@dataclass(frozen=True, slots=True)
class FileResult:
    """Articles and skips produced by one file (a JSONL file can yield both)."""

    path: str
    articles: tuple[Article, ...]
    skips: tuple[Skip, ...]

    @property
    def read_ok(self) -> bool:
        """True unless the whole file was skipped."""
        return bool(self.articles) or not any(s.path == self.path for s in self.skips)


_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8_encodable(text: str) -> bool:
    """Whether UTF-8 can hold ``text``: not if it has a lone surrogate (a JSON escape such as
    ``"\\ud800"``, or a file name's byte that is not UTF-8, as Python keeps it).

    >>> utf8_encodable("café"), utf8_encodable("a" + chr(0xD800))
    (True, False)
    """
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_safe(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (no report or store could hold it).

    >>> _utf8_safe("a" + chr(0xD800) + "b") == "a" + chr(0xFFFD) + "b"
    True
    """
    return text if utf8_encodable(text) else _SURROGATE.sub("\ufffd", text)


class _TooDeep(ValueError):
    """A JSON document nested too deeply for the parser (its ``RecursionError``)."""


def load_json(text: str) -> object:
    """``json.loads``; a ``ValueError`` too for a document nested too deeply for the parser."""
    try:
        return json.loads(text)
    except RecursionError:
        raise _TooDeep from None


READER_VERSION = 5
"""Bumped when a file this version reads gives other articles, skips or digests than the earlier
version gave: a nightly run reads again the stored files that may differ (see
:func:`dedup.incremental._stale_outcomes`). 2: JSONL lines end at line feeds and carriage returns
only (records holding a raw U+2028 or U+0085 were cut there, and lost as ``malformed_json``).
3: an HTML page is decoded with the charset it declares, and Chinese, Japanese or Korean text in
a legacy encoding is read (it was skipped as ``invalid_utf8``). 4: normalising keeps combining
marks in their words, drops Arabic and Hebrew points and invisible format characters, decodes
HTML character references, and makes
each Chinese, Japanese, Thai, Lao, Myanmar or Khmer character a word (:mod:`dedup.normalize`);
the full stops of other scripts end sentences (:mod:`dedup.segment`); Markdown is read as its
text (:func:`markdown_text`), and a page saved as ``.txt`` or ``.md`` as HTML. The store cannot tell which
articles hold such text (short segments are not kept), so every file read is read again.
5: a file whose name gives no format is read as HTML when it holds an HTML page (``wget``
mirrors), and ``.xhtml``, ``.xht`` and ``.shtml`` files are HTML: files skipped as
``unsupported_type`` are read again."""

_LINE_END = re.compile(r"\r\n?|\n")


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    r"""The non-blank lines of a JSONL text, numbered from 1, stripped of surrounding whitespace.

    A line ends at a line feed, a carriage return or both, as JSON Lines says; not where
    :meth:`str.splitlines` would also cut it: U+2028, U+2029 and U+0085 may stand unescaped in a
    JSON string (``json.dumps(..., ensure_ascii=False)`` writes them so, and scraped text holds
    them), and cutting there turned one record into malformed pieces.

    >>> list(jsonl_lines('{"t": "a\u2028b"}\r\n\n {"t": "c"}\x85\n'))
    [(1, '{"t": "a\u2028b"}'), (3, '{"t": "c"}')]
    """
    lines = _LINE_END.split(text) if "\r" in text else text.split("\n")
    for lineno, line in enumerate(lines, start=1):
        line = line.strip()
        if line:
            yield lineno, line


def _json_error(exc: ValueError) -> str:
    return "nested too deeply" if isinstance(exc, _TooDeep) else exc.__class__.__name__


def record_id(record: object, position: str, id_field: str) -> str:
    """The id of a JSON record: its ``id_field`` (a non-blank string or an integer), else its
    position (line or list index); the article is ``<file>#<id>``.

    >>> record_id({"id": 7}, "3", "id"), record_id({"id": " "}, "3", "id"), record_id([], "4", "id")
    ('7', '3', '4')
    """
    raw_id = record.get(id_field) if isinstance(record, dict) else None
    return _utf8_safe(str(raw_id)) if isinstance(raw_id, str | int) and str(raw_id).strip() else position


def bad_names(paths: Iterable[str]) -> tuple[list[str], list[Skip]]:
    """The paths that are valid UTF-8, and a ``bad_name`` skip for each other one.

    A file name that is not UTF-8 (bytes of another encoding; Python keeps them as lone
    surrogates) cannot be written into a report or the store: the skip names it with its odd
    bytes escaped (``bad\\xffname.txt``).
    """
    good: list[str] = []
    skips: list[Skip] = []
    for rel in paths:
        if utf8_encodable(rel):
            good.append(rel)
        else:
            shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
            skips.append(Skip(shown, REASON_BAD_NAME, "file name is not UTF-8; rename the file"))
    return good, skips


def _record_text(record: object, cfg: IngestConfig) -> str | None:
    """A record's ``--text-field``: a string, or a list of strings (a paragraph each, as some
    datasets hold an article), one per line; ``None`` for anything else.

    >>> _record_text({"text": ["First.", "Second."]}, IngestConfig()), _record_text({"text": [1]}, IngestConfig())
    ('First.\\nSecond.', None)
    """
    if not isinstance(record, dict):
        return None
    text = record.get(cfg.text_field)
    if isinstance(text, list) and text and all(isinstance(part, str) for part in text):
        text = "\n".join(text)
    return _utf8_safe(text) if isinstance(text, str) else None


def _field_text(text: str, cfg: IngestConfig) -> str:
    """A text field's article text: its HTML's main text or its Markdown's text, as the options say."""
    if cfg.text_is_html:
        return extract_html(text)
    return markdown_text(text) if cfg.text_is_markdown else text


def missing_text(field: str) -> str:
    """The detail of a ``missing_text`` skip."""
    return f"no text in field {field!r} (a string, or a list of strings)"


def duplicate_id(rel: str, position: str, rid: str) -> Skip:
    """The skip of a record whose id an earlier record of its file took."""
    return Skip(f"{rel}#{rid}", REASON_DUPLICATE_ID, f"record {position} repeats id {rid!r}")


def _records(
    rel: str,
    items: list[tuple[str, object]],
    cfg: IngestConfig,
    skips: list[Skip],
    outcomes: list[tuple[str, str, int]] | None = None,
) -> list[Article]:
    """Turn ``(position, record)`` pairs into articles ``rel#<id>``; bad records become skips.

    ``outcomes`` (a part of a file, see :func:`jsonl_part`) gets ``(position, id, skip)`` of every
    record with a text: ``skip`` is the index in ``skips`` of its skip, or -1 for an article.
    """
    articles: list[Article] = []
    seen_ids: set[str] = set()
    for position, record in items:
        text = _record_text(record, cfg)
        if text is None:
            skips.append(Skip(f"{rel}#{position}", REASON_MISSING_TEXT, missing_text(cfg.text_field)))
            continue
        rid = record_id(record, position, cfg.id_field)
        if outcomes is not None:
            outcomes.append((position, rid, len(skips)))
        if rid in seen_ids:
            skips.append(duplicate_id(rel, position, rid))
            continue
        if not text.strip():
            skips.append(Skip(f"{rel}#{rid}", REASON_EMPTY, "empty text"))
            continue
        try:
            text = _field_text(text, cfg)
        except SkipFile as skip:  # HTML with no main text
            skips.append(Skip(f"{rel}#{rid}", skip.reason, skip.detail))
            continue
        seen_ids.add(rid)
        articles.append(Article(f"{rel}#{rid}", text))
        if outcomes is not None:
            outcomes[-1] = (position, rid, -1)
    return articles


def _jsonl_items(rel: str, text: str, skips: list[Skip], first_line: int = 1) -> list[tuple[str, object]]:
    """``(line number, record)`` of a JSONL text's lines (numbered from ``first_line``); a line
    that is not JSON becomes a ``malformed_json`` skip."""
    items: list[tuple[str, object]] = []
    for lineno, line in jsonl_lines(text):
        lineno += first_line - 1
        try:
            items.append((str(lineno), load_json(line)))
        except ValueError as exc:
            skips.append(Skip(f"{rel}:{lineno}", REASON_MALFORMED_JSON, _json_error(exc)))
    return items


def jsonl_part(
    rel: str, data: bytes, first_line: int, cfg: IngestConfig
) -> tuple[FileResult, tuple[tuple[str, str, int], ...]]:
    """The articles and skips of a part of a JSONL file: whole lines of valid UTF-8 (``data``),
    the first of them line ``first_line`` of the file, as :func:`read_file` reads those lines of
    the whole file, but that an id an earlier part took does not make a record a duplicate here:
    the outcomes (see :func:`_records`) tell the caller which records of the part repeat such an
    id (:func:`dedup.pipeline._whole_files`)."""
    skips: list[Skip] = []
    outcomes: list[tuple[str, str, int]] = []
    items = _jsonl_items(rel, data.decode("utf-8"), skips, first_line)
    articles = _records(rel, items, cfg, skips, outcomes)
    return FileResult(rel, tuple(articles), tuple(skips)), tuple(outcomes)


def read_file(root: Path, rel: str, cfg: IngestConfig) -> FileResult:
    """Read one file into articles.

    Args:
        root: the scanned folder.
        rel: path relative to ``root`` (``/``-separated).
        cfg: ingest options.

    Returns:
        The file's articles and skips; never raises for bad content.
    """
    path = root / rel
    return _parse_file(
        rel, cfg, lambda codec: read_content(path, codec, cfg.max_file_bytes), lambda: _peek(path, cfg.max_file_bytes)
    )


def _peek(path: Path, limit: int) -> bytes | None:
    """The first bytes of a file (``None``: more than ``limit`` bytes, which is not opened, or
    unreadable)."""
    try:
        if path.stat().st_size > limit:
            return None
        with path.open("rb") as fh:
            return fh.read(_PEEK)
    except OSError:
        return None


def read_file_bytes(rel: str, raw: bytes, cfg: IngestConfig) -> FileResult:
    """:func:`read_file` for a file whose bytes were read elsewhere (by Spark, from any Hadoop file
    system): the same articles and skips.

    >>> [a.id for a in read_file_bytes("x.txt", b"Some words here.", IngestConfig()).articles]
    ['x.txt']
    >>> read_file_bytes("x.txt.gz", b"not gzip", IngestConfig()).skips[0].reason
    'corrupt_gzip'
    """
    peek = lambda: raw[:_PEEK] if len(raw) <= cfg.max_file_bytes else None  # noqa: E731
    return _parse_file(rel, cfg, lambda codec: decompress(raw, codec, cfg.max_file_bytes), peek)


def bytes_sha1s(files: Sequence[tuple[str, bytes]]) -> tuple[tuple[str, str], ...]:
    """``(relative path, SHA-1)`` of files whose bytes were read elsewhere: what
    :func:`dedup.store.file_sha1` gives for the same file on a local disk (the Spark engine's
    nightly runs keep it, and compare it when a file's size or time changed).

    >>> bytes_sha1s([("a.txt", b"abc")])
    (('a.txt', 'a9993e364706816aba3e25717850c26c9cd0d89d'),)
    """
    return tuple((rel, hashlib.sha1(raw).hexdigest()) for rel, raw in files)


def unsupported(rel: str) -> Skip | None:
    """The skip of a file whose name says no format dedup reads (checked before any byte is read).

    >>> unsupported("a/notes.pdf").reason, unsupported("a/b.jsonl.gz")
    ('unsupported_type', None)

    A Parquet file is one while pyarrow (the ``parquet`` extra) is not installed.
    """
    fmt = detect_format(rel)[0]
    if fmt is None:
        return Skip(rel, REASON_UNSUPPORTED, "not .txt/.md/.html/.json/.jsonl/.parquet")
    if fmt is InputFormat.PARQUET and not parquet_readable():
        return Skip(rel, REASON_UNSUPPORTED, "reading Parquet needs pyarrow: pip install 'dedup[parquet]'")
    return None


def parquet_records(rel: str, data: bytes, cfg: IngestConfig, skips: list[Skip]) -> list[tuple[str, object]]:
    """``(row number, {text field: text, id field: id})`` of every row of a Parquet file (its
    bytes), as :func:`_records` takes a JSONL file's lines; rows counted from 1 (see
    :func:`_parquet_columns`)."""
    return _as_records(cfg, *_parquet_columns(rel, data, cfg, skips))


def _as_records(cfg: IngestConfig, rows: list[str], texts: list[object], ids: list[object]) -> list[tuple[str, object]]:
    """Parquet rows as JSON records (the text wins where both fields name one column)."""
    field, id_field = cfg.text_field, cfg.id_field
    return [(row, {id_field: rid, field: text}) for row, text, rid in zip(rows, texts, ids, strict=True)]


def _parquet_columns(
    rel: str,
    data: bytes,
    cfg: IngestConfig,
    skips: list[Skip],
    groups: Sequence[int] | None = None,
    first_row: int = 1,
    sizes: list[int] | None = None,
) -> tuple[list[str], list[object], list[object]]:
    """The row numbers, texts and ids of a Parquet file's rows (flat lists: they pickle faster
    than a record per row); with ``groups``, those of these row groups only, the first row
    numbered ``first_row``, and the text's own size appended to ``sizes`` instead of held to the
    limit (it holds for the whole file: the caller sums the parts).

    Only the text and id columns are read (pyarrow). ``--max-file-mb`` holds their size in the
    file's metadata before they are read, then the text's own size, counted while the text column
    is still dictionary-encoded (the metadata counts a text repeated in many rows once). A text
    column of bytes is decoded as a file is (a row that cannot be is skipped as ``rel:row``); any
    other type, or no such column, skips the file.

    Raises:
        SkipFile: ``missing_text``, ``too_large`` or ``malformed_parquet``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    field, id_field = cfg.text_field, cfg.id_field
    try:
        schema = pq.ParquetFile(io.BytesIO(data)).schema_arrow
        names = schema.names
        if field not in names:
            raise SkipFile(REASON_MISSING_TEXT, f"no column {field!r}")
        kind = schema.field(field).type
        flat = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)
        flat = flat or pa.types.is_large_binary(kind)
        parquet = pq.ParquetFile(io.BytesIO(data), read_dictionary=[field] if flat else None)
        wanted = [field, *([id_field] if id_field in names and id_field != field else [])]
        meta = parquet.metadata
        size = 0
        for r in range(meta.num_row_groups):
            group = meta.row_group(r)
            for c in range(group.num_columns):
                if group.column(c).path_in_schema.split(".")[0] in wanted:
                    size += group.column(c).total_uncompressed_size
        if size > cfg.max_file_bytes:
            raise SkipFile(
                REASON_TOO_LARGE, f"{size} bytes in columns {', '.join(wanted)} > limit {cfg.max_file_bytes}"
            )
        table = parquet.read(columns=wanted) if groups is None else parquet.read_row_groups(groups, columns=wanted)
        column = table.column(field)
        kind = column.type
        if pa.types.is_dictionary(kind):
            size = sum(pc.sum(pc.take(pc.binary_length(c.dictionary), c.indices)).as_py() or 0 for c in column.chunks)
            if sizes is None:
                _within(size, cfg.max_file_bytes)
            else:
                sizes.append(size)
            kind = kind.value_type
            column = column.cast(kind)
        is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
        is_bytes = pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind)
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):  # a paragraph an item
            is_text = pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
        if not (is_text or is_bytes):
            raise SkipFile(REASON_MISSING_TEXT, f"column {field!r} holds {kind}, not text")
        values = column.to_pylist()
        ids = table.column(id_field).to_pylist() if len(wanted) > 1 else [None] * len(values)
    except (pa.ArrowException, OSError, ValueError, LookupError, TypeError) as exc:
        # Damaged files fail anywhere from the footer to the values (text that is not UTF-8).
        raise SkipFile(REASON_MALFORMED_PARQUET, (str(exc) or type(exc).__name__).splitlines()[0]) from None
    texts: list[object] = values
    if is_bytes:
        texts = []
        for row, value in enumerate(values, start=first_row):
            try:
                texts.append(value if value is None else decode_bytes(value))
            except SkipFile as skip:
                texts.append(_UNDECODED)
                skips.append(Skip(f"{rel}:{row}", skip.reason, skip.detail))
    kept = [k for k, text in enumerate(texts) if text is not _UNDECODED]
    return [str(k + first_row) for k in kept], [texts[k] for k in kept], [ids[k] for k in kept]


_UNDECODED = object()


def _parquet_task(
    rel: str, data: bytes, cfg: IngestConfig
) -> tuple[tuple[list[str], list[object], list[object]], list[Skip]]:
    skips: list[Skip] = []
    return _parquet_columns(rel, data, cfg, skips), skips


def _parquet_part_task(
    rel: str, data: bytes, cfg: IngestConfig, groups: Sequence[int], first_row: int
) -> tuple[tuple[list[str], list[object], list[object]], list[Skip], int | None]:
    skips: list[Skip] = []
    sizes: list[int] = []
    columns = _parquet_columns(rel, data, cfg, skips, groups, first_row, sizes)
    return columns, skips, (sizes[0] if sizes else None)


def _parquet_groups_task(path: str) -> list[tuple[int, int]]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        return [(meta.row_group(r).num_rows, meta.row_group(r).total_byte_size) for r in range(meta.num_row_groups)]
    except Exception as exc:  # any failure: the whole read says what it is
        raise SkipFile(REASON_MALFORMED_PARQUET, type(exc).__name__) from None


def parquet_row_groups(path: Path) -> list[tuple[int, int]] | None:
    """``(rows, uncompressed bytes)`` of each row group of a Parquet file, from its footer (read
    in a child process, see :func:`_in_child`); ``None`` where it cannot be read."""
    try:
        return _in_child(_parquet_groups_task, str(path))  # type: ignore[no-any-return]
    except SkipFile:
        return None


def parquet_part(
    root: Path, rel: str, groups: Sequence[int], first_row: int, cfg: IngestConfig
) -> tuple[FileResult, tuple[tuple[str, str, int], ...], int | None]:
    """The articles and skips of some row groups of a Parquet file (the first row numbered
    ``first_row``), as :func:`read_file` reads those rows of the whole file, but that an id an
    earlier part took does not make a row a duplicate here (the outcomes tell, see
    :func:`jsonl_part`), nor does the text's size (returned, for the whole file's limit) make the
    file ``too_large``. A skip of the whole file (damaged, no such column) may come from any part:
    the caller keeps the first (:func:`dedup.pipeline._whole_files`)."""
    skips: list[Skip] = []
    try:
        data = read_content(root / rel, detect_format(rel)[1], cfg.max_file_bytes)
        if not data:
            raise SkipFile(REASON_EMPTY)
        columns, skips, size = _in_child(_parquet_part_task, rel, data, cfg, list(groups), first_row)
    except SkipFile as skip:
        return FileResult(rel, (), (Skip(rel, skip.reason, skip.detail),)), (), None
    outcomes: list[tuple[str, str, int]] = []
    articles = _records(rel, _as_records(cfg, *columns), cfg, skips, outcomes)
    return FileResult(rel, tuple(articles), tuple(skips)), tuple(outcomes), size


def _in_child(task: Callable[..., Any], *args: object) -> Any:
    """``task(*args)`` in a forked child process, its result (or :class:`SkipFile`) sent back
    pickled: pyarrow's C++ code ends the whole process (``std::terminate``) on some damaged Parquet
    files, which would end the run with it; a child that dies so makes the file a
    ``malformed_parquet`` skip. The child's pages are the worker's, shared until written; a
    Parquet file holds many articles, so the fork costs little per article."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 0
        try:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_WRONLY)  # what the C++ code prints as it ends the child
            os.dup2(devnull, 2)
            try:
                outcome: tuple[str, object] = ("ok", task(*args))
            except SkipFile as skip:
                outcome = ("skip", (skip.reason, skip.detail))
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(outcome, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not sent or status != 0:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.waitstatus_to_exitcode(status)}"
        raise SkipFile(REASON_MALFORMED_PARQUET, f"the Parquet reader failed on it ({how})")
    kind, value = pickle.loads(sent)
    if kind == "skip":
        raise SkipFile(*value)
    return value


def _parse_file(
    rel: str, cfg: IngestConfig, load: Callable[[str | None], bytes], peek: Callable[[], bytes | None]
) -> FileResult:
    """The articles and skips of file ``rel``, whose content (decompressed) ``load(codec)`` gives.

    A file whose name gives no format (``page.php``, ``index.html?p=2``, ``post``: pages as
    ``wget`` mirrors save them) is read as HTML when its first bytes (``peek()``; ``None``: too
    large or unreadable) are an HTML document, else skipped as ``unsupported_type``.
    """
    fmt, codec = detect_format(rel)
    skips: list[Skip] = []
    skip = unsupported(rel)
    if skip is not None and fmt is None and codec is None:
        head = peek()
        if head is not None and _is_html_page(head):
            skip, fmt = None, InputFormat.HTML
        elif head is not None:
            skip = Skip(rel, skip.reason, f"{skip.detail} nor an HTML page")
    if skip is not None:
        return FileResult(rel, (), (skip,))
    try:
        data = load(codec)
        if fmt is InputFormat.PARQUET:
            if not data:
                raise SkipFile(REASON_EMPTY)
            columns, row_skips = _in_child(_parquet_task, rel, data, cfg)
            skips.extend(row_skips)
            articles = _records(rel, _as_records(cfg, *columns), cfg, skips)
            return FileResult(rel, tuple(articles), tuple(skips))
        if fmt in (InputFormat.TEXT, InputFormat.MARKDOWN) and _is_html_page(data):
            fmt = InputFormat.HTML  # a page saved under another name: its main text, as for .html
        text = decode_bytes(data, html=fmt is InputFormat.HTML)
        if fmt is InputFormat.TEXT:
            articles = [Article(rel, text)]
        elif fmt is InputFormat.MARKDOWN:
            articles = [Article(rel, markdown_text(text))]
        elif fmt is InputFormat.HTML:
            articles = [Article(rel, extract_html(text))]
        elif fmt is InputFormat.JSONL:
            articles = _records(rel, _jsonl_items(rel, text, skips), cfg, skips)
        else:
            try:
                doc = load_json(text)
            except ValueError as exc:
                raise SkipFile(REASON_MALFORMED_JSON, _json_error(exc)) from None
            if isinstance(doc, list):
                articles = _records(rel, [(str(i), r) for i, r in enumerate(doc, start=1)], cfg, skips)
            else:
                body = _record_text(doc, cfg)
                if body is None:
                    raise SkipFile(REASON_MISSING_TEXT, missing_text(cfg.text_field))
                if not body.strip():
                    raise SkipFile(REASON_EMPTY, "empty text")
                articles = [Article(rel, _field_text(body, cfg))]
    except SkipFile as skip:
        return FileResult(rel, (), (*skips, Skip(rel, skip.reason, skip.detail)))
    return FileResult(rel, tuple(articles), tuple(skips))


__all__ = [
    "READER_VERSION",
    "SKIP_REASONS",
    "FileResult",
    "InputFormat",
    "SkipFile",
    "bad_names",
    "bytes_sha1s",
    "compress",
    "decode_bytes",
    "decompress",
    "detect_format",
    "discover_files",
    "duplicate_id",
    "extract_html",
    "jsonl_lines",
    "jsonl_part",
    "load_json",
    "looks_binary",
    "markdown_text",
    "parquet_part",
    "parquet_readable",
    "parquet_records",
    "parquet_row_groups",
    "read_content",
    "read_file",
    "read_file_bytes",
    "record_id",
    "size_is_content",
    "unsupported",
    "utf8_encodable",
]
