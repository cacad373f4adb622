"""Cut an article into paragraphs and mark the short segments that must never be indexed."""

from __future__ import annotations

import re

from dedup.config import SegmentConfig
from dedup.normalize import normalize_text
from dedup.records import Paragraph

_BULLET = re.compile(r"^\s*(?:[-*+•·▪►‣◦]|\d{1,3}[.)]|#{1,6})\s+")
_SENTENCE_END = re.compile(r"[.!?:;\"')\]]\s*$")
_PROSE_END = re.compile(r"[.!?…\"'”’)]\s*$")


def _looks_hard_wrapped(lines: list[str]) -> bool:
    """True when the text is wrapped at a fixed width (most lines short, none very long)."""
    lengths = sorted(len(line) for line in lines if line.strip())
    if len(lengths) < 3:
        return False
    return lengths[int(0.9 * (len(lengths) - 1))] <= 100


def split_segments(text: str) -> list[str]:
    """Split raw text into segments: one per line, re-joining lines of hard-wrapped paragraphs.

    Paragraph boundaries are blank lines and line breaks (scraped text usually keeps one paragraph
    per line). When the whole text is hard-wrapped (90 % of lines at most 100 characters), a line
    that does not end a sentence and is followed by a line starting in lower case is joined to it.

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
    wrapped = _looks_hard_wrapped(lines)
    segments: list[str] = []
    joinable = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            joinable = False
            continue
        if joinable and stripped[:1].islower() and not _BULLET.match(line):
            segments[-1] = f"{segments[-1]} {stripped}"
        else:
            segments.append(stripped)
        joinable = wrapped and len(stripped) >= 30 and not _SENTENCE_END.search(stripped)
    return segments


def split_paragraphs(article_id: str, text: str, cfg: SegmentConfig) -> list[Paragraph]:
    """Segment and normalise one article.

    Bullet and heading markers (``-``, ``*``, ``1.``, ``#``) are removed before normalising, so a
    bullet item and the heading it repeats normalise to the same text. A segment is *short*
    (``is_short=True``) when it has fewer than ``cfg.min_words`` words, or fewer than twice that and
    looks like a heading or list item: it starts with a bullet/heading marker or does not end like a
    sentence. Short segments count in the article's length but are never fingerprinted or matched,
    so a shared table of contents cannot make two articles alike. Segments with no word are dropped.

    Args:
        article_id: the article's path (or ``file.jsonl#id``).
        text: raw text.
        cfg: segmentation parameters.

    Returns:
        Paragraphs in article order, indexed from 0.

    >>> text = "- A heading that runs to ten words in all here\\n" + "word " * 10 + "end."
    >>> [(p.index, p.is_short) for p in split_paragraphs("a", text, SegmentConfig())]
    [(0, True), (1, False)]
    """
    paragraphs: list[Paragraph] = []
    for raw in split_segments(text):
        norm = normalize_text(_BULLET.sub("", raw, count=1))
        if not norm:
            continue
        words = norm.count(" ") + 1
        heading_like = bool(_BULLET.match(raw)) or not _PROSE_END.search(raw)
        paragraphs.append(
            Paragraph(
                article_id=article_id,
                index=len(paragraphs),
                text=raw,
                norm=norm,
                words=words,
                is_short=words < cfg.min_words or (heading_like and words < 2 * cfg.min_words),
            )
        )
    return paragraphs


__all__ = ["split_paragraphs", "split_segments"]
