"""Batch widths rounded to few distinct shapes."""

import pytest

from docqa.shapes import PAD_TO_MULTIPLE_OF, padded_width

pytestmark = pytest.mark.unit


def test_widths_round_up_to_the_multiple_within_the_model_limit():
    assert PAD_TO_MULTIPLE_OF == 16
    assert [padded_width(n) for n in (1, 15, 16, 17, 200, 383)] == [16, 16, 16, 32, 208, 384]
    assert padded_width(370, limit=380) == 380
    assert padded_width(64, limit=64) == 64
    assert padded_width(70, limit=64) == 70, "a longer row than the limit is never cut by the padding"


def test_lengths_from_one_to_384_give_24_widths():
    assert len({padded_width(n, limit=384) for n in range(1, 385)}) == 24
