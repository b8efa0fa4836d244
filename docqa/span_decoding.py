"""Vectorised, banded decoding of extractive-QA logits into answer spans (SQuAD 2.0 rules).

A span (start ``i``, end ``j``) of a window scores ``start_logits[i] + end_logits[j]``; it is valid when
``i <= j < i + max_answer_length`` and both tokens lie in the passage part of the window. Only the band
``(windows, tokens, max_answer_length)`` of the ``tokens x tokens`` matrix is ever built. The null (no-answer)
score of a window is ``start_logits[0] + end_logits[0]`` (the CLS / ``<s>`` token).

Everything runs on the logits' device with no host synchronisation.
"""

import torch


def context_mask(context_start: torch.Tensor, context_end: torch.Tensor, width: int) -> torch.Tensor:
    """
    Mask of the passage tokens of each window.

    :param context_start: index of the first passage token of each window, shape ``(B,)``.
    :param context_end: index one past the last passage token of each window, shape ``(B,)``.
    :param width: padded length of the windows.
    :returns: boolean tensor ``(B, width)``.
    """
    positions = torch.arange(width, device=context_start.device)
    return (positions >= context_start[:, None]) & (positions < context_end[:, None])


def band_scores(
    start_logits: torch.Tensor, end_logits: torch.Tensor, mask: torch.Tensor, max_answer_length: int
) -> torch.Tensor:
    """
    Scores of every valid span as a band: ``scores[b, i, k]`` is the span from token ``i`` to token ``i + k``.

    :param start_logits: ``(B, T)`` start logits.
    :param end_logits: ``(B, T)`` end logits.
    :param mask: ``(B, T)`` boolean, True on passage tokens (assumed contiguous per window).
    :param max_answer_length: longest span in tokens (>= 1).
    :returns: float32 ``(B, T, L)`` with ``L = min(max_answer_length, T)``; invalid spans are ``-inf``.
    """
    batch, width = start_logits.shape
    band = max(1, min(max_answer_length, width))
    neg_inf = torch.tensor(float("-inf"), device=start_logits.device)
    start = torch.where(mask, start_logits.float(), neg_inf)
    end = torch.where(mask, end_logits.float(), neg_inf)
    end = torch.cat([end, neg_inf.expand(batch, band - 1)], dim=1)
    return start[:, :, None] + end.unfold(1, band, 1)


def top_spans(
    start_logits: torch.Tensor, end_logits: torch.Tensor, mask: torch.Tensor, max_answer_length: int, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    The ``k`` best spans of each window, best first.

    :returns: ``(scores, starts, ends)``, each ``(B, k)``; a window with fewer than ``k`` valid spans fills the rest
        with ``-inf`` scores (drop those; their indices are meaningless).
    """
    scores = band_scores(start_logits, end_logits, mask, max_answer_length)
    band = scores.shape[-1]
    flat = scores.flatten(1)
    if flat.shape[1] < k:
        flat = torch.nn.functional.pad(flat, (0, k - flat.shape[1]), value=float("-inf"))
    values, index = torch.topk(flat, k, dim=1)
    starts = torch.div(index, band, rounding_mode="floor")
    return values, starts, starts + index % band


def null_scores(start_logits: torch.Tensor, end_logits: torch.Tensor) -> torch.Tensor:
    """The no-answer score of each window: start + end logit of its first token, float32 ``(B,)``."""
    return start_logits[:, 0].float() + end_logits[:, 0].float()


def no_answer_wins(min_null: float, best_span: float, threshold: float) -> bool:
    """SQuAD 2.0 decision: no answer when the lowest null score beats the best span by more than ``threshold``."""
    return min_null - best_span > threshold
