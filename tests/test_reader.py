"""The extractive reader on tiny models: offsets, windows, the SQuAD 2.0 no-answer rule, batching, YAML, errors."""

import functools
import math
import threading

import numpy as np
import pytest
import torch
from haystack import Document, Pipeline
from haystack.utils import Secret
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from docqa import shapes
from docqa.components import reader as reader_module
from docqa.components.reader import ExtractiveReader
from docqa.errors import ModelLoadError

pytestmark = pytest.mark.unit

SMALL = {"max_seq_len": 64, "doc_stride": 16, "max_query_length": 16, "device": "cpu", "precision": "fp32"}
LONG_TEXT = " ".join(
    f"Part {n}. Zürich is the largest city in Switzerland; a naïve café in Ærøskøbing sells crème brûlée for "
    f"{n},50 €. 東京は日本の首都です。 Marie Curie won the Nobel Prize in {1900 + n}."
    for n in range(8)
)
SHORT_TEXTS = [
    "Rollo was the Norse leader who agreed to swear fealty to King Charles III of West Francia.",
    "Die Straße führt über die Brücke nach Köln und weiter nach Düsseldorf.",
    "Water boils at 100 degrees Celsius at sea level and freezes at 0 degrees.",
]
QUESTIONS = [
    "Who was the Norse leader?",
    "Where is Zürich?",
    "When did Marie Curie win the Nobel Prize?",
    "What is the name of the river?",
    "How many people live there?",
    "Wo führt die Straße hin?",
]


@functools.cache
def load_reference(model_dir):
    return AutoTokenizer.from_pretrained(model_dir), AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()


