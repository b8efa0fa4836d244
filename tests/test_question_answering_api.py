"""The ``pipeline("question-answering")`` replacement as its users call it: inputs, keyword arguments, errors, spans."""

import unicodedata

import pytest
from haystack import ExtractedAnswer

from docqa.components import reader as reader_module
from docqa.errors import DocqaError, EmptyQuestionError, QuestionTooLongError
from docqa.question_answering import QuestionAnswerer

pytestmark = pytest.mark.unit

SMALL = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "device": "cpu", "precision": "fp32"}
CONTEXTS = [
    "Zoë's café in São Paulo served naïve résumés to Ærøskøbing's crème brûlée fans.",
    "東京は日本の首都です。人口は千三百万人を超えています。北京是中国的首都。서울은 한국의 수도입니다.",
    "The party 🎉 starts at 8pm 🕗 with 👨\u200d👩\u200d👧\u200d👦 families and 🇫🇷 flags. Bring 🍕!",
    "Cafe\u0301 owner Jose\u0301 sells n\u0303 items; Zo\u00eb and Zoe\u0308 are the same name.",
    "القاهرة هي عاصمة مصر. ירושלים היא עיר. The capital is Cairo.",
    "   \n\n  Leading   and   multiple\t\tspaces\n\nand newlines here.   \n  ",
    "A\u00a0non-breaking\u2003space\u200bzero width\ufeffbom and \u2028 line sep.",
    "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 𝟘𝟙𝟚 digits. ﬁ ligature İstanbul ß straße",
    " ".join(f"Part {n}. Zürich is the largest city in Switzerland; crème brûlée costs {n},50 €." for n in range(150)),
]
QUESTIONS = ["Who served résumés?", "Where is Zürich?", "When does the party start?"]
KEYS = {"answer", "score", "start", "end", "no_answer"}


@pytest.fixture(scope="module")
def qa(tiny_roberta_dir):
    return QuestionAnswerer(str(tiny_roberta_dir), **SMALL)


def assert_valid(result, context):
    """The documented result: exact text at its offsets, whole characters, no white space around, score in [0, 1]."""
    assert set(result) == KEYS and isinstance(result["score"], float) and 0.0 <= result["score"] <= 1.0
    if result["no_answer"]:
        assert result["answer"] == "" and result["start"] is None and result["end"] is None
        return
    answer, start, end = result["answer"], result["start"], result["end"]
    assert type(start) is int and type(end) is int and 0 <= start < end <= len(context)
    assert context[start:end] == answer and answer == answer.strip()
    assert not unicodedata.category(answer[0]).startswith("M") and not answer.endswith("\u200d")
    assert end == len(context) or not unicodedata.category(context[end]).startswith("M")


def scripted(qa, monkeypatch, spans):
    """Make the reader return ``spans`` ((start, end, score), or (None, None, score) for no-answer) for every pair."""

    def read_batch(queries, documents, top_k=None, no_answer_threshold=None, max_answer_length=None):
        answers = []
        for query, (document,) in zip(queries, documents, strict=True):
            text = document.content
            answers.append(
                [
                    ExtractedAnswer(query=query, score=score, data=None, document=None)
                    if start is None
                    else ExtractedAnswer(
                        query=query,
                        score=score,
                        data=text[start:end],
                        document=document,
                        document_offset=ExtractedAnswer.Span(start, end),
                    )
                    for start, end, score in spans
                ]
            )
        return answers

    monkeypatch.setattr(qa.reader, "read_batch", read_batch)


