"""Loading and fast encoding of sentence-transformers models, shared by the query and passage embedders.

Models are cached per (model, device, precision), so the query side reuses what indexing or another component has
already loaded. Encoding tokenizes once, sorts by token length, batches by a token budget and pads every batch to its
own longest text, which gives the same vectors as ``SentenceTransformer.encode`` in fp32.
"""

import logging
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch

from docqa.attention_kernels import attention_kernels
from docqa.cpu_workers import map_in_workers, plan_workers
from docqa.errors import ModelLoadError
from docqa.hardware import default_cpu_precision, require_device
from docqa.model_sources import first_line, looks_like_path, require_hub
from docqa.shapes import padded_width

logger = logging.getLogger(__name__)

SETTING = "DOCQA_EMBEDDING_MODEL"
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
# Token budgets of one forward pass, measured on all-MiniLM-L6-v2 (bench/RESULTS.md): 4096 beats larger budgets in
# fp32 and bf16; int8 is fastest with 2048, where the 2048 x 1536 feed-forward activations stay in the cache.
DEFAULT_MAX_TOKENS_PER_BATCH = 4096
INT8_MAX_TOKENS_PER_BATCH = 2048
# On a GPU small batches leave it waiting on Python: the budget is the reader's (bench/RESULTS.md, GPU).
GPU_MAX_TOKENS_PER_BATCH = 32768
_TOKENIZE_CHUNK = 1024
# On a GPU the vectors stay there until this many batches are done, then come back in one copy.
_BATCHES_PER_COPY = 32

# Features of a tokenized text and the tokenizers.Encoding field that holds each.
_ENCODING_FIELDS = {"input_ids": "ids", "token_type_ids": "type_ids", "attention_mask": "attention_mask"}
# Texts on which the fast tokenizer must give what sentence-transformers gives (accents, case, symbols, spacing,
# emoji, an empty text; a long one is added for truncation).
_PROBE_TEXTS = (
    "Hello World",
    "ÉCOLE naïve CAFÉ in São Paulo — 42 km/h, «quoted», 3.5% and 😀",
    "  spaced   out\ttext\n with a newline  ",
    "",
    "Zoë's résumé: ﬁne ligatures, Ⅻ numerals and ｆｕｌｌ width",
)

_cache: dict[tuple[str, str, str], Any] = {}
# Per model: the maximum length it was probed at, and what text_tokenizer found.
_text_tokenizers: "weakref.WeakKeyDictionary[Any, tuple[int | None, Any]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def resolve_device(device: str | None) -> str:
    """
    Turn a device setting into a torch device string.

    :param device: ``None`` or ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    :returns: the device to load on.
    :raises docqa.errors.DeviceUnavailableError: when the machine has no such device.
    """
    device = (device or "auto").strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return require_device(device)


def resolve_precision(precision: str, device: str) -> str:
    """
    Turn a precision setting into the one used on ``device``.

    ``auto`` is fp16 on CUDA and, on a CPU, :func:`docqa.hardware.default_cpu_precision`: bf16 with native bf16,
    int8 with VNNI or AVX2, else fp32 (bench/RESULTS.md); int8 (dynamic quantization of the linear layers) exists on CPU
    only.

    :raises ValueError: for an unknown precision.
    """
    precision = (precision or "auto").strip().lower()
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    on_cpu = device == "cpu"
    if precision == "auto":
        return default_cpu_precision() if on_cpu else "fp16"
    if precision == "int8" and not on_cpu:
        return "fp16"
    return precision


def _load_sentence_transformer(model: str, device: str) -> Any:
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelLoadError(model, SETTING, "the directory has no config.json or modules.json", local=True)
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as error:
            raise ModelLoadError(model, SETTING, first_line(error)) from error
    if path.exists():
        raise ModelLoadError(model, SETTING, "it is a file, not a model directory", local=True)
    if looks_like_path(model):
        raise ModelLoadError(model, SETTING, "no such directory", local=True)
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(model, device=device, local_files_only=True)
    except Exception:
        logger.debug("%s is not in the local Hugging Face cache", model)
    require_hub(model, SETTING)
    try:
        return SentenceTransformer(model, device=device)
    except Exception as error:
        raise ModelLoadError(model, SETTING, first_line(error)) from error


def _apply_precision(st_model: Any, precision: str) -> Any:
    if precision == "bf16":
        return st_model.to(torch.bfloat16)
    if precision == "fp16":
        return st_model.to(torch.float16)
    if precision == "int8":
        from docqa.quantization import quantize_linear_layers

        return quantize_linear_layers(st_model)
    return st_model


def resolved(model: str | None, device: str | None = None, precision: str = "auto") -> tuple[str, str, str]:
    """
    The model, device and precision an embedder with these parameters runs with.

    :param model: hub name or local directory; None reads ``DOCQA_EMBEDDING_MODEL``.
    :param device: see :func:`resolve_device`; None reads ``DOCQA_DEVICE``.
    :param precision: see :func:`resolve_precision`.
    """
    if model is None or device is None:
        from docqa.settings import get_settings

        settings = get_settings()
        model = model or settings.embedding_model
        device = device or settings.device
    device = resolve_device(device)
    return model, device, resolve_precision(precision, device)