def reference(model_dir, question, documents, max_seq_len, doc_stride, max_answer_length):
    """
    Independent reference: HF tokenizer call, one unpadded forward per window, brute force over all span pairs.

    :returns: (best (score, document index, char start, char end) or None, min null score)
    """
    tokenizer, model = load_reference(str(model_dir))
    best, min_null = None, math.inf
    for d, document in enumerate(documents):
        encoded = tokenizer(
            question,
            document.content,
            truncation="only_second",
            max_length=max_seq_len,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for w in range(len(encoded["input_ids"])):
            inputs = {"input_ids": torch.tensor([encoded["input_ids"][w]])}
            if "token_type_ids" in encoded and model.config.type_vocab_size > 1:
                inputs["token_type_ids"] = torch.tensor([encoded["token_type_ids"][w]])
            with torch.inference_mode():
                output = model(**inputs)
            start, end = output.start_logits[0].tolist(), output.end_logits[0].tolist()
            min_null = min(min_null, start[0] + end[0])
            context = [i for i, s in enumerate(encoded.sequence_ids(w)) if s == 1]
            offsets = encoded["offset_mapping"][w]
            for i in context:
                for j in context:
                    if i <= j < i + max_answer_length and offsets[i][0] < offsets[j][1]:
                        candidate = (start[i] + end[j], d, offsets[i][0], offsets[j][1], w)
                        if best is None or candidate[0] > best[0]:
                            best = candidate
    return best, min_null


@pytest.fixture(scope="module")
def roberta_reader(tiny_roberta_dir):
    reader = ExtractiveReader(model=str(tiny_roberta_dir), **SMALL)
    reader.warm_up()
    return reader


@pytest.fixture(scope="module")
def bert_reader(tiny_bert_dir):
    reader = ExtractiveReader(model=str(tiny_bert_dir), **SMALL)
    reader.warm_up()
    return reader


def documents():
    return [Document(content=LONG_TEXT, meta={"page_number": 3}), *(Document(content=t) for t in SHORT_TEXTS)]


@pytest.mark.parametrize("which", ["roberta_reader", "bert_reader"])
def test_every_answer_is_the_exact_document_text(which, request):
    reader = request.getfixturevalue(which)
    docs = documents()
    for answers in reader.read_batch(QUESTIONS, [docs] * len(QUESTIONS), top_k=8, no_answer_threshold=1e9):
        spans = [a for a in answers if a.data is not None]
        assert len(spans) == 8
        for answer in spans:
            start, end = answer.document_offset.start, answer.document_offset.end
            assert answer.document.content[start:end] == answer.data
            assert 0 <= start < end <= len(answer.document.content)
    non_ascii = [
        a
        for answers in reader.read_batch(QUESTIONS, [docs] * len(QUESTIONS), top_k=20)
        for a in answers
        if a.data and not a.data.isascii()
    ]
    assert non_ascii, "the test text should yield some non-ASCII answers"


@pytest.mark.parametrize("layout", ["assembled", "pairs"])
@pytest.mark.parametrize(
    "which,model_fixture", [("roberta_reader", "tiny_roberta_dir"), ("bert_reader", "tiny_bert_dir")]
)
def test_tokenisation_equals_the_hf_tokenizer_call(which, model_fixture, layout, request, monkeypatch):
    reader = request.getfixturevalue(which)
    tokenizer = AutoTokenizer.from_pretrained(request.getfixturevalue(model_fixture))
    assert reader._layout is not None, "both test tokenizers should be assembled from their texts' tokens"
    if layout == "pairs":
        monkeypatch.setattr(reader, "_layout", None)
    long_question = " ".join(["which"] * 40) + " café?"
    questions = [QUESTIONS[1], long_question, QUESTIONS[1]]
    passages = [[Document(content=LONG_TEXT), Document(content=SHORT_TEXTS[0])], [Document(content=LONG_TEXT)], []]
    windows = reader._preprocess(questions, passages)
    expected = []
    for q, docs in enumerate(passages):
        question_offsets = tokenizer(questions[q], add_special_tokens=False, return_offsets_mapping=True)
        question = questions[q][: question_offsets["offset_mapping"][:16][-1][1]]  # max_query_length 16
        for d, doc in enumerate(docs):
            encoded = tokenizer(
                question,
                doc.content,
                truncation="only_second",
                max_length=64,
                stride=16,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            type_ids = encoded.get("token_type_ids", [None] * len(encoded["input_ids"]))
            for w in range(len(encoded["input_ids"])):
                context = [i for i, s in enumerate(encoded.sequence_ids(w)) if s == 1]
                expected.append((q, d, encoded["input_ids"][w], type_ids[w], context, encoded, w))
    assert len(windows) == len(expected) > 8
    for window, (q, d, ids, type_ids, context, encoded, w) in zip(windows, expected, strict=True):
        assert (window.question, window.document, window.ids.tolist()) == (q, d, ids)
        assert (window.context_start, window.context_end) == (context[0], context[-1] + 1)
        offsets = encoded["offset_mapping"][w]
        assert [window.characters(i) for i in range(len(ids))] == [
            tuple(offsets[i]) if i in context else None for i in range(len(ids))
        ]
        assert window.type_ids is None if which == "roberta_reader" else window.type_ids.tolist() == type_ids


@pytest.mark.parametrize(
    "which,model_fixture", [("roberta_reader", "tiny_roberta_dir"), ("bert_reader", "tiny_bert_dir")]
)
def test_best_span_and_gap_equal_the_reference_including_later_windows(which, model_fixture, request):
    reader = request.getfixturevalue(which)
    model_dir = request.getfixturevalue(model_fixture)
    docs = documents()
    later_window = 0
    for question in QUESTIONS:
        (score, d, start, end, w), min_null = reference(model_dir, question, docs, 64, 16, 30)
        answers = reader.run(question, docs, no_answer_threshold=1e9)["answers"]
        best = answers[0]
        assert (best.document.id, best.document_offset.start, best.document_offset.end) == (docs[d].id, start, end)
        assert best.data == docs[d].content[start:end]
        no_answer = next(a for a in answers if a.data is None)
        assert no_answer.meta["no_answer_gap"] == pytest.approx(min_null - score, abs=1e-4)
        later_window += d == 0 and w >= 1
    assert later_window >= 1, "some best answer should come from a later window of the long passage"


@pytest.mark.parametrize("question", QUESTIONS[:4])
def test_no_answer_decision_flips_exactly_at_the_threshold(roberta_reader, tiny_roberta_dir, question):
    docs = documents()
    (score, _, _, _, _), min_null = reference(tiny_roberta_dir, question, docs, 64, 16, 30)
    gap = min_null - score
    for threshold, no_answer_expected in ((gap - 1e-3, True), (gap + 1e-3, False)):
        per_call = roberta_reader.run(question, docs, no_answer_threshold=threshold)["answers"]
        from_init = ExtractiveReader(model=str(tiny_roberta_dir), no_answer_threshold=threshold, **SMALL)
        for answers in (per_call, from_init.run(question, docs)["answers"]):
            assert (answers[0].data is None) is no_answer_expected
            no_answer = next(a for a in answers if a.data is None)
            spans = [a for a in answers if a.data is not None]
            assert len(spans) == 5, "the best spans still follow a winning no-answer"
            assert no_answer.score == pytest.approx(1 / (1 + math.exp(-(gap - threshold))), abs=1e-4)
            assert spans[0].score == pytest.approx(1 / (1 + math.exp(gap - threshold)), abs=1e-4)
            position = answers.index(no_answer)
            assert all(a.score > no_answer.score for a in answers[:position])
            assert all(a.score <= no_answer.score for a in answers[position + 1 :])


def test_per_call_overrides(roberta_reader):
    docs = documents()
    answers = roberta_reader.run(QUESTIONS[0], docs, top_k=2)["answers"]
    assert len([a for a in answers if a.data is not None]) == 2
    windows = roberta_reader._preprocess([QUESTIONS[0]], [docs])
    token_spans = {(w.document, *w.characters(i)) for w in windows for i in range(w.context_start, w.context_end)}
    one_token = roberta_reader.run(QUESTIONS[0], docs, top_k=10, max_answer_length=1)["answers"]
    spans = [a for a in one_token if a.data is not None]
    assert len(spans) == 10
    doc_index = {doc.id: i for i, doc in enumerate(docs)}
    assert all((doc_index[a.document.id], a.document_offset.start, a.document_offset.end) in token_spans for a in spans)
    default = roberta_reader.run(QUESTIONS[0], docs, top_k=10)["answers"]
    assert [a.data for a in default] != [a.data for a in one_token]


def test_postprocess_skips_special_tokens_overlaps_and_masked_spans(roberta_reader):
    doc = Document(content="Rollo was a Viking leader who founded Normandy.")
    (window,) = roberta_reader._preprocess(["Who founded Normandy?"], [[doc]])
    first = window.context_start
    offsets = [window.characters(i) for i in range(first + 3)]
    assert offsets[0] is None, "token 0 is a special token"
    scores = np.array([[5.0, 4.0, 3.0, 2.0, -np.inf]], dtype=np.float32)
    starts = np.array([[0, first, first, first + 2, first + 3]])
    ends = np.array([[0, first + 1, first, first + 2, first + 3]])
    nulls = np.array([1.5], dtype=np.float32)
    answers = roberta_reader._postprocess("q", [doc], [window], (scores, starts, ends, nulls), top_k=5, threshold=0.0)
    spans = [a for a in answers if a.data is not None]
    # 0: a special token (no characters); 2: inside 1; 4: masked (-inf)
    expected = [(4.0, offsets[first][0], offsets[first + 1][1]), (2.0, offsets[first + 2][0], offsets[first + 2][1])]
    assert [(a.document_offset.start, a.document_offset.end) for a in spans] == [e[1:] for e in expected]
    assert [a.data for a in spans] == [doc.content[start:end] for _, start, end in expected]
    assert [a.score for a in spans] == pytest.approx([1 / (1 + math.exp(1.5 - score)) for score, _, _ in expected])
    assert answers[-1].data is None and answers[-1].meta["no_answer_gap"] == pytest.approx(1.5 - 4.0)


def test_duplicates_and_overlaps_are_removed(tiny_roberta_dir):
    docs = documents()
    for overlap_threshold in (0.01, None):
        reader = ExtractiveReader(model=str(tiny_roberta_dir), top_k=30, overlap_threshold=overlap_threshold, **SMALL)
        spans = [a for a in reader.run(QUESTIONS[1], docs)["answers"] if a.data is not None]
        keys = [(a.document.id, a.document_offset.start, a.document_offset.end) for a in spans]
        assert len(keys) == len(set(keys)) == 30
        overlapping = [
            (a, b)
            for n, a in enumerate(spans)
            for b in spans[n + 1 :]
            if a.document.id == b.document.id
            and min(a.document_offset.end, b.document_offset.end)
            > max(a.document_offset.start, b.document_offset.start)
        ]
        assert (not overlapping) if overlap_threshold is not None else overlapping


def test_a_span_in_the_overlap_of_two_passages_of_a_file_is_given_once(tiny_roberta_dir):
    cut = LONG_TEXT.index("Part 2.")
    overlap_end = LONG_TEXT.index("Part 4.")

    def passages(file_meta: bool) -> list[Document]:
        bounds = [(0, overlap_end), (cut, len(LONG_TEXT))]
        return [
            Document(
                content=LONG_TEXT[start:end],
                meta={"file_path": "/docs/long.txt", "char_start": start} if file_meta else {"start": start},
            )
            for start, end in bounds
        ]

    reader = ExtractiveReader(model=str(tiny_roberta_dir), top_k=200, overlap_threshold=None, **SMALL)
    for file_meta in (True, False):
        spans = [a for a in reader.run(QUESTIONS[2], passages(file_meta))["answers"] if a.data is not None]
        start_key = "char_start" if file_meta else "start"
        places = [(a.document.meta[start_key] + a.document_offset.start, len(a.data)) for a in spans]
        assert all(LONG_TEXT[p : p + n] == a.data for (p, n), a in zip(places, spans, strict=True))
        in_both = [place for place in places if cut <= place[0] and place[0] + place[1] <= overlap_end]
        assert in_both
        assert (len(places) == len(set(places))) == file_meta, "a file's passages share their spans"


def test_read_batch_equals_run_and_is_independent_of_batching(tiny_roberta_dir, roberta_reader, monkeypatch):
    docs_per_question = [documents()[: 1 + n % 4] for n in range(len(QUESTIONS))]
    by_run = [roberta_reader.run(q, d)["answers"] for q, d in zip(QUESTIONS, docs_per_question, strict=True)]
    small_batches = ExtractiveReader(model=str(tiny_roberta_dir), max_tokens_per_batch=128, **SMALL)
    monkeypatch.setattr(reader_module, "PAIRS_PER_CHUNK", 3)
    for reader in (roberta_reader, small_batches):
        by_batch = reader.read_batch(QUESTIONS, docs_per_question)
        assert len(by_batch) == len(by_run)
        for one, many in zip(by_run, by_batch, strict=True):
            assert [(a.data, a.document_offset, a.document and a.document.id) for a in one] == [
                (a.data, a.document_offset, a.document and a.document.id) for a in many
            ]
            assert [a.score for a in one] == pytest.approx([a.score for a in many], abs=1e-5)
            assert one[-1].query == many[-1].query


def test_batches_spread_over_cpu_workers_give_the_same_answers(tiny_roberta_dir):
    docs_per_question = [documents()[: 1 + n % 4] for n in range(len(QUESTIONS))]
    results, scores = [], []
    for workers in (1, 2):
        reader = ExtractiveReader(model=str(tiny_roberta_dir), max_tokens_per_batch=128, cpu_workers=workers, **SMALL)
        reader.warm_up()
        assert reader._workers[0] == workers
        answers = reader.read_batch(QUESTIONS, docs_per_question)
        results.append([[(a.data, a.document_offset, a.document and a.document.id) for a in q] for q in answers])
        scores.append([a.score for q in answers for a in q])
    assert results[0] == results[1]
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)


def test_pipelined_reading_gives_the_serial_answers_in_order(tiny_roberta_dir, monkeypatch):
    """The GPU path (tokenise ahead, build answers behind, in threads) run for real on the CPU, chunk by chunk."""
    docs_per_question = [documents()[: n % 5] for n in range(len(QUESTIONS) * 2)]
    questions = QUESTIONS * 2
    monkeypatch.setattr(reader_module, "PAIRS_PER_CHUNK", 3)
    reader = ExtractiveReader(model=str(tiny_roberta_dir), max_tokens_per_batch=128, **SMALL)
    reader.warm_up()
    assert not reader._pipelined
    serial = reader.read_batch(questions, docs_per_question)

    threads = {}
    for stage in ("_preprocess", "_decode", "_answers"):
        method = getattr(reader, stage)

        def recorded(*args, _method=method, _stage=stage):
            threads.setdefault(_stage, set()).add(threading.current_thread().name)
            return _method(*args)

        monkeypatch.setattr(reader, stage, recorded)
    monkeypatch.setattr(reader, "_pipelined", True)
    pipelined = reader.read_batch(questions, docs_per_question)

    def summary(answers):
        return [[(a.data, a.document_offset, a.document and a.document.id, a.query) for a in q] for q in answers]

    assert summary(pipelined) == summary(serial)
    assert [a.score for q in pipelined for a in q] == pytest.approx([a.score for q in serial for a in q], abs=1e-6)
    main = threading.current_thread().name
    assert threads["_decode"] == {main}
    assert main not in threads["_preprocess"] | threads["_answers"]
    assert all(name.startswith("docqa-reader") for name in threads["_preprocess"] | threads["_answers"])

    first = next(reader.iter_read_batch(questions, docs_per_question))
    assert summary([first]) == summary(serial[:1])


def test_batches_are_padded_to_few_widths_without_changing_answers(tiny_roberta_dir, monkeypatch):
    docs_per_question = [documents()[: 1 + n % 4] for n in range(len(QUESTIONS))]
    found, widths = {}, {}
    for multiple in (1, 16):
        monkeypatch.setattr(shapes, "PAD_TO_MULTIPLE_OF", multiple)
        reader = ExtractiveReader(model=str(tiny_roberta_dir), max_tokens_per_batch=128, **SMALL)
        reader.warm_up()
        seen = widths[multiple] = set()
        hook = reader._model.register_forward_pre_hook(
            lambda _, args, kwargs, seen=seen: seen.add(kwargs["input_ids"].shape[1]), with_kwargs=True
        )
        answers = reader.read_batch(QUESTIONS, docs_per_question)
        hook.remove()
        found[multiple] = [[(a.data, a.document_offset, round(a.score, 5)) for a in q] for q in answers]
    assert found[16] == found[1]
    assert all(width % 16 == 0 or width == SMALL["max_seq_len"] for width in widths[16])
    assert len(widths[16]) < len(widths[1])


def test_page_number_of_the_answer(roberta_reader):
    content = "Page one text about Rollo.\fPage two: Zürich is the largest city.\fPage three: Water boils."
    document = Document(content=content, meta={"page_number": 4})
    answers = roberta_reader.run(QUESTIONS[1], [document], top_k=10, no_answer_threshold=1e9)["answers"]
    for answer in answers:
        if answer.data is not None:
            assert answer.meta["page_number"] == 4 + content[: answer.document_offset.start].count("\f")
    assert {a.meta["page_number"] for a in answers if a.data} > {4}
    no_page = roberta_reader.run(QUESTIONS[1], [Document(content=content)])["answers"]
    assert all("page_number" not in a.meta for a in no_page)


def test_no_documents_or_empty_ones_give_only_a_certain_no_answer(roberta_reader):
    for docs in ([], [Document(content=""), Document(content="   ")]):
        (answer,) = roberta_reader.run(QUESTIONS[0], docs)["answers"]
        assert answer.data is None and answer.score == 1.0 and answer.meta["no_answer_gap"] == math.inf


def test_long_questions_are_cut_and_counted(roberta_reader):
    long_question = "Where is the largest city in Switzerland and the river " * 10
    assert roberta_reader.question_token_count(long_question) > roberta_reader.max_query_length
    assert roberta_reader.question_token_count("Where is Zürich?") < roberta_reader.max_query_length
    answers = roberta_reader.run(long_question, documents())["answers"]
    assert any(a.data for a in answers)


def test_a_question_counted_before_warm_up_loads_the_tokenizer_once(tiny_roberta_dir, monkeypatch):
    from transformers import AutoTokenizer

    loads = []
    real = AutoTokenizer.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        loads.append(args[0])
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", classmethod(counting))
    reader = ExtractiveReader(model=str(tiny_roberta_dir), device="cpu")
    counted = reader.question_token_count("Where is Zürich?")
    reader.warm_up()
    assert loads == [str(tiny_roberta_dir)]
    assert reader.question_token_count("Where is Zürich?") == counted
    assert reader.run(QUESTIONS[1], documents(), no_answer_threshold=1e9)["answers"][0].data


def test_yaml_round_trip_keeps_every_parameter(tiny_roberta_dir):
    params = {
        "model": str(tiny_roberta_dir),
        "device": "cpu",
        "top_k": 7,
        "max_seq_len": 200,
        "doc_stride": 50,
        "max_query_length": 40,
        "max_answer_length": 12,
        "no_answer_threshold": 1.25,
        "overlap_threshold": 0.3,
        "max_tokens_per_batch": 4096,
        "precision": "int8",
        "cpu_workers": 2,
    }
    token = Secret.from_env_var("DOCQA_TEST_HF_TOKEN", strict=False)
    pipeline = Pipeline()
    pipeline.add_component("reader", ExtractiveReader(token=token, **params))
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["docqa"]).get_component("reader")
    assert isinstance(loaded, ExtractiveReader)
    for name, value in params.items():
        assert getattr(loaded, name) == value
    assert loaded.token.to_dict() == token.to_dict()
    nones = ExtractiveReader(overlap_threshold=None, model=None, device=None, max_tokens_per_batch=None, token=None)
    restored = ExtractiveReader.from_dict(nones.to_dict())
    assert (restored.overlap_threshold, restored.model, restored.device) == (None, None, None)
    assert (restored.max_tokens_per_batch, restored.cpu_workers, restored.token) == (None, None, None)


