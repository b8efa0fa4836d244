"""Our reader gives Haystack's TransformersExtractiveReader's best span where the two are comparable.

Comparable means: the same tiny RoBERTa model (no token type ids, which Haystack never passes), no-answer off on
Haystack's side and ignored on ours, our ``max_answer_length`` >= ``max_seq_len`` so it does not bind, the same
window length and stride, and short questions (so Haystack's ``longest_first`` truncation cuts only the passage,
as our ``only_second`` does). Haystack ranks spans by ``sigmoid(0.1 * (start + end))``, which orders them like the
raw logit sums we rank by.
"""

import random

import pytest
from haystack import Document
from haystack.utils import ComponentDevice

from docqa.components.reader import ExtractiveReader
from tests.tiny_models import CORPUS

pytestmark = pytest.mark.unit

QUESTIONS = [
    "Who was the Norse leader?",
    "Where is Zürich?",
    "What does photosynthesis convert?",
    "When did the committee meet?",
    "Wie heißt die Stadt?",
    "What is the answer?",
    "How much was the crème brûlée?",
]


def random_documents(rng: random.Random) -> list[Document]:
    """1 to 4 passages, each 1 to 14 shuffled corpus sentences (the long ones span several windows)."""
    return [
        Document(content=" ".join(rng.choice(CORPUS) for _ in range(rng.randint(1, 14))))
        for _ in range(rng.randint(1, 4))
    ]


@pytest.mark.parametrize("max_seq_len,stride", [(64, 16), (128, 32)])
def test_same_best_span_as_haystack(tiny_roberta_dir, max_seq_len, stride):
    from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

    haystack = TransformersExtractiveReader(
        model=str(tiny_roberta_dir),
        device=ComponentDevice.from_str("cpu"),
        top_k=50,
        no_answer=False,
        max_seq_length=max_seq_len,
        stride=stride,
    )
    haystack.warm_up()
    ours = ExtractiveReader(
        model=str(tiny_roberta_dir),
        device="cpu",
        precision="fp32",
        max_seq_len=max_seq_len,
        doc_stride=stride,
        max_query_length=16,
        max_answer_length=max_seq_len,
        no_answer_threshold=1e9,
        top_k=1,
    )
    rng = random.Random(max_seq_len)
    pairs = [(rng.choice(QUESTIONS), random_documents(rng)) for _ in range(30)]
    assert all(ours.question_token_count(q) <= 16 for q, _ in pairs)
    multi_window = 0
    our_answers = ours.read_batch([q for q, _ in pairs], [d for _, d in pairs])
    for (question, docs), answers in zip(pairs, our_answers, strict=True):
        theirs = next(a for a in haystack.run(query=question, documents=docs)["answers"] if a.data)
        mine = answers[0]
        assert mine.data is not None
        assert (mine.document.id, mine.document_offset.start, mine.document_offset.end, mine.data) == (
            theirs.document.id,
            theirs.document_offset.start,
            theirs.document_offset.end,
            theirs.data,
        )
        multi_window += len(ours._preprocess([question], [docs])) > len(docs)
    assert multi_window >= 5, "several pairs should have passages longer than one window"
