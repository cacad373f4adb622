"""Reference pipeline written plainly with datasketch, for benchmarks/perf.py to compare against.

Same paragraphs as dedup (its segmenter, long segments only), then: one ``datasketch.MinHash`` per
paragraph over word 3-gram shingles (datasketch's default SHA-1 hashing), ``MinHashLSH`` insert and
query with dedup's bands x rows, rapidfuzz verification with dedup's paragraph scorer and threshold,
and union-find over verified pairs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedup.cli import build_config  # noqa: E402
from dedup.cluster import UnionFind  # noqa: E402
from dedup.ingest import discover_files, read_file  # noqa: E402
from dedup.segment import split_paragraphs  # noqa: E402


def reference_run(folder: Path) -> dict[str, object]:
    """Run the plain pipeline; returns timings, counts and the verified pairs of paragraph texts."""
    cfg = build_config(workers=1)
    t0 = time.perf_counter()
    texts: list[str] = []
    seen: dict[str, int] = {}
    for rel in discover_files(folder):
        for article in read_file(folder, rel, cfg.ingest).articles:
            for p in split_paragraphs(article.id, article.text, cfg.segment):
                if not p.is_short and p.norm not in seen:
                    seen[p.norm] = len(texts)
                    texts.append(p.norm)
    t_read = time.perf_counter()
    lsh = MinHashLSH(num_perm=cfg.lsh.num_perm, params=(cfg.lsh.band_count, cfg.lsh.row_count))
    sketches = []
    for i, text in enumerate(texts):
        words = text.split()
        m = MinHash(num_perm=cfg.lsh.num_perm, seed=cfg.lsh.seed)
        m.update_batch([" ".join(words[k : k + 3]).encode() for k in range(max(1, len(words) - 2))])
        sketches.append(m)
        lsh.insert(i, m)
    t_sketch = time.perf_counter()
    candidates = set()
    for i, m in enumerate(sketches):
        for j in lsh.query(m):
            if j != i:
                candidates.add((min(i, j), max(i, j)))
    t_query = time.perf_counter()
    verified = set()
    cutoff = cfg.verify.min_similarity * 100
    for a, b in candidates:
        score = max(fuzz.ratio(texts[a], texts[b]), fuzz.token_sort_ratio(texts[a], texts[b]))
        if score >= cutoff:
            verified.add((texts[a], texts[b]) if texts[a] < texts[b] else (texts[b], texts[a]))
    t_verify = time.perf_counter()
    uf = UnionFind(len(texts))
    for a, b in verified:
        uf.union(seen[a], seen[b])
    groups = len(set(uf.labels().tolist()))
    t_end = time.perf_counter()
    return {
        "paragraphs": len(texts),
        "candidates": len(candidates),
        "verified": verified,
        "groups": groups,
        "seconds": {
            "read": t_read - t0,
            "minhash_insert": t_sketch - t_read,
            "query": t_query - t_sketch,
            "verify": t_verify - t_query,
            "cluster": t_end - t_verify,
            "total": t_end - t0,
        },
    }


if __name__ == "__main__":
    out = reference_run(Path(sys.argv[1]))
    out.pop("verified")
    print(out)