@pytest.mark.parametrize("model_fixture", ["tiny_roberta_dir", "tiny_bert_dir"])
@pytest.mark.parametrize("align_to_words", [False, True])
def test_every_result_is_valid_and_in_input_order(model_fixture, align_to_words, request):
    """Non-ASCII, white space and several-window contexts, top_k 1 and 3, with and without no-answer winning."""
    answerer = QuestionAnswerer(str(request.getfixturevalue(model_fixture)), **SMALL)
    questions = [QUESTIONS[n % len(QUESTIONS)] for n in range(len(CONTEXTS))]
    for threshold in (1e9, 0.0, -1e9):
        ones = answerer(
            question=questions, context=CONTEXTS, no_answer_threshold=threshold, align_to_words=align_to_words
        )
        threes = answerer(
            question=questions,
            context=CONTEXTS,
            no_answer_threshold=threshold,
            align_to_words=align_to_words,
            top_k=3,
        )
        assert isinstance(ones, list) and len(ones) == len(threes) == len(CONTEXTS)
        for context, one, three in zip(CONTEXTS, ones, threes, strict=True):
            assert_valid(one, context)
            assert isinstance(three, list) and 1 <= len(three) <= 3 and three[0] == one
            assert [r["score"] for r in three] == sorted((r["score"] for r in three), reverse=True)
            for result in three:
                assert_valid(result, context)
            spans = [(r["start"], r["end"]) for r in three]
            assert len(spans) == len(set(spans))
        if threshold:
            assert all(result["no_answer"] == (threshold < 0) for result in ones)
    reversed_results = answerer(question=questions[::-1], context=CONTEXTS[::-1], align_to_words=align_to_words)
    assert reversed_results[::-1] == answerer(question=questions, context=CONTEXTS, align_to_words=align_to_words)
    alone = answerer(question=questions[-1], context=CONTEXTS[-1], align_to_words=align_to_words)
    assert alone == reversed_results[0]


def test_top_k_per_call_and_when_made(qa, tiny_roberta_dir):
    three = qa(question=QUESTIONS[1], context=CONTEXTS[-1], top_k=3, no_answer_threshold=1e9)
    assert isinstance(three, list) and len(three) == 3 and all(set(r) == KEYS for r in three)
    assert three[0] == qa(question=QUESTIONS[1], context=CONTEXTS[-1], no_answer_threshold=1e9)
    made = QuestionAnswerer(str(tiny_roberta_dir), top_k=3, **SMALL)
    assert made(question=QUESTIONS[1], context=CONTEXTS[-1], no_answer_threshold=1e9) == three
    assert made(question=QUESTIONS[1], context=CONTEXTS[-1], no_answer_threshold=1e9, top_k=1) == three[0]
    many = made(question=[QUESTIONS[1], QUESTIONS[0]], context=[CONTEXTS[-1], CONTEXTS[0]], no_answer_threshold=1e9)
    assert many[0] == three and isinstance(many[1], list) and 1 <= len(many[1]) <= 3


def test_pipeline_keyword_arguments(qa, tiny_roberta_dir):
    question, context = QUESTIONS[1], CONTEXTS[-1]
    short = qa(question=question, context=context, max_answer_len=1, no_answer_threshold=1e9)
    assert short == qa(question=question, context=context, max_answer_length=1, no_answer_threshold=1e9)
    assert short != qa(question=question, context=context, no_answer_threshold=1e9)
    # no-answer wins; handle_impossible_answer=False returns the best span instead, with its own score
    impossible = qa(question=question, context=context, no_answer_threshold=-1e9)
    assert impossible["no_answer"]
    best = qa(question=question, context=context, no_answer_threshold=-1e9, handle_impossible_answer=False)
    assert not best["no_answer"] and best["answer"] and best["score"] < impossible["score"]
    ranked = qa(question=question, context=context, no_answer_threshold=-1e9, top_k=3)
    assert ranked[0] == impossible and ranked[1] == best
    # nothing to answer from: no-answer however it is asked
    assert qa(question=question, context=" \n", handle_impossible_answer=False)["no_answer"]
    # window settings: accepted at the reader's values, else told where they go
    assert qa(question=question, context=context, max_seq_len=64, doc_stride=16, max_question_len=16) == qa(
        question=question, context=context
    )
    for name in ("max_seq_len", "doc_stride", "max_question_len"):
        with pytest.raises(DocqaError, match=rf"QuestionAnswerer\(model, {name}=\.\.\.\)"):
            qa(question=question, context=context, **{name: 8})
    settings = {name: value for name, value in SMALL.items() if name != "max_query_length"}
    made = QuestionAnswerer(str(tiny_roberta_dir), max_question_len=20, max_answer_len=1, **settings)
    assert made.reader.max_query_length == 20 and made.reader.max_answer_length == 1
    assert made(question=question, context=context, no_answer_threshold=1e9) == short


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": "longest"}, "unknown argument padding"),
        ({"topk": 2}, "unknown argument topk"),
        ({"top_k": 0}, "top_k must be a whole number >= 1"),
        ({"top_k": 1.5}, "top_k must be"),
        ({"max_answer_length": 0}, "max_answer_len must be"),
        ({"max_answer_len": 2, "max_answer_length": 2}, "not both"),
        ({"no_answer_threshold": float("nan")}, "no_answer_threshold must be a number"),
        ({"handle_impossible_answer": "yes"}, "handle_impossible_answer must be True or False"),
    ],
)
def test_unusable_keyword_arguments_are_one_clear_error(qa, kwargs, message):
    with pytest.raises(DocqaError, match=message) as error:
        qa(question=QUESTIONS[0], context=CONTEXTS[0], **kwargs)
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"question": None, "context": CONTEXTS[0]}, "question missing"),
        ({"question": QUESTIONS[0], "context": None}, "context missing"),
        ({"question": QUESTIONS[0]}, "context missing"),
        ({"question": 42, "context": CONTEXTS[0]}, "question is int 42; give a string"),
        ({"question": QUESTIONS[0], "context": 3.5}, "context is float 3.5"),
        ({"question": QUESTIONS[0], "context": b"bytes"}, "context is bytes"),
        ({"question": [QUESTIONS[0], None], "context": CONTEXTS[0]}, "question 2 of 2 is NoneType"),
        ({"question": QUESTIONS[:2], "context": CONTEXTS[:3]}, "2 questions but 3 contexts"),
        ({"question": {"question": QUESTIONS[0]}}, 'takes the keys "question" and "context", not \'question\''),
        ({"question": [{"question": "a", "context": "b"}, {"q": "a", "c": "b"}]}, "item 2: a dict input"),
    ],
)
def test_unusable_inputs_are_one_clear_error(qa, kwargs, message):
    with pytest.raises(DocqaError, match=message) as error:
        qa(**kwargs)
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


