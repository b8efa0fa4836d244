"""Banded span decoding against a brute-force reference over every (start, end) pair."""

import random

import pytest
import torch
from haystack import Document

from docqa import span_decoding
from docqa.components.reader import ExtractiveReader

pytestmark = pytest.mark.unit


def brute_force(start, end, lo, hi, max_answer_length):
    """All valid (score, start, end) of one window, best first, in plain Python."""
    spans = [
        (start[i] + end[j], i, j)
        for i in range(len(start))
        for j in range(len(end))
        if lo <= i <= j < hi and j - i < max_answer_length
    ]
    return sorted(spans, reverse=True)


def decode(start, end, lo, hi, max_answer_length, k):
    mask = span_decoding.context_mask(lo, hi, start.shape[1])
    return span_decoding.top_spans(start, end, mask, max_answer_length, k)


def question_decision(windows, max_answer_length, threshold):
    """Reference SQuAD 2.0 decision over all windows of one question: (no_answer, best span (window, i, j))."""
    best = max(
        (
            (spans[0][0], w, spans[0][1], spans[0][2])
            for w, spans in enumerate(brute_force(s, e, lo, hi, max_answer_length) for s, e, lo, hi in windows)
            if spans
        ),
        default=None,
    )
    min_null = min(s[0] + e[0] for s, e, _, _ in windows)
    return span_decoding.no_answer_wins(min_null, best[0], threshold), best[1:]


@pytest.mark.parametrize("seed", range(25))
def test_random_logits_match_brute_force(seed):
    rng = random.Random(seed)
    batch, width = rng.randint(1, 6), rng.randint(2, 70)
    max_answer_length = rng.choice([1, 2, 5, 30, width, width + 10])
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(batch, width, generator=generator) * 3
    end = torch.randn(batch, width, generator=generator) * 3
    lo = torch.tensor([rng.randint(1, width - 1) for _ in range(batch)])
    hi = torch.tensor([rng.randint(int(a), width) for a in lo])  # hi == lo: an empty passage part
    k = rng.randint(1, 12)
    scores, starts, ends = decode(start, end, lo, hi, max_answer_length, k)
    assert scores.shape == starts.shape == ends.shape == (batch, k)
    for b in range(batch):
        reference = brute_force(start[b].tolist(), end[b].tolist(), int(lo[b]), int(hi[b]), max_answer_length)
        got = [
            (float(v), int(i), int(j))
            for v, i, j in zip(scores[b], starts[b], ends[b], strict=True)
            if v != float("-inf")
        ]
        assert [(i, j) for _, i, j in got] == [(i, j) for _, i, j in reference[:k]]
        assert [v for v, _, _ in got] == pytest.approx([v for v, _, _ in reference[:k]], abs=1e-5)
        assert all(0 <= j - i < max_answer_length for _, i, j in got)
    assert span_decoding.null_scores(start, end).tolist() == pytest.approx((start[:, 0] + end[:, 0]).tolist())


@pytest.mark.parametrize("seed", range(20))
def test_question_decision_over_windows_matches_brute_force(seed):
    rng = random.Random(1000 + seed)
    generator = torch.Generator().manual_seed(1000 + seed)
    n_windows, width, max_answer_length = rng.randint(1, 5), rng.randint(40, 130), rng.choice([3, 10, 30])
    start = torch.randn(n_windows, width, generator=generator) * 2
    end = torch.randn(n_windows, width, generator=generator) * 2
    start[:, 0] += rng.uniform(-1, 6)
    end[:, 0] += rng.uniform(-1, 6)
    lo = torch.tensor([rng.randint(1, 15) for _ in range(n_windows)])
    hi = torch.tensor([rng.randint(int(a) + 1, width) for a in lo])
    scores, starts, ends = decode(start, end, lo, hi, max_answer_length, 1)
    nulls = span_decoding.null_scores(start, end)
    windows = [(start[w].tolist(), end[w].tolist(), int(lo[w]), int(hi[w])) for w in range(n_windows)]
    for threshold in (-2.0, 0.0, 1.5):
        expected, (window, i, j) = question_decision(windows, max_answer_length, threshold)
        best_window = int(scores[:, 0].argmax())
        got = span_decoding.no_answer_wins(float(nulls.min()), float(scores[best_window, 0]), threshold)
        assert got == expected
        assert (best_window, int(starts[best_window, 0]), int(ends[best_window, 0])) == (window, i, j)


def test_band_is_not_a_square_matrix():
    start, end = torch.randn(3, 384), torch.randn(3, 384)
    mask = span_decoding.context_mask(torch.tensor([5, 5, 5]), torch.tensor([384, 300, 6]), 384)
    assert span_decoding.band_scores(start, end, mask, 30).shape == (3, 384, 30)


def test_fewer_valid_spans_than_k_are_padded_with_minus_inf():
    start, end = torch.randn(1, 10), torch.randn(1, 10)
    scores, _, _ = decode(start, end, torch.tensor([4]), torch.tensor([6]), 30, 8)
    assert torch.isfinite(scores).sum() == 3  # (4,4), (4,5), (5,5)
    assert torch.isinf(scores[0, 3:]).all()


@pytest.mark.parametrize("model_fixture", ["tiny_roberta_dir", "tiny_bert_dir"])
def test_real_model_outputs_match_brute_force(model_fixture, request):
    """Logits of a tiny model over several windows of long passages: same spans and decision as brute force."""
    reader = ExtractiveReader(
        model=str(request.getfixturevalue(model_fixture)),
        device="cpu",
        max_seq_len=64,
        doc_stride=16,
        max_query_length=16,
        precision="fp32",
    )
    reader.warm_up()
    text = " ".join(
        f"Paragraph {n}: Zürich is the largest city in Switzerland and the river Seine flows through Paris."
        for n in range(12)
    )
    documents = [[Document(content=text), Document(content="Water boils at 100 degrees Celsius.")]]
    windows = reader._preprocess(["Where is the largest city?"], documents)
    assert len(windows) > 4
    batch = list(range(len(windows)))
    inputs, bounds = reader._inputs(windows, batch)
    with torch.inference_mode():
        output = reader._model(**inputs)
    mask = span_decoding.context_mask(bounds[0], bounds[1], inputs["input_ids"].shape[1])
    for max_answer_length in (1, 4, 30):
        scores, starts, ends = span_decoding.top_spans(
            output.start_logits, output.end_logits, mask, max_answer_length, 5
        )
        reference_windows = []
        for w, window in enumerate(windows):
            s, e = output.start_logits[w].tolist(), output.end_logits[w].tolist()
            reference = brute_force(s, e, window.context_start, window.context_end, max_answer_length)
            assert [(int(i), int(j)) for i, j in zip(starts[w], ends[w], strict=True)] == [
                (i, j) for _, i, j in reference[:5]
            ]
            reference_windows.append((s, e, window.context_start, window.context_end))
        nulls = span_decoding.null_scores(output.start_logits, output.end_logits)
        for threshold in (-5.0, 0.0, 5.0):
            expected, _ = question_decision(reference_windows, max_answer_length, threshold)
            assert span_decoding.no_answer_wins(float(nulls.min()), float(scores[:, 0].max()), threshold) == expected
