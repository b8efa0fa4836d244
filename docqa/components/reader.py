"""The extractive reader: finds the exact answer span in passages, or says there is none (SQuAD 2.0 rules)."""

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, ExtractedAnswer, component, default_from_dict, default_to_dict
from haystack.utils import Secret, deserialize_secrets_inplace

from docqa.attention_kernels import attention_kernels
from docqa.cpu_workers import map_in_workers, plan_workers
from docqa.errors import ModelLoadError, NotAReaderModelError
from docqa.hardware import default_cpu_precision, require_device
from docqa.model_sources import first_line, looks_like_path, require_hub
from docqa.pair_windows import PairLayout, piece_ranges
from docqa.parameters import require_finite
from docqa.settings import get_settings
from docqa.shapes import padded_width

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
# Default token budgets per forward pass (bench/RESULTS.md: on CPU 4096 beats 16384 by ~20%, and int8 runs ~10%
# faster still with 2048, where its 2048 x 3072 feed-forward activations stay in the cache).
CPU_TOKENS_PER_BATCH = 4096
CPU_INT8_TOKENS_PER_BATCH = 2048
GPU_TOKENS_PER_BATCH = 32768
# The span head stays in floating point: it is tiny and its rounding would land on the logits directly.
SPAN_HEADS = ("qa_outputs",)
# (question, passage) pairs tokenised and decoded together; bounds host memory whatever the number of questions.
PAIRS_PER_CHUNK = 1024
SETTING = "DOCQA_READER_MODEL"
INT8_ON_GPU = "precision 'int8' (dynamic quantisation) runs on CPU only; use fp16 or bf16"


@dataclass
class _Window:
    """
    One window of a (question, passage) pair: its token ids (special tokens included), the token type ids where the
    model takes them, and where the passage's tokens lie in it. Window token ``i`` is token ``i + shift`` of
    ``tokens``, the tokenizer's encoding that knows its characters in the passage.
    """

    question: int
    document: int
    ids: np.ndarray
    type_ids: np.ndarray | None
    context_start: int
    context_end: int
    tokens: Any
    shift: int

    def characters(self, token: int) -> tuple[int, int] | None:
        """The characters of the passage that window token ``token`` covers; None outside the passage."""
        if not self.context_start <= token < self.context_end:
            return None
        return self.tokens.token_to_chars(token + self.shift)


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def _place(document: Document, index: int) -> tuple[Any, int]:
    """
    Where a passage's text lies: ``(its file, the offset of its first character there)`` for a passage with docqa's
    ``file_path`` and ``char_start``, so that overlapping passages of one file give each span of the file once;
    ``(its index, 0)`` for any other document.
    """
    path, start = document.meta.get("file_path"), document.meta.get("char_start")
    if isinstance(path, str) and isinstance(start, int) and not isinstance(start, bool):
        return ("file", path), start
    return ("document", index), 0


def _overlaps_kept(kept: list[tuple[int, int]], start: int, end: int, threshold: float) -> bool:
    """
    Haystack's overlap rule against every span in ``kept``: True when ``start:end`` shares with one of them more
    than ``threshold`` of its own characters or of that span's.
    """
    for kept_start, kept_end in kept:
        overlap = min(end, kept_end) - max(start, kept_start)
        if overlap > 0 and (overlap / (end - start) > threshold or overlap / (kept_end - kept_start) > threshold):
            return True
    return False


