"""Windows assembled from each text's tokens equal the fast tokenizer's pair encodings, or are not used."""

import pytest
from tokenizers import Tokenizer

from docqa.pair_windows import PairLayout, piece_ranges
from tests.tiny_models import corpus_text

pytestmark = pytest.mark.unit


def tokenizers(model_dir, max_length: int, stride: int) -> tuple[Tokenizer, Tokenizer]:
    """The reader's two tokenizers: pairs truncated ``only_second`` with a stride, and texts alone."""
    pair = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    pair.no_padding()
    pair.enable_truncation(max_length, stride=stride, strategy="only_second")
    text = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    text.no_padding()
    text.no_truncation()
    return pair, text


@pytest.mark.parametrize("model_fixture", ["tiny_roberta_dir", "tiny_bert_dir"])
def test_layout_is_read_off_the_tokenizer(model_fixture, request):
    pair, _ = tokenizers(request.getfixturevalue(model_fixture), 64, 16)
    layout = PairLayout.read(pair)
    special = pair.encode("", add_special_tokens=True).ids  # the single-text template: prefix and suffix only
    if model_fixture == "tiny_roberta_dir":  # <s> A </s></s> B </s>
        assert (len(layout.prefix), len(layout.middle), len(layout.suffix)) == (1, 2, 1)
        assert layout.passage_type == layout.question_type
    else:  # [CLS] A [SEP] B [SEP], the passage with type 1
        assert (len(layout.prefix), len(layout.middle), len(layout.suffix)) == (1, 1, 1)
        assert (layout.question_type, layout.passage_type, layout.suffix_types) == (0, 1, (1,))
    assert [*layout.prefix, *layout.suffix[-1:]] == special
    assert layout.added_tokens == len(layout.prefix) + len(layout.middle) + len(layout.suffix)


@pytest.mark.parametrize("model_fixture", ["tiny_roberta_dir", "tiny_bert_dir"])
def test_windows_equal_the_pair_encodings_at_every_length(model_fixture, request):
    """Passages from 1 token to several windows long, around every boundary where a new window starts."""
    max_length, stride = 40, 8
    pair, text = tokenizers(request.getfixturevalue(model_fixture), max_length, stride)
    layout = PairLayout.probe(pair, text, max_length, stride)
    assert layout is not None
    words = " ".join(corpus_text(2)).split()
    checked = 0
    for question in ("why", "who founded the abbey of Fécamp and when did it happen"):
        question_ids = text.encode(question, add_special_tokens=False).ids
        for n in range(1, 120, 3):
            passage = " ".join(words[:n])
            passage_encoding = text.encode(passage, add_special_tokens=False)
            ranges = piece_ranges(len(question_ids), len(passage_encoding.ids), layout.added_tokens, max_length, stride)
            first = pair.encode(question, passage, add_special_tokens=True)
            windows = [first, *first.overflowing]
            assert len(ranges) == len(windows)
            for (start, stop), window in zip(ranges, windows, strict=True):
                assert layout.window_ids(question_ids, passage_encoding.ids[start:stop]).tolist() == window.ids
                types = layout.window_type_ids(len(question_ids), stop - start).tolist()
                assert types == window.type_ids
                context = layout.context_start(len(question_ids))
                assert window.sequence_ids[context : context + stop - start] == [1] * (stop - start)
                assert window.offsets[context : context + stop - start] == passage_encoding.offsets[start:stop]
                checked += 1
    assert checked > 100


def test_pieces_step_by_the_stride_and_end_at_the_passage_end():
    assert piece_ranges(5, 20, 4, 40, 8) == [(0, 20)]
    assert piece_ranges(5, 31, 4, 40, 8) == [(0, 31)]
    assert piece_ranges(5, 32, 4, 40, 8) == [(0, 31), (23, 32)]
    assert piece_ranges(5, 80, 4, 40, 8) == [(0, 31), (23, 54), (46, 77), (69, 80)]
    assert piece_ranges(5, 0, 4, 40, 8) == [(0, 0)]


def test_pairs_the_tokenizer_refuses_have_no_ranges():
    assert piece_ranges(36, 10, 4, 40, 0) is None  # the question fills the window
    assert piece_ranges(30, 10, 4, 40, 6) is None  # 6 passage tokens fit: no room beyond a stride of 6


def test_a_layout_that_does_not_match_the_tokenizer_is_refused(tiny_roberta_dir):
    pair, text = tokenizers(tiny_roberta_dir, 64, 16)
    assert PairLayout.probe(pair, text, 64, 16) is not None
    assert PairLayout.probe(pair, text, 64, 8) is None  # another stride than the tokenizer's
    assert PairLayout.probe(pair, text, 48, 16) is None  # another length
    left = Tokenizer.from_str(pair.to_str())
    left.enable_truncation(64, stride=16, strategy="only_second", direction="left")
    assert PairLayout.probe(left, text, 64, 16) is None
