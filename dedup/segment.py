"""Cut an article into paragraphs and mark the short segments that must never be indexed."""

from __future__ import annotations

import re

from dedup.config import SegmentConfig
from dedup.normalize import normalize_many
from dedup.records import Paragraph

_BULLET = re.compile(r"^\s*(?:[-*+•·▪►‣◦]|\d{1,3}[.)]|#{1,6})\s+")
# Last characters of a line that ends a sentence, and of a segment that reads as prose, not a heading
# (looked up on the stripped text: a regex anchored at the end scans the whole segment first).
# Full stops of other scripts: Devanagari (।, ॥), Arabic and Urdu (؟, ۔), Armenian (։), Ethiopic (።),
# which a space follows; Chinese and Japanese (。！？), Myanmar (။) and Khmer (។), which none need.
_SPACED_STOPS = "।॥؟۔։።"
_UNSPACED_STOPS = "。！？။។"
_SENTENCE_END = frozenset(".!?:;\"')]：；」』）" + _SPACED_STOPS + _UNSPACED_STOPS)
_PROSE_END = frozenset(".!?…\"'”’)」』）" + _SPACED_STOPS + _UNSPACED_STOPS)
# A sentence ends at . ! ? or … (optionally followed by closing quotes or brackets) before whitespace,
# or at a full stop of a script written without spaces.
# The break takes the end mark with it (normalising drops it anyway): a pattern that starts with a
# character set is found about twice as fast as one that starts with a look-behind.
_SENTENCE_BREAK = re.compile(f"[.!?…{_SPACED_STOPS}][\"'”’)\\]]*\\s+|[{_UNSPACED_STOPS}][」』）\"'”’)\\]]*\\s*")


def split_sentences(text: str, min_words: int = 5) -> list[str]:
    """Normalised sentences of one paragraph.

    Fragments with fewer than ``min_words`` words (abbreviations such as "e.g." or "i. e.", list
    numbers) are joined to the following sentence, a short tail to the preceding one, so the
    sentences always join back into the paragraph's normalised text.

    Args:
        text: raw paragraph text.
        min_words: shortest sentence kept on its own.

    Returns:
        Normalised sentences (possibly one, the whole paragraph; empty if it has no word).

    >>> split_sentences("Dr. Smith arrived at noon today. He left! The end came quickly, as expected.")
    ['dr smith arrived at noon today', 'he left the end came quickly as expected']
    """
    return _join_short(normalize_many(_SENTENCE_BREAK.split(text)), min_words)


def _join_short(pieces: list[str], min_words: int) -> list[str]:
    """Join normalised fragments shorter than ``min_words`` words to the next one (a short tail to the last)."""
    out: list[str] = []
    carry = ""
    for norm in pieces:
        if not norm:
            continue
        carry = f"{carry} {norm}" if carry else norm
        if carry.count(" ") + 1 >= min_words:
            out.append(carry)
            carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def _wrap_width(lines: list[str]) -> int:
    """Width the text is hard-wrapped at (90th percentile line length), or 0 when it is not.

    Text counts as hard-wrapped when it has three or more lines and 90 % of them are at most 100
    characters long.
    """
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    if len(lengths) < 3:
        return 0
    width = lengths[int(0.9 * (len(lengths) - 1))]
    return width if width <= 100 else 0