@component
class ExtractiveReader:
    """
    Extracts answer spans from documents with a Hugging Face question-answering model, many questions per call.

    Scores: a span whose logit sum is ``s`` gets ``sigmoid(s - min_null + no_answer_threshold)`` and the no-answer
    entry gets ``sigmoid(min_null - best_span - no_answer_threshold)``, where ``min_null`` is the lowest null
    (CLS) score over all windows of the question's passages. Both are 0.5 exactly at the decision boundary, so the
    no-answer entry scores above every span exactly when no-answer wins. The raw gap ``min_null - best_span`` is in
    the no-answer entry's ``meta["no_answer_gap"]`` (``inf`` when no passage had a span).
    """

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        top_k: int = 5,
        max_seq_len: int = 384,
        doc_stride: int = 128,
        max_query_length: int = 64,
        max_answer_length: int = 30,
        no_answer_threshold: float = 0.0,
        overlap_threshold: float | None = 0.01,
        max_tokens_per_batch: int | None = None,
        precision: str = "auto",
        cpu_workers: int | None = None,
        token: Secret | None = Secret.from_env_var(["HF_API_TOKEN", "HF_TOKEN"], strict=False),  # noqa: B008
    ) -> None:
        """
        Create the reader; the model is loaded by :meth:`warm_up`.

        :param model: hub name or local directory; None reads ``DOCQA_READER_MODEL``.
        :param device: "auto", "cpu", "cuda", "cuda:N" or "mps"; None reads ``DOCQA_DEVICE``.
        :param top_k: answer spans returned per question (plus the no-answer entry).
        :param max_seq_len: tokens per window (question + passage + special tokens).
        :param doc_stride: tokens shared by consecutive windows of a long passage.
        :param max_query_length: questions are cut to this many tokens.
        :param max_answer_length: longest answer span in tokens.
        :param no_answer_threshold: logit margin by which the null score must beat the best span for "no answer".
        :param overlap_threshold: drop an answer overlapping a better one from the same document by more than this
            fraction of either; None keeps all distinct spans. Passages of one file (docqa's ``file_path`` and
            ``char_start``) count as one document, so a span in the overlap of two passages is given once.
        :param max_tokens_per_batch: token budget (windows x padded length) of one forward pass; None: 4096 on CPU
            (2048 in int8; faster there than larger batches, measured), 32768 on a GPU.
        :param precision: "auto" (bf16, else fp16, on CUDA; on a CPU :func:`docqa.hardware.default_cpu_precision`:
            bf16 with native bf16, int8 with VNNI or AVX2, else fp32), "fp32", "bf16", "fp16" or "int8" (dynamic
            quantisation, CPU only).
        :param cpu_workers: batches read at once on the CPU, each on its share of the cores; None: one per core up
            to 4 (faster than one batch over all cores; bench/RESULTS.md), 1: one batch at a time.
        :param token: Hugging Face token for private models.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if precision == "int8" and (device or "").strip().lower().startswith("cuda"):
            raise ValueError(INT8_ON_GPU)
        if (
            min(top_k, max_seq_len, max_query_length, max_answer_length, max_tokens_per_batch or 1, cpu_workers or 1)
            < 1
            or doc_stride < 0
        ):
            raise ValueError(
                "top_k, max_seq_len, max_query_length, max_answer_length, max_tokens_per_batch and cpu_workers "
                "must be >= 1"
            )
        require_finite("no_answer_threshold", no_answer_threshold)
        if max_seq_len - max_query_length - 4 <= doc_stride:
            raise ValueError("max_seq_len must exceed max_query_length + doc_stride + 4 special tokens")
        self.model = model
        self.device = device
        self.top_k = top_k
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.max_answer_length = max_answer_length
        self.no_answer_threshold = no_answer_threshold
        self.overlap_threshold = overlap_threshold
        self.max_tokens_per_batch = max_tokens_per_batch
        self.precision = precision
        self.cpu_workers = cpu_workers
        self.token = token
        self._model: Any = None
        self._pair_tokenizer: Any = None
        self._layout: PairLayout | None = None
        self._question_tokenizer: Any = None
        self._tokenizer: Any = None
        self._torch_device: Any = None
        self._use_type_ids = False
        self._pad_id = 0
        self._budget = 0
        self._workers = (1, 1)
        self._pipelined = False

    def to_dict(self) -> dict[str, Any]:
        """Serialize every init parameter."""
        return default_to_dict(
            self,
            model=self.model,
            device=self.device,
            top_k=self.top_k,
            max_seq_len=self.max_seq_len,
            doc_stride=self.doc_stride,
            max_query_length=self.max_query_length,
            max_answer_length=self.max_answer_length,
            no_answer_threshold=self.no_answer_threshold,
            overlap_threshold=self.overlap_threshold,
            max_tokens_per_batch=self.max_tokens_per_batch,
            precision=self.precision,
            cpu_workers=self.cpu_workers,
            token=self.token.to_dict() if self.token else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExtractiveReader":
        """Deserialize from :meth:`to_dict`'s output."""
        deserialize_secrets_inplace(data.get("init_parameters", {}), keys=["token"])
        return default_from_dict(cls, data)

    @property
    def model_name(self) -> str:
        """The model this reader loads (the setting when ``model`` is None)."""
        return self.model or get_settings().reader_model

    def resolved_device(self) -> str:
        """
        The torch device name this reader runs on.

        :raises docqa.errors.DeviceUnavailableError: when the machine has no such device.
        """
        import torch

        device = (self.device or get_settings().device).strip().lower()
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return require_device(device)

    def resolved_precision(self) -> str:
        """The precision used on the resolved device."""
        import torch

        device = self.resolved_device()
        if self.precision != "auto":
            if self.precision == "int8" and not device.startswith("cpu"):
                raise ValueError(INT8_ON_GPU)
            return self.precision
        if device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return default_cpu_precision() if device == "cpu" else "fp32"

    def warm_up(self) -> None:
        """
        Load tokenizer and model once, on the device and in the precision, and run one tiny forward pass.

        :raises docqa.errors.ModelLoadError: when the model cannot be loaded.
        """
        if self._model is not None:
            return
        import torch

        name = self.model_name
        token = self.token.resolve_value() if self.token else None
        device = torch.device(self.resolved_device())
        precision = self.resolved_precision()
        tokenizer, model = _load(name, token, self._tokenizer)
        if precision == "int8":
            from docqa.quantization import quantize_linear_layers

            model = quantize_linear_layers(model, keep=[name for name in SPAN_HEADS if hasattr(model, name)])
        elif precision in ("bf16", "fp16"):
            model = _half_precision_body(model, torch.bfloat16 if precision == "bf16" else torch.float16)
        model = model.to(device).eval()

        backend = tokenizer.backend_tokenizer
        pair = type(backend).from_str(backend.to_str())
        pair.no_padding()
        pair.enable_truncation(self.max_seq_len, stride=self.doc_stride, strategy="only_second")
        question = _question_tokenizer(tokenizer)

        self._pair_tokenizer = pair
        self._question_tokenizer = question
        self._layout = PairLayout.probe(pair, question, self.max_seq_len, self.doc_stride)
        self._torch_device = device
        self._budget = self.max_tokens_per_batch or _default_budget(device.type, precision)
        self._workers = plan_workers(device.type, self.cpu_workers)
        # on a GPU the CPU stages (tokenising, building answers) overlap the model; on a CPU the model uses every core
        self._pipelined = device.type != "cpu"
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._use_type_ids = (
            "token_type_ids" in tokenizer.model_input_names and getattr(model.config, "type_vocab_size", 1) > 1
        )
        self._model = model
        self._read_chunk(["warm up"], [[Document(content="warm up")]], self.top_k, 0.0, self.max_answer_length)

    def question_token_count(self, question: str) -> int:
        """
        Tokens of ``question`` without special tokens (compare with ``max_query_length``); before :meth:`warm_up`,
        with the tokenizer alone, so that a question that is too long is refused without loading the model.
        """
        if self._question_tokenizer is None:
            token = self.token.resolve_value() if self.token else None
            self._tokenizer = _load_tokenizer(self.model_name, token)
            self._question_tokenizer = _question_tokenizer(self._tokenizer)
        return len(self._question_tokenizer.encode(question, add_special_tokens=False).ids)

    @component.output_types(answers=list[ExtractedAnswer])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
        max_answer_length: int | None = None,
    ) -> dict[str, Any]:
        """
        Answer one question from its passages.

        :returns: ``{"answers": [...]}``: up to ``top_k`` spans, best first, and the no-answer entry
            (``data=None``), first when no-answer wins, else after the spans that beat it.
        """
        return {"answers": self.read_batch([query], [documents], top_k, no_answer_threshold, max_answer_length)[0]}

    def read_batch(
        self,
        queries: list[str],
        documents: list[list[Document]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
        max_answer_length: int | None = None,
    ) -> list[list[ExtractedAnswer]]:
        """Answer many questions, each from its own passages; same output per question as :meth:`run`."""
        return list(self.iter_read_batch(queries, documents, top_k, no_answer_threshold, max_answer_length))

    def iter_read_batch(
        self,
        queries: Iterable[str],
        documents: Iterable[list[Document]],
        top_k: int | None = None,
        no_answer_threshold: float | None = None,
        max_answer_length: int | None = None,
    ) -> Iterator[list[ExtractedAnswer]]:
        """Like :meth:`read_batch`, yielding each question's answers as its chunk is done (bounded memory)."""
        self.warm_up()
        top_k = self.top_k if top_k is None else top_k
        threshold = self.no_answer_threshold if no_answer_threshold is None else no_answer_threshold
        max_answer_length = self.max_answer_length if max_answer_length is None else max_answer_length
        chunks = _chunks(queries, documents)
        if not self._pipelined:
            for chunk_queries, chunk_documents in chunks:
                yield from self._read_chunk(chunk_queries, chunk_documents, top_k, threshold, max_answer_length)
            return
        yield from self._read_pipelined(chunks, top_k, threshold, max_answer_length)

    def _read_pipelined(
        self,
        chunks: Iterator[tuple[list[str], list[list[Document]]]],
        top_k: int,
        threshold: float,
        max_answer_length: int,
    ) -> Iterator[list[ExtractedAnswer]]:
        """
        Read chunk by chunk with three stages at once: while the model reads chunk ``i`` (this thread, mostly waiting
        on the device), one thread tokenises chunk ``i + 1`` and another builds the answers of chunk ``i - 1``.
        Answers come out in input order; at most three chunks are held at a time.
        """
        k = max(20, 2 * top_k)
        with ThreadPoolExecutor(2, thread_name_prefix="docqa-reader") as pool:

            def tokenise_next():
                chunk = next(chunks, None)
                return None if chunk is None else (chunk, pool.submit(self._preprocess, *chunk))

            upcoming = tokenise_next()
            answering = None
            while upcoming is not None:
                (chunk_queries, chunk_documents), tokenising = upcoming
                windows = tokenising.result()
                upcoming = tokenise_next()
                decoded = self._decode(windows, max_answer_length, k)
                if answering is not None:
                    yield from answering.result()
                answering = pool.submit(
                    self._answers, chunk_queries, chunk_documents, windows, decoded, top_k, threshold
                )
            if answering is not None:
                yield from answering.result()

    def _preprocess(self, queries: list[str], documents: list[list[Document]]) -> list[_Window]:
        """
        Cut questions to ``max_query_length`` tokens and split every (question, passage) pair into windows, which come
        question by question, in the order of ``queries``. Each distinct question and passage is tokenised once and
        the windows are assembled from their tokens (:mod:`docqa.pair_windows`), unless the tokenizer's pair layout
        could not be confirmed at warm-up: then every pair is tokenised.
        """
        encodings = self._question_tokenizer.encode_batch(queries, add_special_tokens=False)
        questions = [self._cut_question(encoding, query) for encoding, query in zip(encodings, queries, strict=True)]
        pair_index = [
            (q, d)
            for q, docs in enumerate(documents)
            for d, doc in enumerate(docs)
            if doc.content is not None and doc.content.strip()
        ]
        if self._layout is None:
            return self._tokenise_pairs(questions, documents, pair_index)
        cut = [q for q, (question, query) in enumerate(zip(questions, queries, strict=True)) if question is not query]
        cut_encodings = self._question_tokenizer.encode_batch([questions[q] for q in cut], add_special_tokens=False)
        for q, encoding in zip(cut, cut_encodings, strict=True):
            encodings[q] = encoding
        question_ids = [np.asarray(encoding.ids, dtype=np.int64) for encoding in encodings]
        texts = list(dict.fromkeys(documents[q][d].content for q, d in pair_index))
        passages = {
            text: (encoding, np.asarray(encoding.ids, dtype=np.int64))
            for text, encoding in zip(
                texts, self._question_tokenizer.encode_batch(texts, add_special_tokens=False), strict=True
            )
        }
        layout = self._layout
        windows = []
        for q, d in pair_index:
            passage, passage_ids = passages[documents[q][d].content]
            ranges = piece_ranges(
                len(question_ids[q]), len(passage_ids), layout.added_tokens, self.max_seq_len, self.doc_stride
            )
            if ranges is None:  # a pair the tokenizer refuses: its own error
                windows.extend(self._tokenise_pairs(questions, documents, [(q, d)]))
                continue
            context_start = layout.context_start(len(question_ids[q]))
            for start, stop in ranges:
                if stop == start:
                    continue
                type_ids = layout.window_type_ids(len(question_ids[q]), stop - start) if self._use_type_ids else None
                ids = layout.window_ids(question_ids[q], passage_ids[start:stop])
                context_end = context_start + stop - start
                windows.append(_Window(q, d, ids, type_ids, context_start, context_end, passage, start - context_start))
        return windows

    def _tokenise_pairs(
        self, questions: list[str], documents: list[list[Document]], pair_index: list[tuple[int, int]]
    ) -> list[_Window]:
        """The windows of the (question, passage) pairs ``pair_index``, tokenised pair by pair by the tokenizer."""
        encodings = self._pair_tokenizer.encode_batch(
            [(questions[q], documents[q][d].content) for q, d in pair_index], add_special_tokens=True
        )
        windows = []
        for (q, d), first in zip(pair_index, encodings, strict=True):
            for encoding in [first, *first.overflowing]:
                sequence_ids = encoding.sequence_ids
                if 1 not in sequence_ids:
                    continue
                start = sequence_ids.index(1)
                end = len(sequence_ids) - sequence_ids[::-1].index(1)
                type_ids = np.asarray(encoding.type_ids, dtype=np.int64) if self._use_type_ids else None
                ids = np.asarray(encoding.ids, dtype=np.int64)
                windows.append(_Window(q, d, ids, type_ids, start, end, encoding, 0))
        return windows

    def _cut_question(self, encoding: Any, query: str) -> str:
        if len(encoding.ids) <= self.max_query_length:
            return query
        return query[: encoding.offsets[self.max_query_length - 1][1]]

    def _batches(self, windows: list[_Window]) -> Iterator[list[int]]:
        """Window indices grouped by the token budget, longest first, each batch padded to its longest's width."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].ids), reverse=True)
        position = 0
        while position < len(order):
            longest = padded_width(len(windows[order[position]].ids), self.max_seq_len)
            size = max(1, self._budget // longest)
            yield order[position : position + size]
            position += size

    def _inputs(self, windows: list[_Window], batch: list[int]) -> tuple[dict[str, Any], Any]:
        """Model inputs of one batch padded to its width, and the passage bounds ``(2, B)``, on the device."""
        import torch

        device = self._torch_device
        width = padded_width(len(windows[batch[0]].ids), self.max_seq_len)
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        lengths = np.empty(len(batch), dtype=np.int64)
        bounds = np.empty((2, len(batch)), dtype=np.int64)
        type_ids = np.zeros((len(batch), width), dtype=np.int64) if self._use_type_ids else None
        for row, index in enumerate(batch):
            window = windows[index]
            length = len(window.ids)
            ids[row, :length] = window.ids
            lengths[row] = length
            bounds[0, row], bounds[1, row] = window.context_start, window.context_end
            if type_ids is not None:
                type_ids[row, :length] = window.type_ids
        host = [torch.from_numpy(array) for array in (ids, lengths, bounds)]
        if type_ids is not None:
            host.append(torch.from_numpy(type_ids))
        if device.type == "cuda":
            host = [tensor.pin_memory() for tensor in host]
        on_device = [tensor.to(device, non_blocking=True) for tensor in host]
        positions = torch.arange(width, device=device)
        inputs = {"input_ids": on_device[0], "attention_mask": (positions < on_device[1][:, None]).long()}
        if type_ids is not None:
            inputs["token_type_ids"] = on_device[3]
        return inputs, on_device[2]

    def _forward(self, windows: list[_Window], batch: list[int], max_answer_length: int, k: int):
        """Run the model on one batch and decode it on the device; returns device tensors (no host sync)."""
        import torch

        from docqa import span_decoding

        inputs, bounds = self._inputs(windows, batch)
        with torch.inference_mode(), attention_kernels(self._torch_device.type):
            output = self._model(**inputs)
            mask = span_decoding.context_mask(bounds[0], bounds[1], inputs["input_ids"].shape[1])
            scores, starts, ends = span_decoding.top_spans(
                output.start_logits, output.end_logits, mask, max_answer_length, k
            )
            nulls = span_decoding.null_scores(output.start_logits, output.end_logits)
        return scores, starts, ends, nulls

    def _read_chunk(
        self,
        queries: list[str],
        documents: list[list[Document]],
        top_k: int,
        threshold: float,
        max_answer_length: int,
    ) -> list[list[ExtractedAnswer]]:
        windows = self._preprocess(queries, documents)
        decoded = self._decode(windows, max_answer_length, max(20, 2 * top_k))
        return self._answers(queries, documents, windows, decoded, top_k, threshold)

    def _decode(
        self, windows: list[_Window], max_answer_length: int, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """
        The model and span decoding over every window, in batches: ``(scores, starts, ends, nulls)`` on the host,
        one row per window in ``windows`` order (``k`` best spans each); None when there is no window.
        """
        import torch

        batches = list(self._batches(windows))
        if not batches:
            return None
        order = np.asarray([index for batch in batches for index in batch])
        outputs = list(
            map_in_workers(lambda batch: self._forward(windows, batch, max_answer_length, k), batches, *self._workers)
        )
        decoded = [torch.cat([output[part] for output in outputs]).cpu().numpy() for part in range(4)]
        restore = np.empty(len(order), dtype=np.int64)
        restore[order] = np.arange(len(order))
        scores, starts, ends, nulls = (part[restore] for part in decoded)
        return scores, starts, ends, nulls

    def _answers(
        self,
        queries: list[str],
        documents: list[list[Document]],
        windows: list[_Window],
        decoded: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
        top_k: int,
        threshold: float,
    ) -> list[list[ExtractedAnswer]]:
        """Each question's answers from the decoded windows (see :meth:`_decode`)."""
        if decoded is None:
            return [
                self._postprocess(query, docs, [], None, top_k, threshold)
                for query, docs in zip(queries, documents, strict=True)
            ]
        # _preprocess emits each question's windows together, in question order: one slice per question
        first = np.searchsorted([window.question for window in windows], np.arange(len(queries) + 1))
        return [
            self._postprocess(
                query,
                docs,
                windows[first[q] : first[q + 1]],
                tuple(part[first[q] : first[q + 1]] for part in decoded),
                top_k,
                threshold,
            )
            for q, (query, docs) in enumerate(zip(queries, documents, strict=True))
        ]

    def _postprocess(
        self,
        query: str,
        documents: list[Document],
        windows: list[_Window],
        decoded: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
        top_k: int,
        threshold: float,
    ) -> list[ExtractedAnswer]:
        """Turn one question's decoded windows into ranked, deduplicated answers plus the no-answer entry."""
        spans: list[tuple[float, int, int, int]] = []
        min_null = math.inf
        if windows and decoded is not None:
            scores, starts, ends, nulls = decoded
            min_null = float(nulls.min())
            flat = scores.ravel()
            order = np.argsort(-flat, kind="stable")
            ranked = flat[order]
            infinite = np.flatnonzero(~np.isfinite(ranked))
            order = order[: infinite[0]] if len(infinite) else order
            places = [_place(document, index) for index, document in enumerate(documents)]
            seen: set[tuple[Any, int, int]] = set()
            kept: dict[Any, list[tuple[int, int]]] = {}
            for score, w, first, last in zip(
                ranked[: len(order)].tolist(),
                (order // scores.shape[1]).tolist(),
                starts.ravel()[order].tolist(),
                ends.ravel()[order].tolist(),
                strict=True,
            ):
                if len(spans) >= top_k:
                    break
                window = windows[w]
                first_characters, last_characters = window.characters(first), window.characters(last)
                if first_characters is None or last_characters is None:
                    continue
                start, end = first_characters[0], last_characters[1]
                source, offset = places[window.document]
                key = (source, offset + start, offset + end)
                if end <= start or key in seen:
                    continue
                seen.add(key)
                same_source = kept.setdefault(source, [])
                if self.overlap_threshold is not None and _overlaps_kept(
                    same_source, offset + start, offset + end, self.overlap_threshold
                ):
                    continue
                same_source.append((offset + start, offset + end))
                spans.append((score, window.document, start, end))
        best = spans[0][0] if spans else -math.inf
        gap = min_null - best if math.isfinite(min_null) and spans else math.inf
        answers = [
            self._answer(query, documents[d], score, start, end, min_null, threshold) for score, d, start, end in spans
        ]
        no_answer = ExtractedAnswer(
            query=query,
            score=_sigmoid(gap - threshold) if math.isfinite(gap) else 1.0,
            data=None,
            document=None,
            meta={"no_answer_gap": gap},
        )
        if gap > threshold:
            position = 0
        else:
            position = max(1, sum(answer.score > no_answer.score for answer in answers))
        answers.insert(position, no_answer)
        return answers

    @staticmethod
    def _answer(
        query: str, document: Document, score: float, start: int, end: int, min_null: float, threshold: float
    ) -> ExtractedAnswer:
        meta: dict[str, Any] = {"logit_gap": score - min_null}
        page = document.meta.get("page_number")
        if isinstance(page, int):
            meta["page_number"] = page + document.content.count("\f", 0, start)
        return ExtractedAnswer(
            query=query,
            score=_sigmoid(score - min_null + threshold),
            data=document.content[start:end],
            document=document,
            document_offset=ExtractedAnswer.Span(start, end),
            meta=meta,
        )


def _chunks(
    queries: Iterable[str], documents: Iterable[list[Document]]
) -> Iterator[tuple[list[str], list[list[Document]]]]:
    """Questions with their passages, grouped so that a group holds about :data:`PAIRS_PER_CHUNK` pairs."""
    chunk_queries: list[str] = []
    chunk_documents: list[list[Document]] = []
    pairs = 0
    for query, docs in zip(queries, documents, strict=True):
        chunk_queries.append(query)
        chunk_documents.append(docs)
        pairs += len(docs)
        if pairs >= PAIRS_PER_CHUNK:
            yield chunk_queries, chunk_documents
            chunk_queries, chunk_documents, pairs = [], [], 0
    if chunk_queries:
        yield chunk_queries, chunk_documents


def _default_budget(device_type: str, precision: str) -> int:
    if device_type != "cpu":
        return GPU_TOKENS_PER_BATCH
    return CPU_INT8_TOKENS_PER_BATCH if precision == "int8" else CPU_TOKENS_PER_BATCH


def _half_precision_body(model: Any, dtype: Any) -> Any:
    """
    Cast the model to ``dtype`` but keep its span head (``qa_outputs``) in fp32, fed fp32 hidden states.

    The head is tiny, and rounding logits of size ~10 to bf16 (8 bits of mantissa) would move them by up to 0.03,
    as much as the whole encoder's error; with an fp32 head the logits carry only the encoder's rounding.
    """
    import torch

    model = model.to(dtype)
    for name in SPAN_HEADS:
        head = getattr(model, name, None)
        if not isinstance(head, torch.nn.Linear):
            continue
        head.float()
        head.register_forward_pre_hook(lambda _module, args: tuple(arg.float() for arg in args))
    return model


def _question_tokenizer(tokenizer: Any) -> Any:
    """A copy of ``tokenizer``'s Rust tokenizer that neither pads nor truncates (questions are cut by tokens)."""
    backend = tokenizer.backend_tokenizer
    question = type(backend).from_str(backend.to_str())
    question.no_padding()
    question.no_truncation()
    return question


def _load(name: str, token: str | None, tokenizer: Any = None) -> tuple[Any, Any]:
    """
    Load the fast tokenizer and the QA model from a local directory, the HF cache, or the hub (probed quickly).

    :param tokenizer: the tokenizer :func:`_load_tokenizer` already loaded for ``name``: only the model is loaded.

    :raises docqa.errors.ModelLoadError: with one line saying why.
    """
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    return _load_from_source(
        lambda source, **kwargs: _from_pretrained(
            AutoTokenizer, AutoModelForQuestionAnswering, source, tokenizer=tokenizer, **kwargs
        ),
        name,
        token,
    )


def _load_tokenizer(name: str, token: str | None) -> Any:
    """The model's fast tokenizer alone, found as :func:`_load` finds the model (to check a question's length)."""
    from transformers import AutoTokenizer

    return _load_from_source(lambda source, **kwargs: _fast_tokenizer(AutoTokenizer, source, **kwargs), name, token)


def _load_from_source(load: Callable[..., Any], name: str, token: str | None) -> Any:
    """``load(source, **from_pretrained_kwargs)`` from a local directory, the HF cache, or the hub, as one line on
    failure."""
    path = Path(name).expanduser()
    local = path.is_dir()
    if not local and (path.exists() or looks_like_path(name)):
        raise ModelLoadError(name, SETTING, "no such model directory", local=True)
    kwargs: dict[str, Any] = {"token": token}
    if local:
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                name, SETTING, "the directory has no config.json (not a Hugging Face model directory)", local=True
            )
        name = str(path)
    else:
        try:
            return load(name, local_files_only=True, **kwargs)
        except NotAReaderModelError:
            raise
        except Exception:  # not in the local cache (or broken there): try the hub below
            pass
        require_hub(name, SETTING)
    try:
        return load(name, **kwargs)
    except NotAReaderModelError:
        raise
    except Exception as error:  # whatever from_pretrained raises, the user gets one line
        raise ModelLoadError(name, SETTING, first_line(error).rstrip(".")) from error


def _fast_tokenizer(tokenizer_class: Any, name: str, **kwargs: Any) -> Any:
    tokenizer = tokenizer_class.from_pretrained(name, **kwargs)
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ValueError("the reader needs a fast (tokenizers) tokenizer and this model has none")
    return tokenizer


def _from_pretrained(
    tokenizer_class: Any, model_class: Any, name: str, tokenizer: Any = None, **kwargs: Any
) -> tuple[Any, Any]:
    tokenizer = tokenizer or _fast_tokenizer(tokenizer_class, name, **kwargs)
    try:
        model, loading = model_class.from_pretrained(
            name, attn_implementation="sdpa", output_loading_info=True, **kwargs
        )
    except ValueError as error:
        if "sdpa" not in str(error).lower():
            raise
        model, loading = model_class.from_pretrained(name, output_loading_info=True, **kwargs)
    if any("qa_outputs" in key for key in loading.get("missing_keys", ())):
        raise NotAReaderModelError(name, SETTING)
    return tokenizer, model