def test_model_load_errors_are_one_line(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-model"
    for model in (str(missing), "./models/absent"):
        with pytest.raises(ModelLoadError, match="no such model directory") as error:
            ExtractiveReader(model=model, device="cpu").warm_up()
        assert "DOCQA_READER_MODEL" in str(error.value) and "\n" not in str(error.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match=r"no config\.json") as error:
        ExtractiveReader(model=str(empty), device="cpu").warm_up()
    assert "\n" not in str(error.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        ExtractiveReader(model="docqa-tests/no-such-model", device="cpu").warm_up()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelLoadError, match="docqa-tests/no-such-model"):
        ExtractiveReader(model="docqa-tests/no-such-model", device="cpu").warm_up()


def test_a_model_without_a_question_answering_head_is_refused(tiny_bert_dir, tmp_path):
    import shutil

    from transformers import AutoModel

    from docqa.errors import NotAReaderModelError

    encoder = tmp_path / "encoder-only"
    shutil.copytree(tiny_bert_dir, encoder)
    (encoder / "model.safetensors").unlink()
    AutoModel.from_pretrained(tiny_bert_dir).save_pretrained(encoder)
    with pytest.raises(NotAReaderModelError) as error:
        ExtractiveReader(model=str(encoder), device="cpu").warm_up()
    assert str(error.value) == (
        f"{str(encoder)!r} is not an extractive question-answering model (its weights have no answer layer, "
        "qa_outputs). Set DOCQA_READER_MODEL to a model fine-tuned on SQuAD, such as deepset/tinyroberta-squad2."
    )
    assert error.value.exit_code == 2


def test_model_from_settings(tiny_roberta_dir, monkeypatch):
    monkeypatch.setenv("DOCQA_READER_MODEL", str(tiny_roberta_dir))
    monkeypatch.setenv("DOCQA_DEVICE", "cpu")
    reader = ExtractiveReader(precision="fp32")
    assert reader.model_name == str(tiny_roberta_dir) and reader.resolved_device() == "cpu"
    assert reader.run(QUESTIONS[0], documents())["answers"]


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="precision"):
        ExtractiveReader(precision="fp8")
    with pytest.raises(ValueError, match="max_seq_len"):
        ExtractiveReader(max_seq_len=100, doc_stride=64, max_query_length=64)
    with pytest.raises(ValueError, match="CPU only"):
        ExtractiveReader(device="cuda", precision="int8")