def load_model(model: str | None, device: str | None = None, precision: str = "auto") -> Any:
    """
    Load a sentence-transformers model once per (model, device, precision) and return the cached instance.

    :param model: hub name or local directory; None reads ``DOCQA_EMBEDDING_MODEL``.
    :param device: see :func:`resolve_device`; None reads ``DOCQA_DEVICE``.
    :param precision: see :func:`resolve_precision`.
    :returns: a ``SentenceTransformer`` in eval mode with the requested weights.
    :raises docqa.errors.ModelLoadError: when the model cannot be loaded.
    """
    key = resolved(model, device, precision)
    model, device, precision = key
    with _lock:
        if key not in _cache:
            st_model = _load_sentence_transformer(model, device)
            st_model.eval()
            _cache[key] = _apply_precision(st_model, precision)
        return _cache[key]


def clear_cache() -> None:
    """Forget every loaded model."""
    with _lock:
        _cache.clear()


def embedding_dimension(st_model: Any) -> int:
    """The dimension of the vectors ``st_model`` produces."""
    getter = getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension
    return int(getter())


def tokenize(st_model: Any, texts: list[str]) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
    """
    Tokenize ``texts`` the way the model does (truncation included), in chunks, without padding.

    With the model's fast tokenizer directly where it gives exactly what sentence-transformers' ``preprocess`` does
    (checked once per model, :func:`text_tokenizer`): twice as fast, and the Rust tokenizer does not hold the GIL.

    :returns: one dict of 1-D arrays per text, and the non-tensor features the model expects alongside.
    """
    direct = text_tokenizer(st_model)
    if direct is None:
        return _preprocessed(st_model, texts)
    tokenizer, keys, extra = direct
    rows: list[dict[str, np.ndarray]] = []
    for start in range(0, len(texts), _TOKENIZE_CHUNK):
        rows.extend(_rows(tokenizer.encode_batch(texts[start : start + _TOKENIZE_CHUNK]), keys))
    return rows, dict(extra)


def text_tokenizer(st_model: Any) -> tuple[Any, tuple[str, ...], dict[str, Any]] | None:
    """
    The model's fast tokenizer set up to give, text by text, the features sentence-transformers' ``preprocess``
    gives (same ids, type ids and mask on probe texts, truncation included), with those features' names and the
    non-tensor features ``preprocess`` adds; None where it does not (prompts, other processors, slow tokenizers).
    Probed again when the model's ``max_seq_length`` changes.
    """
    limit = getattr(st_model, "max_seq_length", None)
    with _lock:
        known = _text_tokenizers.get(st_model)
    if known is not None and known[0] == limit:
        return known[1]
    found = _probe_text_tokenizer(st_model)
    with _lock:
        _text_tokenizers[st_model] = (limit, found)
    return found


