"""Detection quality on real labelled corpora (and the generated one), against a document-level baseline.

    python benchmarks/quality.py --data ../shared/datasets

Builds the ground truth of each corpus (written to ``benchmarks/results/truth/``), runs ``dedup`` with
DEFAULT settings and, in the same run, a plain document-level MinHash baseline (datasketch, word
3-grams, MinHashLSH threshold 0.3, union-find over LSH neighbours whose estimated Jaccard reaches the
threshold). Writes ``benchmarks/results/quality.json``; ``benchmarks/render.py`` turns it into the
README table.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from datasketch import MinHash, MinHashLSH

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.generate import write_corpus  # noqa: E402
from dedup.cli import build_config  # noqa: E402
from dedup.cluster import UnionFind  # noqa: E402
from dedup.evaluate import adjusted_rand_index, pairwise_scores  # noqa: E402
from dedup.ingest import discover_files, read_file  # noqa: E402
from dedup.normalize import normalize_text  # noqa: E402
from dedup.pipeline import analyse, match_corpus  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


# --------------------------------------------------------------------------- ground truth


def wiki_truth(folder: Path) -> dict[str, str]:
    """Every revision of one article is one cluster: ``Title/k.txt -> Title``."""
    return {p: p.split("/")[0] for p in discover_files(folder) if p.endswith(".txt")}


def clough_labels(root: Path) -> dict[str, tuple[str, str]]:
    """``file -> (task, category)`` including the five originals."""
    labels: dict[str, tuple[str, str]] = {}
    with (root / "labels.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            labels[row["File"]] = (row["Task"], row["Category"])
    for task in "abcde":
        labels[f"orig_task{task}.txt"] = (task, "orig")
    return labels


def clough_truth(labels: dict[str, tuple[str, str]], reading: str) -> dict[str, str]:
    """near_dup: orig+cut+light of a task form a cluster; derived: heavy joins them. Others: singletons."""
    members = {"near_dup": {"orig", "cut", "light"}, "derived": {"orig", "cut", "light", "heavy"}}[reading]
    return {f: (f"task_{task}" if cat in members else f"single_{f}") for f, (task, cat) in labels.items()}


# --------------------------------------------------------------------------- baseline


def baseline_clusters(folder: Path, threshold: float = 0.3, num_perm: int = 128) -> tuple[dict[str, str], float]:
    """Document-level MinHash: word 3-grams of the whole text, LSH at ``threshold``, union-find."""
    t0 = time.perf_counter()
    paths, sketches = [], []
    cfg = build_config().ingest
    for rel in discover_files(folder):
        for article in read_file(folder, rel, cfg).articles:
            words = normalize_text(article.text).split()
            m = MinHash(num_perm=num_perm)
            m.update_batch([" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))])
            paths.append(article.id)
            sketches.append(m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, m in enumerate(sketches):
        lsh.insert(str(i), m)
    uf = UnionFind(len(paths))
    for i, m in enumerate(sketches):
        for key in lsh.query(m):
            j = int(key)
            if j != i and m.jaccard(sketches[j]) >= threshold:
                uf.union(i, j)
    labels = uf.labels()
    sizes = defaultdict(int)
    for label in labels:
        sizes[int(label)] += 1
    out = {p: (f"b{int(label)}" if sizes[int(label)] > 1 else "") for p, label in zip(paths, labels, strict=True)}
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------- scoring


def score(truth: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    universe = {p: c for p, c in truth.items()}
    s = pairwise_scores(universe, predicted)
    return {
        "ari": round(adjusted_rand_index(universe, predicted), 4),
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
        "f1": round(s.f1, 4),
    }


def clough_categories(labels: dict[str, tuple[str, str]], predicted: dict[str, str]) -> dict[str, float]:
    """Per-category recall (clustered with the task's original) and the share of `non` left alone."""
    orig_label = {task: predicted.get(f"orig_task{task}.txt", "") for task in "abcde"}
    hits: dict[str, list[bool]] = defaultdict(list)
    for f, (task, cat) in labels.items():
        if cat == "orig":
            continue
        label = predicted.get(f, "")
        hits[cat].append(bool(label) and label == orig_label[task])
        if cat == "non":
            hits["non_unclustered"].append(not label)
    out = {f"recall_{c}": round(sum(h) / len(h), 4) for c, h in hits.items() if c in ("cut", "light", "heavy")}
    out["non_clustered_with_source"] = round(sum(hits["non"]) / len(hits["non"]), 4)
    out["non_unclustered"] = round(sum(hits["non_unclustered"]) / len(hits["non_unclustered"]), 4)
    return out


# A lower --shingle-containment, shown beside the defaults (see README: what it finds, and what it
# merges in small template-heavy corpora).
LOW_SHINGLE = 0.2
LOW_KEY = "dedup_shingle_containment_0.2"


VARIANTS: dict[str, dict[str, object]] = {
    "dedup": {},
    "dedup_single_linkage": {"linkage": "single"},
    LOW_KEY: {"shingle_containment": LOW_SHINGLE},
}


def run_dedup(folder: Path, variants: dict[str, dict[str, object]]) -> dict[str, tuple[dict[str, str], float, dict]]:
    """Cluster ids per article for each variant: the folder is read and matched once, then analysed
    with each variant's options (they are clustering options, the only ones the analysis reads).

    Returns:
        Per variant: predicted clusters, seconds (matching plus that variant's analysis: what a
        ``dedup scan`` with those options costs), and the run's stats.
    """
    default = build_config()
    t0 = time.perf_counter()
    corpus, edges, stats = match_corpus(folder, default)
    matched = time.perf_counter() - t0
    out = {}
    for name, options in variants.items():
        cfg = build_config(**options)
        if dataclasses.replace(cfg, cluster=default.cluster) != default:
            raise ValueError(f"variant {name} changes more than the clustering options")
        t0 = time.perf_counter()
        result = analyse(corpus, edges, cfg, copy.deepcopy(stats))
        predicted = {a.path: a.cluster_id for a in result.articles}
        out[name] = (predicted, matched + time.perf_counter() - t0, result.stats.to_dict())
    return out


def write_truth(name: str, truth: dict[str, str]) -> Path:
    path = RESULTS / "truth" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["path", "cluster"])
        w.writerows(sorted(truth.items()))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared datasets folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"settings": "dedup defaults", "baseline": "document MinHash, word 3-grams, t=0.3"}

    wiki = args.data / "wiki_versions" / "documents"
    truth = wiki_truth(wiki)
    write_truth("wiki_versions", truth)
    runs = run_dedup(wiki, VARIANTS)
    (pred, secs, stats), (single, _, _), (low, _, _) = (runs[name] for name in VARIANTS)
    base, base_secs = baseline_clusters(wiki)
    report["wiki_versions"] = {
        "documents": len(truth),
        "dedup": {**score(truth, pred), "seconds": round(secs, 2), "clusters": stats["clusters"]},
        "dedup_single_linkage": score(truth, single),
        LOW_KEY: score(truth, low),
        "baseline": {**score(truth, base), "seconds": round(base_secs, 2)},
    }
    print("wiki_versions", json.dumps(report["wiki_versions"]))

    clough = args.data / "clough_stevenson_2011"
    labels = clough_labels(clough)
    docs = clough / "corpus-20090418"
    clough_runs = run_dedup(docs, VARIANTS)
    (pred, secs, stats), (single, _, _), (low, _, _) = (clough_runs[name] for name in VARIANTS)
    base, base_secs = baseline_clusters(docs)
    entry: dict[str, object] = {"documents": len(labels)}
    runs = {"dedup": pred, "dedup_single_linkage": single, LOW_KEY: low, "baseline": base}
    for reading in ("near_dup", "derived"):
        truth = clough_truth(labels, reading)
        write_truth(f"clough_{reading}", truth)
        entry[reading] = {name: score(truth, p) for name, p in runs.items()}
    # near_dup with the heavy revisions left out of the pair counts (neither positives nor negatives).
    truth = {f: c for f, c in clough_truth(labels, "near_dup").items() if labels[f][1] != "heavy"}
    entry["near_dup_without_heavy"] = {
        name: score(truth, {f: c for f, c in p.items() if f in truth}) for name, p in runs.items()
    }
    entry["categories"] = {name: clough_categories(labels, p) for name, p in runs.items()}
    entry["seconds"] = {"dedup": round(secs, 2), "baseline": round(base_secs, 2)}
    report["clough_stevenson_2011"] = entry
    print("clough", json.dumps(entry))

    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp), n_articles=3000, seed=1)
        truth = {}
        with (Path(tmp) / "truth.csv").open(newline="", encoding="utf-8") as fh:
            truth = {row["path"]: row["cluster"] for row in csv.DictReader(fh)}
        generated_runs = run_dedup(Path(tmp) / "articles", {"dedup": {}, LOW_KEY: VARIANTS[LOW_KEY]})
        (pred, secs, stats), (low, _, _) = generated_runs["dedup"], generated_runs[LOW_KEY]
        base, base_secs = baseline_clusters(Path(tmp) / "articles")
        report["generated_seo"] = {
            "documents": len(truth),
            "generator": "corpus.generate seed=1 articles=3000",
            "dedup": {**score(truth, pred), "seconds": round(secs, 2)},
            LOW_KEY: score(truth, low),
            "baseline": {**score(truth, base), "seconds": round(base_secs, 2)},
        }
    print("generated", json.dumps(report["generated_seo"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