def split_segments(text: str) -> list[str]:
    """Split raw text into segments: one per line, re-joining lines of hard-wrapped paragraphs.

    Paragraph boundaries are blank lines and line breaks (scraped text usually keeps one paragraph
    per line). When the whole text is hard-wrapped, a line that does not end a sentence is joined to
    the next one if that one starts in lower case or the line itself is nearly full width (it was
    wrapped, not a short heading); list items are never joined to.

    Args:
        text: raw article text.

    Returns:
        Non-empty segments, stripped, in order.

    >>> split_segments("Title\\n\\nFirst line\\nsecond line.\\n")
    ['Title', 'First line', 'second line.']
    >>> split_segments("A wrapped paragraph that goes on and\\non until the end.\\nNext one.\\n\\nx y z")
    ['A wrapped paragraph that goes on and on until the end.', 'Next one.', 'x y z']
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    width = _wrap_width(lines)
    segments: list[str] = []
    joinable = False
    previous_full = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            joinable = False
            continue
        if joinable and not _BULLET.match(line) and (stripped[:1].islower() or previous_full):
            segments[-1] = f"{segments[-1]} {stripped}"
        else:
            segments.append(stripped)
        joinable = bool(width) and len(stripped) >= 30 and stripped[-1:] not in _SENTENCE_END
        previous_full = bool(width) and len(line.rstrip()) >= 0.75 * width
    return segments


Segment = tuple[str, int, bool, tuple[str, ...]]
"""What one raw segment normalises to: ``(norm, words, is_short, sentences)`` (see :class:`Paragraph`)."""

_MEMO_LIMIT = 100_000
_MEMO_CHARS = 200


class SegmentMemo:
    """Raw segments already split by :func:`segment_article` (with one :class:`SegmentConfig`).

    Scraped articles repeat headings, bullets and boilerplate lines word for word: half the
    segments of the generated corpus are repeats. Segments of up to 200 characters (85 % of those
    repeats) are kept when first met; a longer one only when met a second time (its hash is noted
    the first time), since most long paragraphs are unique and would cost ~2 KB each. At most 100k
    segments and 400k hashes are kept; past that the memo starts afresh.

    Attributes:
        done: raw segment → ``(norm, words, is_short, sentences)``, or ``None`` without a word.
        seen_once: ``hash()`` of the long segments met once.
    """

    def __init__(self) -> None:
        self.done: dict[str, Segment | None] = {}
        self.seen_once: set[int] = set()

    def __len__(self) -> int:
        return len(self.done)


def segment_article(text: str, cfg: SegmentConfig, memo: SegmentMemo | None = None) -> list[tuple[str, Segment]]:
    """The segments of an article that have a word, each as ``(raw, (norm, words, is_short, sentences))``.

    What :func:`split_paragraphs` returns, as plain tuples (the workers' hot path makes no record
    per segment).

    Args:
        text: raw text.
        cfg: segmentation parameters.
        memo: segments already split with the same ``cfg`` (see :class:`SegmentMemo`). A
            segment's result does not depend on the article around it, so the memo never changes one.
    """
    segments = split_segments(text)
    if memo is None:
        memo = SegmentMemo()
    elif len(memo.done) > _MEMO_LIMIT or len(memo.seen_once) > 4 * _MEMO_LIMIT:
        memo.done.clear()
        memo.seen_once.clear()
    done = memo.done
    todo = [raw for raw in dict.fromkeys(segments) if raw not in done]
    if todo:
        # Every sentence piece of the new segments is normalised in one call.
        pieces = [_SENTENCE_BREAK.split(_BULLET.sub("", raw, count=1)) for raw in todo]
        norms = normalize_many([piece for group in pieces for piece in group])
        offset = 0
        for raw, group in zip(todo, pieces, strict=True):
            sentences = _join_short(norms[offset : offset + len(group)], cfg.min_sentence_words)
            offset += len(group)
            if not sentences:
                done[raw] = None
                continue
            norm = " ".join(sentences)
            words = norm.count(" ") + 1
            heading_like = raw.rstrip()[-1:] not in _PROSE_END
            short = words < cfg.min_words or (heading_like and words < 2 * cfg.min_words)
            done[raw] = (norm, words, short, tuple(sentences))
    found = [(raw, seg) for raw in segments if (seg := done[raw]) is not None]
    for raw in todo:
        if len(raw) > _MEMO_CHARS:
            key = hash(raw)
            if key not in memo.seen_once:
                memo.seen_once.add(key)
                del done[raw]
    return found


def split_paragraphs(
    article_id: str, text: str, cfg: SegmentConfig, memo: SegmentMemo | None = None
) -> list[Paragraph]:
    """Segment and normalise one article.

    Bullet and heading markers (``-``, ``*``, ``1.``, ``#``) are removed before normalising, so a
    bullet item and the heading it repeats normalise to the same text. A segment is *short*
    (``is_short=True``) when it has fewer than ``cfg.min_words`` words, or fewer than twice that and
    looks like a heading: it does not end like a sentence. Short segments count in the article's
    length but are never fingerprinted or matched, so a shared table of contents cannot make two
    articles alike. Segments with no word are dropped.

    Args:
        article_id: the article's path (or ``file.jsonl#id``).
        text: raw text.
        cfg: segmentation parameters.
        memo: see :func:`segment_article`.

    Returns:
        Paragraphs in article order, indexed from 0.

    >>> text = "- A heading that runs to ten words in all here\\n" + "word " * 10 + "end."
    >>> [(p.index, p.is_short) for p in split_paragraphs("a", text, SegmentConfig())]
    [(0, True), (1, False)]
    """
    return [Paragraph(article_id, i, raw, *done) for i, (raw, done) in enumerate(segment_article(text, cfg, memo))]


__all__ = ["Segment", "SegmentMemo", "segment_article", "split_paragraphs", "split_segments", "split_sentences"]