def _probe_text_tokenizer(st_model: Any) -> tuple[Any, tuple[str, ...], dict[str, Any]] | None:
    tokenizer = getattr(st_model, "tokenizer", None)
    limit = getattr(st_model, "max_seq_length", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False) or not limit:
        return None
    from tokenizers import Tokenizer

    direct = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    direct.no_padding()
    direct.enable_truncation(int(limit))
    texts = [*_PROBE_TEXTS, " ".join(_PROBE_TEXTS) * (int(limit) // 8 + 1)]
    try:
        expected, extra = _preprocessed(st_model, texts)
    except Exception:
        logger.debug("sentence-transformers preprocess failed on the probe texts", exc_info=True)
        return None
    keys = tuple(expected[0])
    if not set(keys) <= set(_ENCODING_FIELDS):
        return None
    found = _rows(direct.encode_batch(texts), keys)
    same = all(
        row[key].dtype == want[key].dtype and np.array_equal(row[key], want[key])
        for row, want in zip(found, expected, strict=True)
        for key in keys
    )
    return (direct, keys, extra) if same else None


def _rows(encodings: list[Any], keys: tuple[str, ...]) -> list[dict[str, np.ndarray]]:
    return [
        {key: np.asarray(getattr(encoding, _ENCODING_FIELDS[key]), dtype=np.int64) for key in keys}
        for encoding in encodings
    ]


def _preprocessed(st_model: Any, texts: list[str]) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
    """:func:`tokenize` through sentence-transformers' ``preprocess``: padded per chunk, then cut back per text."""
    rows: list[dict[str, np.ndarray]] = []
    extra: dict[str, Any] = {}
    for start in range(0, len(texts), _TOKENIZE_CHUNK):
        features = st_model.preprocess(texts[start : start + _TOKENIZE_CHUNK])
        mask = features["attention_mask"].bool()
        arrays = {
            k: v.numpy() for k, v in features.items() if isinstance(v, torch.Tensor) and v.shape[:2] == mask.shape
        }
        extra.update({k: v for k, v in features.items() if k not in arrays})
        mask = mask.numpy()
        rows.extend({k: v[i][mask[i]] for k, v in arrays.items()} for i in range(mask.shape[0]))
    return rows, extra


def plan_batches(lengths: list[int], max_tokens_per_batch: int) -> list[list[int]]:
    """
    Group indices longest first so that every batch, padded to its own longest text, holds at most
    ``max_tokens_per_batch`` tokens (a single longer text still forms a batch of one).

    :returns: lists of indices into ``lengths``.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens_per_batch:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def collate(
    rows: list[dict[str, np.ndarray]], pad_token_id: int, padding_side: str = "right", width: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad the rows of one batch (from :func:`tokenize`) to ``width`` tokens (None: the longest row's)."""
    longest = max(len(row["attention_mask"]) for row in rows) if width is None else width
    batch = {}
    for key in rows[0]:
        pad = pad_token_id if key == "input_ids" else 0
        out = np.full((len(rows), longest), pad, dtype=rows[0][key].dtype)
        for i, row in enumerate(rows):
            n = len(row[key])
            if padding_side == "left":
                out[i, longest - n :] = row[key]
            else:
                out[i, :n] = row[key]
        batch[key] = torch.from_numpy(out)
    return batch


def default_tokens_per_batch(st_model: Any) -> int:
    """The measured best token budget for ``st_model``: larger on a GPU, smaller when its linear layers are int8."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    quantized = any(isinstance(module, DynamicLinear) for module in st_model.modules())
    return tokens_per_batch(st_model.device.type, quantized)


def tokens_per_batch(device_type: str, quantized: bool) -> int:
    """The default token budget on ``device_type`` ("cpu", "cuda", ...) for a model with int8 layers or not."""
    if device_type != "cpu":
        return GPU_MAX_TOKENS_PER_BATCH
    return INT8_MAX_TOKENS_PER_BATCH if quantized else DEFAULT_MAX_TOKENS_PER_BATCH


def encode(
    st_model: Any,
    texts: list[str],
    max_tokens_per_batch: int | None = None,
    progress_bar: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """
    Embed ``texts`` with ``st_model``: normalised float32 vectors, one row per text, in input order.

    :param st_model: a model from :func:`load_model`.
    :param texts: the texts; the model truncates those longer than its maximum length.
    :param max_tokens_per_batch: token budget of one forward pass (batch size x padded length); None:
        :func:`default_tokens_per_batch`.
    :param progress_bar: show a progress bar over the batches.
    :param workers: batches embedded at once on the CPU, each on its share of torch's threads; None: one per
        thread, up to 4 (:func:`docqa.cpu_workers.plan_workers`). Ignored on a GPU.
    """
    dim = embedding_dimension(st_model)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    rows, extra = tokenize(st_model, texts)
    tokenizer = st_model.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    side = getattr(tokenizer, "padding_side", "right")
    device = st_model.device
    out = np.empty((len(texts), dim), dtype=np.float32)
    budget = default_tokens_per_batch(st_model) if max_tokens_per_batch is None else max_tokens_per_batch
    limit = getattr(st_model, "max_seq_length", None)
    widths = [padded_width(len(row["attention_mask"]), limit) for row in rows]
    batches = plan_batches(widths, max(1, int(budget)))
    workers, per_worker = plan_workers(device.type, workers)
    on_device: list[tuple[list[int], torch.Tensor]] = []

    def embed(batch: list[int]) -> None:
        features = collate([rows[i] for i in batch], pad_id, side, widths[batch[0]])
        features = {k: v.to(device, non_blocking=True) for k, v in features.items()}
        features.update(extra)
        with torch.inference_mode(), attention_kernels(device.type):
            vectors = st_model(features)["sentence_embedding"].float()
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        if not _copies_back_in_groups(device):
            out[batch] = vectors.numpy()
            return
        on_device.append((batch, vectors))
        if len(on_device) >= _BATCHES_PER_COPY:
            _copy_back(on_device, out)

    done = map_in_workers(embed, batches, workers, per_worker)
    if progress_bar:
        from tqdm import tqdm

        done = tqdm(done, total=len(batches), desc="embedding passages", unit="batch", leave=False, file=sys.stderr)
    for _ in done:
        pass
    _copy_back(on_device, out)
    return out


def _copies_back_in_groups(device: torch.device) -> bool:
    """Whether vectors wait on ``device`` and come back a group of batches at a time (one batch at a time there)."""
    return device.type != "cpu"


def _copy_back(on_device: list[tuple[list[int], torch.Tensor]], out: np.ndarray) -> None:
    """Move finished batches' vectors (with their row indices) into ``out`` in one copy, and empty the list."""
    if on_device:
        out[np.concatenate([batch for batch, _ in on_device])] = torch.cat([v for _, v in on_device]).cpu().numpy()
        on_device.clear()