def test_empty_and_too_long_questions_are_refused_before_the_model_loads(tiny_roberta_dir):
    fresh = QuestionAnswerer(str(tiny_roberta_dir), **SMALL)
    for question in ("", "   \n\t"):
        with pytest.raises(EmptyQuestionError):
            fresh(question=question, context=CONTEXTS[0])
    # code written for pipeline("question-answering") catches ValueError for these
    with pytest.raises(ValueError, match="the question is empty"):
        fresh(question="", context=CONTEXTS[0])
    with pytest.raises(ValueError, match="takes at most 16"):
        fresh(question="Who served " * 30 + "?", context=CONTEXTS[0])
    with pytest.raises(EmptyQuestionError, match=r"^question 2 of 3: the question is empty"):
        fresh(question=[QUESTIONS[0], " ", QUESTIONS[1]], context=CONTEXTS[0])
    with pytest.raises(QuestionTooLongError, match="takes at most 16"):
        fresh(question="Who served " * 30 + "?", context=CONTEXTS[0])
    with pytest.raises(QuestionTooLongError, match=r"^question 2 of 2: the question is \d+ tokens"):
        fresh(question=[QUESTIONS[0], "why " * 40], context=CONTEXTS[:2])
    assert fresh.reader._model is None
    # white space around a question does not change its answer
    assert fresh(question=f"  {QUESTIONS[0]}\n", context=CONTEXTS[0]) == fresh(
        question=QUESTIONS[0], context=CONTEXTS[0]
    )


def test_one_context_for_many_questions_and_one_question_for_many_contexts(qa):
    pairs = [qa(question=question, context=CONTEXTS[-1]) for question in QUESTIONS]
    assert qa(question=QUESTIONS, context=CONTEXTS[-1]) == pairs
    assert qa(question=tuple(QUESTIONS), context=CONTEXTS[-1]) == pairs
    each = [qa(question=QUESTIONS[1], context=context) for context in CONTEXTS]
    assert qa(question=QUESTIONS[1], context=CONTEXTS) == each
    assert qa(question=QUESTIONS[1], context=iter(CONTEXTS)) == each
    assert qa(question=[], context=[]) == [] and qa(question=[], context=CONTEXTS[0]) == []


def test_dict_inputs_and_positional_arguments(qa):
    one = qa(question=QUESTIONS[0], context=CONTEXTS[0])
    assert qa(QUESTIONS[0], CONTEXTS[0]) == one
    assert qa({"question": QUESTIONS[0], "context": CONTEXTS[0]}) == one
    two = [{"question": QUESTIONS[0], "context": CONTEXTS[0]}, {"question": QUESTIONS[1], "context": CONTEXTS[-1]}]
    assert qa(two) == [one, qa(question=QUESTIONS[1], context=CONTEXTS[-1])]
    assert qa(two[:1]) == [one]
    assert qa({"question": QUESTIONS[:2], "context": CONTEXTS[0]}) == qa(question=QUESTIONS[:2], context=CONTEXTS[0])