def test_question_answerer_one_liner(tiny_roberta_dir):
    from docqa.question_answering import QuestionAnswerer

    qa = QuestionAnswerer(str(tiny_roberta_dir), **SMALL)
    one = qa(question=QUESTIONS[1], context=LONG_TEXT, no_answer_threshold=1e9)
    assert set(one) == {"answer", "score", "start", "end", "no_answer"}
    assert not one["no_answer"] and LONG_TEXT[one["start"] : one["end"]] == one["answer"]
    many = qa(
        question=[QUESTIONS[1], QUESTIONS[1], QUESTIONS[2]],
        context=[LONG_TEXT, *SHORT_TEXTS[:2]],
        no_answer_threshold=1e9,
    )
    assert many[0] == one
    assert many[1] == qa(question=QUESTIONS[1], context=SHORT_TEXTS[0], no_answer_threshold=1e9)
    none = qa(question=QUESTIONS[1], context=LONG_TEXT, no_answer_threshold=-1e9)
    assert none["no_answer"] and none["answer"] == "" and none["start"] is None and none["score"] == 1.0
    with pytest.raises(ValueError, match="one context each"):
        qa(question=QUESTIONS[:2], context=[LONG_TEXT])


def test_bf16_keeps_the_span_head_in_fp32(tiny_roberta_dir):
    """In bf16 the encoder runs in bf16 but the logits come from an fp32 head, so only the encoder's rounding shows."""
    half = ExtractiveReader(model=str(tiny_roberta_dir), **{**SMALL, "precision": "bf16"})
    half.warm_up()
    assert half._model.qa_outputs.weight.dtype == torch.float32
    assert half._model.roberta.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    full = ExtractiveReader(model=str(tiny_roberta_dir), **SMALL)
    full.warm_up()
    windows = full._preprocess(QUESTIONS[:3], [documents()] * 3)
    batch = list(range(len(windows)))
    inputs, _ = full._inputs(windows, batch)
    plain = AutoModelForQuestionAnswering.from_pretrained(str(tiny_roberta_dir)).eval().to(torch.bfloat16)
    with torch.inference_mode():
        exact = full._model(**inputs).start_logits
        ours = half._model(**inputs).start_logits
        all_bf16 = plain(**inputs).start_logits
    assert ours.dtype == torch.float32
    valid = inputs["attention_mask"].bool()
    ours_error = (ours - exact)[valid].abs().mean()
    all_bf16_error = (all_bf16.float() - exact)[valid].abs().mean()
    assert 0 < ours_error <= all_bf16_error, (float(ours_error), float(all_bf16_error))
    answers = half.run(QUESTIONS[0], documents())["answers"]
    assert answers and all(math.isfinite(a.score) for a in answers)
