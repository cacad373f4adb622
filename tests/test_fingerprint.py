"""The numpy-batched MinHash must agree bit for bit with datasketch."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from dedup.config import LshConfig, ShingleConfig
from dedup.fingerprint import (
    blake2_word_hash,
    permutations,
    shingle_hash,
    shingle_hashes,
    signature_jaccard,
    signatures,
)

TEXTS = [
    "kratom a plant native to southeast asia has garnered attention in the realm of chronic pain",
    "the quick brown fox",
    "two words",
    "one",
    " ".join(f"w{i}" for i in range(500)),
]


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42)])
@pytest.mark.parametrize("size", [1, 3, 5])
def test_agrees_with_datasketch_on_shingle_hashes(num_perm: int, seed: int, size: int) -> None:
    shingle, lsh = ShingleConfig(size), LshConfig(num_perm=num_perm, seed=seed)
    batch = signatures(TEXTS, shingle, lsh)
    assert batch.shape == (len(TEXTS), num_perm)
    assert batch.dtype == np.uint32
    for text, row in zip(TEXTS, batch, strict=True):
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: x)
        reference.update_batch(shingle_hashes(text, shingle))
        assert np.array_equal(reference.hashvalues, row)


def test_agrees_with_datasketch_hashing_shingle_tuples() -> None:
    """datasketch hashing the shingle tuples itself (hashfunc = our shingle hash) gives the same."""
    shingle, lsh = ShingleConfig(3), LshConfig()
    (row,) = signatures([TEXTS[0]], shingle, lsh)
    words = TEXTS[0].split()
    m = MinHash(num_perm=128, seed=1, hashfunc=lambda ws: shingle_hash([blake2_word_hash(w) for w in ws]))
    for i in range(len(words) - 2):
        m.update(tuple(words[i : i + 3]))
    assert np.array_equal(m.hashvalues, row)


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42), (1, 0)])
def test_permutations_are_datasketch_affine32(num_perm: int, seed: int) -> None:
    a, b = permutations(num_perm, seed)
    ref = MinHash(num_perm=num_perm, seed=seed)
    assert ref.scheme == "affine32"
    assert a.dtype == b.dtype == np.uint32
    assert np.array_equal(a, ref.permutations[0])
    assert np.array_equal(b, ref.permutations[1])


def test_injected_identity_word_hash() -> None:
    shingle, lsh = ShingleConfig(1), LshConfig(num_perm=16)
    (row,) = signatures(["3 1 2"], shingle, lsh, hashfunc=int)
    reference = MinHash(num_perm=16, hashfunc=lambda x: x)
    reference.update_batch([shingle_hash([3]), shingle_hash([1]), shingle_hash([2])])
    assert np.array_equal(reference.hashvalues, row)


def test_order_of_paragraphs_does_not_change_rows() -> None:
    shingle, lsh = ShingleConfig(), LshConfig()
    forward = signatures(TEXTS, shingle, lsh)
    backward = signatures(TEXTS[::-1], shingle, lsh)
    assert np.array_equal(forward, backward[::-1])


def test_large_batch_spans_blocks() -> None:
    texts = [" ".join(f"t{(i * 7 + j) % 997}" for j in range(300)) for i in range(300)]
    shingle, lsh = ShingleConfig(), LshConfig()
    batch = signatures(texts, shingle, lsh)
    for i in (0, 150, 299):
        reference = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x)
        reference.update_batch(shingle_hashes(texts[i], shingle))
        assert np.array_equal(reference.hashvalues, batch[i])


def test_identical_texts_estimate_one_and_disjoint_near_zero() -> None:
    shingle, lsh = ShingleConfig(), LshConfig()
    s = signatures(["alpha beta gamma delta", "alpha beta gamma delta", "one two three four five"], shingle, lsh)
    est = signature_jaccard(s[[0, 0]], s[[1, 2]])
    assert est[0] == 1.0
    assert est[1] < 0.05


def test_empty_paragraph_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        signatures(["ok text", ""], ShingleConfig(), LshConfig())


def test_no_paragraphs() -> None:
    assert signatures([], ShingleConfig(), LshConfig()).shape == (0, 128)


def test_fingerprint_sentences_paragraphs_and_shingle_sets() -> None:
    """Sentence rows, paragraph rows (= union of sentences) and exact shingle sets all agree with datasketch."""
    from dedup.fingerprint import fingerprint

    shingle, lsh = ShingleConfig(3), LshConfig()
    paragraphs = [
        ["kratom a plant native to southeast asia", "it has garnered attention in the realm of pain"],
        ["one short"],
        [f"word{i} word{i + 1} word{i + 2} word{i + 3}" for i in range(40)],
    ]
    fp = fingerprint(paragraphs, shingle, lsh)
    assert fp.sentence_sigs.shape == (43, 128)
    assert fp.paragraph_sigs.shape == (3, 128)
    assert fp.sentence_start.tolist() == [0, 2, 3, 43]
    for p, sentences in enumerate(paragraphs):
        hashes = [h for s in sentences for h in shingle_hashes(s, shingle)]
        whole = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x)
        whole.update_batch(hashes)
        assert np.array_equal(whole.hashvalues, fp.paragraph_sigs[p])
        got = fp.shingles[fp.shingle_start[p] : fp.shingle_start[p + 1]]
        assert got.tolist() == sorted(set(hashes))
        for k, s in enumerate(sentences):
            one = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x)
            one.update_batch(shingle_hashes(s, shingle))
            assert np.array_equal(one.hashvalues, fp.sentence_sigs[fp.sentence_start[p] + k])
    rows = np.array([2, 0, 2])
    sub = fp.select(rows)
    assert sub.sentence_start.tolist() == [0, 40, 42, 82]
    assert np.array_equal(sub.paragraph_sigs, fp.paragraph_sigs[rows])
    for i, p in enumerate(rows.tolist()):
        assert np.array_equal(
            sub.shingles[sub.shingle_start[i] : sub.shingle_start[i + 1]],
            fp.shingles[fp.shingle_start[p] : fp.shingle_start[p + 1]],
        )
        for k in range(sub.sentence_start[i + 1] - sub.sentence_start[i]):
            s_new, s_old = sub.sentence_start[i] + k, fp.sentence_start[p] + k
            assert np.array_equal(sub.sentence_sigs[s_new], fp.sentence_sigs[s_old])
            new = sub.sentence_shingles[sub.sentence_shingle_start[s_new] : sub.sentence_shingle_start[s_new + 1]]
            old = fp.sentence_shingles[fp.sentence_shingle_start[s_old] : fp.sentence_shingle_start[s_old + 1]]
            assert np.array_equal(new, old)


def test_fingerprint_without_sentence_signatures_keeps_everything_else() -> None:
    from dedup.fingerprint import fingerprint

    paragraphs = [["a b c d e", "f g h i j"], ["a b c d e"], [f"w{i} w{i + 1} w{i + 2}" for i in range(12)]]
    full = fingerprint(paragraphs, ShingleConfig(3), LshConfig())
    lean = fingerprint(paragraphs, ShingleConfig(3), LshConfig(), sentence_sigs=False)
    assert lean.sentence_sigs.shape == (15, 0)
    for name in lean.__dataclass_fields__:
        if name != "sentence_sigs":
            assert np.array_equal(getattr(lean, name), getattr(full, name)), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minimum_of_runs_is_reduceat_over_gathered_rows(seed: int) -> None:
    from dedup.fingerprint import minimum_of_runs

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 1 << 32, size=(50, 16), dtype=np.uint32)
    counts = rng.integers(1, 9, size=40)
    counts[rng.integers(0, 40, size=3)] = 30  # a few long runs
    starts = np.concatenate(([0], np.cumsum(counts)))
    index = rng.integers(0, 50, size=int(starts[-1]))
    expected = np.minimum.reduceat(values[index], starts[:-1], axis=0)
    assert np.array_equal(minimum_of_runs(values, index, starts), expected)
    with_empty = np.insert(starts, 5, starts[5])  # an empty run: the MinHash of nothing
    got = minimum_of_runs(values, index, with_empty)
    assert (got[5] == np.iinfo(np.uint32).max).all()
    assert np.array_equal(np.delete(got, 5, axis=0), expected)


@pytest.mark.parametrize("max_rows", [3, 5, 5000])
def test_sentence_memo_gives_the_rows_it_would_compute(max_rows: int) -> None:
    """Batches that repeat sentences of earlier batches, and batches that overflow the memo, get
    exactly the table computed from scratch; the memo keeps at most ``max_rows`` sentences."""
    from dedup.fingerprint import SentenceMemo, sentence_table
    from dedup.pipeline import text_key

    shingle, lsh = ShingleConfig(3), LshConfig(num_perm=64)
    pool = [f"sentence {i} has words {i % 3} and more {i * 7}" for i in range(8)] + ["one", "two words"]
    # Long sentences: more shingles than the memo reserves for them at first, so its buffer grows.
    pool += [" ".join(f"filler{i} w{j}" for j in range(20)) for i in range(3000)]
    batches = [[0, 1, 2], [2, 3, 0], [4, 5, 6, 7], [9, 1, 8, 0], [3], list(range(6, 3010)), [0, 1, 2, 3, 4, 5]]
    memo = SentenceMemo(shingle, lsh, text_key, max_rows=max_rows)
    for batch in batches:
        sentences = [pool[i] for i in batch]
        (got, keys), want = memo.table(sentences), sentence_table(sentences, shingle, lsh)
        assert keys.tolist() == [text_key(t) for t in sentences]
        assert np.array_equal(got.sigs, want.sigs)
        assert np.array_equal(got.sets, want.sets)
        assert np.array_equal(got.set_start, want.set_start)
        assert len(memo.row) <= max_rows
    assert (len(memo.row) == 3010) == (max_rows == 5000)


@pytest.mark.parametrize("width", [7, 8, 24, 40, 128, 136, 248, 256])
def test_equal_counts_matches_count_nonzero(width: int) -> None:
    """The word-sum count of equal values agrees with numpy's count_nonzero for every width and dtype."""
    from dedup.fingerprint import equal_counts

    rng = np.random.default_rng(width)
    a, b = rng.integers(0, 3, (300, width)), rng.integers(0, 3, (300, width))
    want = np.count_nonzero(a == b, axis=1)
    for dtype in (np.uint8, np.uint32):
        assert np.array_equal(equal_counts(a.astype(dtype), b.astype(dtype)), want)
    assert np.array_equal(equal_counts(a[:, :width] == 1, b == 1), np.count_nonzero((a == 1) == (b == 1), axis=1))
