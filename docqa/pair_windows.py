"""The reader's (question, passage) windows, built from each text's tokens instead of tokenising every pair.

A reader sees the same passages with many questions (a batch over one corpus) and the same question with several
passages, and tokenising a passage costs tens of times more than placing its tokens into a window. So each
distinct text is tokenised once, and every window is assembled the way the fast tokenizer's pair encoding with
``only_second`` truncation and a stride lays it out: special tokens around the question and a piece of the passage,
pieces ``max_length - stride`` tokens apart. :meth:`PairLayout.probe` reads that layout off the tokenizer and only
returns it when the assembled windows equal the tokenizer's own on probe pairs; otherwise the reader tokenises pairs.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

# Probe pairs: a short one, one with a passage several windows long, and texts that byte-level and WordPiece
# tokenizers split and normalise differently (accents, symbols, apostrophes, spaces, emoji).
_PROBE_PASSAGE = (
    "Zoë's café in São Paulo served naïve résumés — 42 km/h, «quoted» text,  double  spaces, 3.5% and 😀 too. "
)
_PROBE_PAIRS = (
    ("a", "b"),
    ("Who served résumés at the café?", _PROBE_PASSAGE * 40),
    ("What's   the speed, in km/h, of Zoë's naïve text?", _PROBE_PASSAGE * 3 + "end"),
)


@dataclass(frozen=True)
class PairLayout:
    """Special tokens (ids and type ids) before the question, between question and passage, and after the passage."""

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    prefix_types: tuple[int, ...]
    question_type: int
    middle_types: tuple[int, ...]
    passage_type: int
    suffix_types: tuple[int, ...]

    @property
    def added_tokens(self) -> int:
        """Special tokens in one window."""
        return len(self.prefix) + len(self.middle) + len(self.suffix)

    @classmethod
    def read(cls, pair_tokenizer: Any) -> "PairLayout | None":
        """The layout of ``pair_tokenizer``'s pair encodings, or None when it is not special tokens around two texts."""
        encoding = pair_tokenizer.encode("a", "b", add_special_tokens=True)
        sequences = encoding.sequence_ids
        if sequences.count(0) < 1 or sequences.count(1) < 1:
            return None
        question = [i for i, s in enumerate(sequences) if s == 0]
        passage = [i for i, s in enumerate(sequences) if s == 1]
        prefix, middle, suffix = (
            range(question[0]),
            range(question[-1] + 1, passage[0]),
            range(passage[-1] + 1, len(sequences)),
        )
        if any(sequences[i] is not None for part in (prefix, middle, suffix) for i in part):
            return None
        ids, types = encoding.ids, encoding.type_ids
        return cls(
            prefix=tuple(ids[i] for i in prefix),
            middle=tuple(ids[i] for i in middle),
            suffix=tuple(ids[i] for i in suffix),
            prefix_types=tuple(types[i] for i in prefix),
            question_type=types[question[0]],
            middle_types=tuple(types[i] for i in middle),
            passage_type=types[passage[0]],
            suffix_types=tuple(types[i] for i in suffix),
        )

    @classmethod
    def probe(cls, pair_tokenizer: Any, text_tokenizer: Any, max_length: int, stride: int) -> "PairLayout | None":
        """
        :meth:`read`, kept only when the windows it assembles equal ``pair_tokenizer``'s on the probe pairs.

        :param pair_tokenizer: a ``tokenizers.Tokenizer`` with ``only_second`` truncation to ``max_length`` tokens
            and ``stride``.
        :param text_tokenizer: the same tokenizer without truncation, which tokenises the texts alone.
        """
        layout = cls.read(pair_tokenizer)
        if layout is None:
            return None
        probed = 0
        for question, passage in _PROBE_PAIRS:
            question_ids = np.asarray(text_tokenizer.encode(question, add_special_tokens=False).ids, dtype=np.int64)
            passage_encoding = text_tokenizer.encode(passage, add_special_tokens=False)
            passage_ids = np.asarray(passage_encoding.ids, dtype=np.int64)
            offsets = passage_encoding.offsets
            ranges = piece_ranges(len(question_ids), len(passage_ids), layout.added_tokens, max_length, stride)
            if ranges is None:  # too long a question for these windows (the tokenizer would panic)
                continue
            first = pair_tokenizer.encode(question, passage, add_special_tokens=True)
            expected = [
                (e.ids, e.type_ids, _context(e.sequence_ids), e.offsets)
                for e in [first, *first.overflowing]
                if 1 in e.sequence_ids
            ]
            if len(ranges) != len(expected):
                return None
            probed += len(expected) > 1
            for (start, stop), (ids, types, (context_start, context_end), window_offsets) in zip(
                ranges, expected, strict=True
            ):
                got = layout.window_ids(question_ids, passage_ids[start:stop])
                if (
                    got.tolist() != ids
                    or layout.window_type_ids(len(question_ids), stop - start).tolist() != types
                    or layout.context_start(len(question_ids)) != context_start
                    or context_start + stop - start != context_end
                    or offsets[start:stop] != window_offsets[context_start:context_end]
                ):
                    return None
        return layout if probed else None

    def context_start(self, question_tokens: int) -> int:
        """Index of the first passage token in a window."""
        return len(self.prefix) + question_tokens + len(self.middle)

    def window_ids(self, question_ids: np.ndarray, piece_ids: np.ndarray) -> np.ndarray:
        """Token ids of the window of ``question_ids`` with the passage piece ``piece_ids``."""
        prefix, middle, suffix = self._special_ids
        return np.concatenate([prefix, question_ids, middle, piece_ids, suffix])

    def window_type_ids(self, question_tokens: int, piece_tokens: int) -> np.ndarray:
        """Token type ids of a window with that many question and passage tokens."""
        prefix, middle, suffix = self._special_types
        question = np.full(question_tokens, self.question_type, dtype=np.int64)
        return np.concatenate([prefix, question, middle, np.full(piece_tokens, self.passage_type), suffix])

    @cached_property
    def _special_ids(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.asarray(part, dtype=np.int64) for part in (self.prefix, self.middle, self.suffix))

    @cached_property
    def _special_types(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = (self.prefix_types, self.middle_types, self.suffix_types)
        return tuple(np.asarray(part, dtype=np.int64) for part in parts)


def piece_ranges(
    question_tokens: int, passage_tokens: int, added_tokens: int, max_length: int, stride: int
) -> list[tuple[int, int]] | None:
    """
    The passage token ranges ``[start, stop)`` of a pair's windows, as the fast tokenizer cuts them with
    ``only_second`` truncation to ``max_length`` tokens and ``stride`` (right side).

    :returns: the ranges, in order; None where the tokenizer refuses the pair (the question leaves no room for the
        passage, or no room beyond the stride).
    """
    overflow = question_tokens + passage_tokens + added_tokens - max_length
    if overflow <= 0:
        return [(0, passage_tokens)]
    piece = passage_tokens - overflow
    if piece <= 0 or stride >= piece:
        return None
    return list(_pieces(passage_tokens, piece, piece - stride))


def _pieces(length: int, piece: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, length, step):
        stop = min(start + piece, length)
        yield start, stop
        if stop == length:
            return


def _context(sequence_ids: list[int | None]) -> tuple[int, int]:
    return sequence_ids.index(1), len(sequence_ids) - sequence_ids[::-1].index(1)