@pytest.mark.parametrize(
    ("context", "spans", "expected"),
    [
        # a blank span is passed over for the next one
        ("Rollo was   the Norse leader.", [(9, 12, 0.9), (16, 21, 0.8)], "Norse"),
        # white space around a span is left out, the offsets follow
        ("The river\n Seine \tflows.", [(9, 18, 0.9)], "Seine"),
        # an accent (combining mark) stays with its letter at either end
        ("Cafe\u0301 owner Jose\u0301 sells.", [(4, 16, 0.9)], "e\u0301 owner Jose\u0301"),
        # an emoji sequence joined by zero-width joiners is not cut apart
        ("Families 👨\u200d👩\u200d👧\u200d👦 came.", [(9, 12, 0.9)], "👨\u200d👩\u200d👧\u200d👦"),
        ("Families 👨\u200d👩\u200d👧\u200d👦 came.", [(13, 21, 0.9)], "👨\u200d👩\u200d👧\u200d👦 came"),
    ],
)
def test_spans_are_whole_characters_without_white_space_around(qa, monkeypatch, context, spans, expected):
    scripted(qa, monkeypatch, [*spans, (None, None, 0.1)])
    result = qa(question=QUESTIONS[0], context=context)
    assert result["answer"] == expected and context[result["start"] : result["end"]] == expected


def test_a_context_with_only_blank_spans_gets_no_answer(qa, monkeypatch):
    scripted(qa, monkeypatch, [(3, 6, 0.9), (None, None, 0.2)])
    assert qa(question=QUESTIONS[0], context="abc   def", handle_impossible_answer=False) == {
        "answer": "",
        "score": 0.2,
        "start": None,
        "end": None,
        "no_answer": True,
    }


def test_align_to_words_widens_spans_to_whole_words(qa, monkeypatch):
    context = "Converting between FARM and transformers gives freedom."
    scripted(qa, monkeypatch, [(32, 37, 0.9), (31, 39, 0.8), (None, None, 0.1)])  # "sform", "nsforme"
    assert qa(question=QUESTIONS[0], context=context)["answer"] == "sform"
    words = qa(question=QUESTIONS[0], context=context, align_to_words=True, top_k=3)
    # both spans widen to the same word, kept once; then the no-answer entry
    assert [r["answer"] for r in words] == ["transformers", ""]
    assert (words[0]["start"], words[0]["end"]) == (28, 40) and words[0]["score"] == 0.9


def test_the_model_is_loaded_once(tiny_roberta_dir, monkeypatch):
    loads = []
    load = reader_module._load
    monkeypatch.setattr(reader_module, "_load", lambda *args: loads.append(args) or load(*args))
    answerer = QuestionAnswerer(str(tiny_roberta_dir), **SMALL)
    first = answerer(question=QUESTIONS[0], context=CONTEXTS[0])
    model = answerer.reader._model
    assert answerer(question=QUESTIONS[0], context=CONTEXTS[0]) == first
    assert answerer(question=QUESTIONS, context=CONTEXTS[-1], top_k=2, align_to_words=True)
    assert len(loads) == 1 and answerer.reader._model is model


def test_bad_settings_when_made_are_one_clear_error(tiny_roberta_dir):
    with pytest.raises(DocqaError, match="QuestionAnswerer takes no stride"):
        QuestionAnswerer(str(tiny_roberta_dir), stride=16)
    with pytest.raises(DocqaError, match="max_seq_len must exceed"):
        QuestionAnswerer(str(tiny_roberta_dir), max_seq_len=64, doc_stride=60)
    with pytest.raises(DocqaError, match="not both"):
        QuestionAnswerer(str(tiny_roberta_dir), max_question_len=8, max_query_length=8)
    with pytest.raises(DocqaError, match="model must be a hub name or a local directory"):
        QuestionAnswerer("  ")
    with pytest.raises(DocqaError, match="top_k must be"):
        QuestionAnswerer(str(tiny_roberta_dir), top_k=0)
    with pytest.raises(DocqaError, match="no_answer_threshold must be a number"):
        QuestionAnswerer(str(tiny_roberta_dir), no_answer_threshold=float("nan"))
    assert QuestionAnswerer(tiny_roberta_dir, **SMALL).reader.model == str(tiny_roberta_dir)
