"""The embedded document store: Haystack's ``InMemoryDocumentStore`` persisted in a directory on disk.

On-disk layout of the store directory:

- ``snapshot.bin``: the whole store at one point, replaced atomically (temporary file, fsync, ``os.replace``).
  ``MAGIC | generation | crc32`` followed by one *block*: ``json length | rows | dim``, a JSON object with the
  ids, contents and meta of the documents, and the float32 embedding matrix (little endian, one row per
  document that has an embedding, in document order).
- ``journal.<generation>``: changes made since that snapshot, appended as records
  ``MAGIC | op | length | crc32 | payload`` (op 1: upsert, payload a block; op 2: delete, payload a JSON id list).
  Each change (one ``write_documents``, ``delete_documents``... call) is one record, appended and fsync'ed under the
  exclusive lock, so a crash can cut short only the last record: bytes after the last whole record that can be its
  start (a prefix of a record, a whole record with a checksum mismatch, or zeros where its header should be) are
  ignored by readers, who warn once, and cut off by the next writer; any other bytes make the journal damaged. When
  the journal grows larger than the snapshot, the next writer folds both into a new snapshot with the next generation.
- ``.lock``: writers hold an exclusive ``flock`` while they change the store, readers a shared one while they load
  it, so a reader never sees a half-written change and two writers never lose each other's documents.
"""

import errno
import fcntl
import gc
import io
import json
import os
import re
import struct
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
from haystack import Document, default_from_dict, default_to_dict, logging
from haystack.dataclasses import ByteStream, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.in_memory.document_store import (
    _CJK_CHAR_CLASS,
    BM25_SCALING_FACTOR,
    DOT_PRODUCT_SCALING_FACTOR,
    BM25DocumentStats,
    InMemoryDocumentStore,
)
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils import expit
from haystack.utils.filters import document_matches_filter

from docqa.bm25_scoring import BM25Index
from docqa.errors import EmbeddingDimensionError, StoreError

logger = logging.getLogger(__name__)

SNAPSHOT_NAME = "snapshot.bin"
_NOT_A_DIRECTORY = (
    "a file is in the way{where} (the path must be a directory, or not exist yet). Set DOCQA_STORE_PATH to a directory"
)
#: Superscript and subscript digits, signs and letters: ``¹²³`` and U+2070-U+209F.
_SCRIPT_MARK_CLASS = r"\u00b2\u00b3\u00b9\u2070-\u209f"
#: Haystack's BM25 tokens, with superscripts and subscripts between words rather than in them: a footnote mark
#: (``Revenue¹``) or an exponent (``m³``) no longer hides the word from a keyword query (``revenue``, ``m``).
#: Subscript digits are read as digits first (:meth:`EmbeddedDocumentStore._tokenize_bm25`): ``CO₂`` is ``co2``.
BM25_TOKENIZATION_REGEX = rf"[^\W{_CJK_CHAR_CLASS}{_SCRIPT_MARK_CLASS}]+|[{_CJK_CHAR_CLASS}]"
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_DISK_FULL_HINT = " The passages written before are kept: free some space and run the command again to index the rest."
LOCK_NAME = ".lock"
_SNAPSHOT_MAGIC = b"DQASNAP1"
_RECORD_MAGIC = b"DQAJ"
_SNAPSHOT_HEAD = struct.Struct("<8sQI")
_BLOCK_HEAD = struct.Struct("<QQI")
_RECORD_HEAD = struct.Struct("<4sB3xQI")
_OP_UPSERT = 1
_OP_DELETE = 2
#: The first bytes of every record header a writer writes: magic, op and padding.
_RECORD_STARTS = tuple(struct.pack("<4sB3x", _RECORD_MAGIC, op) for op in (_OP_UPSERT, _OP_DELETE))
_DTYPE = np.dtype("<f4")
_RECREATE_HINT = "Re-index with --recreate."


_SHARED: dict[tuple[str, str], "EmbeddedDocumentStore"] = {}
_SHARED_LOCK = threading.Lock()
#: Torn journal tails already warned about in this process: (journal path, first byte, end).
_WARNED_TAILS: set[tuple[str, int, int]] = set()


class _Damaged(Exception):
    """A snapshot or journal does not have the expected content."""


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _file_path_values(filters: dict[str, Any]) -> list[str] | None:
    """
    The file paths of a filter that selects passages by ``meta.file_path`` alone (``==`` one path, ``in`` a list, or
    an ``OR`` of those), else None. Paths that look like ISO dates are left to Haystack's matching, which compares
    dates, not strings.
    """
    if set(filters) == {"operator", "conditions"} and filters["operator"] == "OR" and filters["conditions"]:
        parts = [
            _file_path_values(condition) if isinstance(condition, dict) else None for condition in filters["conditions"]
        ]
        return None if any(part is None for part in parts) else [path for part in parts for path in part]
    if set(filters) != {"field", "operator", "value"} or filters["field"] != "meta.file_path":
        return None
    operator, value = filters["operator"], filters["value"]
    values = [value] if operator == "==" else value if operator == "in" and isinstance(value, list) else None
    if values is None or not all(isinstance(path, str) and not _ISO_DATE.match(path) for path in values):
        return None
    return values


def _new_document(doc_id: str, content: str | None, meta: dict[str, Any], extra: dict[str, Any] | None) -> Document:
    """Build a stored Document quickly: Haystack's constructor costs ~15 µs, too much for 100k documents at load."""
    doc = object.__new__(Document)
    doc.__dict__.update(
        id=doc_id,
        content=content,
        blob=ByteStream.from_dict(extra["blob"]) if extra and "blob" in extra else None,
        meta=meta,
        score=None,
        embedding=None,
        sparse_embedding=SparseEmbedding.from_dict(extra["sparse_embedding"])
        if extra and "sparse_embedding" in extra
        else None,
    )
    return doc


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while creating many objects: it would rescan them all, 4x slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_block(documents: list[Document], has_vector: list[bool], matrix: np.ndarray | None) -> list[Any]:
    """
    Encode documents and their embeddings as one block (header, JSON, float32 matrix).

    :param documents: the documents; their ``embedding`` field is ignored.
    :param has_vector: for each document, whether it has a row in ``matrix``.
    :param matrix: float32 matrix with one row per document that has an embedding, in document order.
    :returns: the block as a list of bytes-like objects (the matrix is not copied) to write one after the other.
    :raises ValueError: when a document's meta cannot be written as JSON.
    """
    extras = {}
    for position, doc in enumerate(documents):
        extra = {}
        if doc.blob is not None:
            extra["blob"] = doc.blob.to_dict()
        if doc.sparse_embedding is not None:
            extra["sparse_embedding"] = doc.sparse_embedding.to_dict()
        if extra:
            extras[str(position)] = extra
    payload = {
        "ids": [doc.id for doc in documents],
        "contents": [doc.content for doc in documents],
        "meta": [doc.meta for doc in documents],
        "vec": [int(flag) for flag in has_vector],
        "extra": extras,
    }
    try:
        text = json.dumps(payload, separators=(",", ":"), default=_json_default).encode("ascii")
    except (TypeError, ValueError) as error:
        raise ValueError(f"document meta must be JSON-serializable to be stored: {error}") from error
    text += b" " * (-len(text) % 4)
    rows, dim = (0, 0) if matrix is None else matrix.shape
    head = _BLOCK_HEAD.pack(len(text), rows, dim)
    body = b"" if matrix is None else np.ascontiguousarray(matrix, dtype=_DTYPE).reshape(-1).view(np.uint8)
    return [head, text, body]


def decode_block(stream: io.RawIOBase | io.BufferedIOBase) -> tuple[list[Document], list[bool], np.ndarray, int]:
    """
    Read one block written by :func:`encode_block`.

    :returns: the documents (without embeddings), which of them have a row, the matrix, and the crc32 of the block.
    :raises _Damaged: when the block is truncated or its JSON is invalid.
    """
    head = stream.read(_BLOCK_HEAD.size)
    if len(head) != _BLOCK_HEAD.size:
        raise _Damaged("truncated block header")
    text_len, rows, dim = _BLOCK_HEAD.unpack(head)
    if text_len > 1 << 40 or rows * dim > 1 << 40:
        raise _Damaged("impossible block sizes")
    text = stream.read(text_len)
    if len(text) != text_len:
        raise _Damaged("truncated block")
    matrix = np.empty((rows, dim), dtype=_DTYPE)
    view = matrix.reshape(-1).view(np.uint8)
    if view.size and stream.readinto(view) != view.size:
        raise _Damaged("truncated embedding matrix")
    crc = zlib.crc32(view, zlib.crc32(text, zlib.crc32(head)))
    try:
        payload = json.loads(text)
        ids, contents, metas, flags = payload["ids"], payload["contents"], payload["meta"], payload["vec"]
        extras = payload["extra"]
    except (ValueError, KeyError, TypeError) as error:
        raise _Damaged(f"invalid document data ({error})") from error
    if not len(ids) == len(contents) == len(metas) == len(flags) or sum(flags) != rows:
        raise _Damaged("inconsistent document counts")
    documents = [
        _new_document(doc_id, content, meta, extras.get(str(position)) if extras else None)
        for position, (doc_id, content, meta) in enumerate(zip(ids, contents, metas, strict=True))
    ]
    return documents, [bool(flag) for flag in flags], matrix, crc


def _write_parts(file: Any, parts: Iterable[bytes]) -> None:
    for part in parts:
        file.write(part)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EmbeddedDocumentStore(InMemoryDocumentStore):
    """
    An ``InMemoryDocumentStore`` that keeps its documents in a directory and survives restarts and crashes.

    Works with Haystack's ``InMemoryEmbeddingRetriever`` and ``InMemoryBM25Retriever``. Every change is on disk
    (fsync'ed) when the method returns; other processes sharing the directory see it on their next call.
    Embeddings are kept as one float32 matrix (so they come back as float32 values); ``score`` is not stored.
    """

    #: The journal is folded into a new snapshot once it is larger than the snapshot and than this many bytes.
    compact_min_bytes = 32 * 1024 * 1024

    def __init__(
        self,
        path: str,
        embedding_similarity_function: Literal["dot_product", "cosine"] = "cosine",
        bm25_algorithm: Literal["BM25Okapi", "BM25L", "BM25Plus"] = "BM25L",
        bm25_parameters: dict | None = None,
        bm25_tokenization_regex: str = BM25_TOKENIZATION_REGEX,
        return_embedding: bool = True,
        *,
        strict_datetime_comparison: bool = False,
    ) -> None:
        """
        Create the store; nothing is read or written until it is first used.

        :param path: directory of the store, created on the first write.
        :param embedding_similarity_function: ``"cosine"`` or ``"dot_product"``.
        :param bm25_algorithm: ``"BM25Okapi"``, ``"BM25L"`` or ``"BM25Plus"``.
        :param bm25_parameters: BM25 parameters such as ``{"k1": 1.5, "b": 0.75}``.
        :param bm25_tokenization_regex: regular expression whose matches are the BM25 tokens of lower-cased text.
        :param return_embedding: whether ``filter_documents`` returns embeddings (retrieval decides per call).
        :param strict_datetime_comparison: see ``InMemoryDocumentStore``.
        """
        super().__init__(
            bm25_tokenization_regex=bm25_tokenization_regex,
            bm25_algorithm=bm25_algorithm,
            bm25_parameters=bm25_parameters,
            embedding_similarity_function=embedding_similarity_function,
            shared=False,
            return_embedding=return_embedding,
            strict_datetime_comparison=strict_datetime_comparison,
        )
        self.path = str(path)
        self._dir = Path(path)
        self._mutex = threading.RLock()
        self._loaded = False
        self._generation = 0
        self._snapshot_id: tuple | None = None
        self._snapshot_size = 0
        self._journal_offset = 0
        self._journal_seen = 0
        self._clear_memory()

    def to_dict(self) -> dict[str, Any]:
        """Serialize the store's settings (not its documents)."""
        return default_to_dict(
            self,
            path=self.path,
            embedding_similarity_function=self.embedding_similarity_function,
            bm25_algorithm=self.bm25_algorithm,
            bm25_parameters=self.bm25_parameters,
            bm25_tokenization_regex=self.bm25_tokenization_regex,
            return_embedding=self.return_embedding,
            strict_datetime_comparison=self.strict_datetime_comparison,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EmbeddedDocumentStore":
        """Create a store from the output of :meth:`to_dict`."""
        return default_from_dict(cls, data)

    @classmethod
    def open_shared(cls, path: str, **kwargs: Any) -> "EmbeddedDocumentStore":
        """
        The one store of this process for a directory and settings, so several components share one copy in memory.

        :param path: directory of the store.
        :param kwargs: other ``__init__`` parameters.
        """
        key = (os.path.abspath(path), json.dumps(kwargs, sort_keys=True))
        with _SHARED_LOCK:
            store = _SHARED.get(key)
            if store is None:
                store = _SHARED[key] = cls(path=path, **kwargs)
            return store

    def warm_up(self, bm25: bool = False) -> None:
        """
        Load the store now instead of on first use (idempotent).

        :param bm25: also build the BM25 statistics, which the first keyword query would otherwise build.
        """
        with self._mutex:
            self._refresh()
            if bm25:
                self._ensure_bm25()

    # ----------------------------------------------------------------------------------------------- memory state

    def _clear_memory(self) -> None:
        self._local_storage: dict[str, Document] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._dim: int | None = None
        self._matrix_cache: tuple[list[str], dict[str, int], np.ndarray, np.ndarray] | None = None
        # passage ids by meta.file_path, in the store's order, and each id's place in that order (built on first use)
        self._by_file: dict[Any, dict[str, None]] | None = None
        self._order: dict[str, int] = {}
        self._next_order = 0
        self._models: set[str] | None = None
        self._bm25_ready = False
        self._bm25_index: BM25Index | None = None
        self._local_bm25_attr = {}
        self._local_freq_vocab_for_idf = Counter()
        self._local_avg_doc_len = 0.0
        self._bm25_total_len = 0

    @property
    def storage(self) -> dict[str, Document]:
        """The documents by id (without embeddings), brought up to date with the directory first."""
        self._refresh()
        return self._local_storage

    def _apply_block(self, documents: list[Document], has_vector: list[bool], matrix: np.ndarray) -> None:
        row = 0
        for doc, flag in zip(documents, has_vector, strict=True):
            self._remove(doc.id)
            self._local_storage[doc.id] = doc
            self._file_index_add(doc)
            if flag:
                self._vectors[doc.id] = matrix[row]
                row += 1
            if self._bm25_ready:
                self._bm25_add(doc)
        if matrix.shape[0]:
            self._dim = matrix.shape[1]
        self._matrix_cache = None
        self._models = None

    def _apply_delete(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            self._remove(doc_id)
        self._matrix_cache = None
        self._models = None

    def _remove(self, doc_id: str) -> None:
        doc = self._local_storage.pop(doc_id, None)
        if doc is None:
            return
        self._file_index_remove(doc)
        self._vectors.pop(doc_id, None)
        if self._bm25_ready:
            self._bm25_discard(doc_id)

    # ------------------------------------------------------------------------------------------------------- BM25

    def _ensure_bm25(self) -> None:
        if self._bm25_ready:
            return
        self._bm25_ready = True
        with _gc_paused():
            for doc in self._local_storage.values():
                self._bm25_add(doc)

    def _tokenize_bm25(self, text: str) -> list[str]:
        """BM25 tokens of ``text`` as Haystack's store makes them, with subscript digits read as digits."""
        return super()._tokenize_bm25(text.translate(_SUBSCRIPT_DIGITS))

    def _bm25_add(self, doc: Document) -> None:
        if doc.content is None:
            return
        tokens = self._tokenize_bm25(doc.content)
        self._bm25_index = None
        self._local_bm25_attr[doc.id] = BM25DocumentStats(Counter(tokens), len(tokens))
        self._local_freq_vocab_for_idf.update(set(tokens))
        self._bm25_total_len += len(tokens)
        self._local_avg_doc_len = self._bm25_total_len / len(self._local_bm25_attr)

    def _bm25_discard(self, doc_id: str) -> None:
        stats = self._local_bm25_attr.pop(doc_id, None)
        if stats is None:
            return
        self._bm25_index = None
        vocab = self._local_freq_vocab_for_idf
        for token in stats.freq_token:
            vocab[token] -= 1
            if vocab[token] <= 0:
                del vocab[token]
        self._bm25_total_len -= stats.doc_len
        count = len(self._local_bm25_attr)
        self._local_avg_doc_len = self._bm25_total_len / count if count else 0.0

    def _bm25(self) -> BM25Index:
        """The BM25 statistics arranged for scoring all passages at once (rebuilt after a change)."""
        self._ensure_bm25()
        if self._bm25_index is None:
            stats = self._local_bm25_attr
            ids = [doc_id for doc_id in self._local_storage if doc_id in stats]
            self._bm25_index = BM25Index(
                ids,
                [stats[doc_id] for doc_id in ids],
                self._local_freq_vocab_for_idf,
                self._local_avg_doc_len,
                self.bm25_algorithm,
                self.bm25_parameters,
            )
        return self._bm25_index

    # --------------------------------------------------------------------------------------------------- disk I/O

    def _snapshot_path(self) -> Path:
        return self._dir / SNAPSHOT_NAME

    def _journal_path(self, generation: int) -> Path:
        return self._dir / f"journal.{generation}"

    def _not_a_directory(self) -> str:
        """The message for a store path that is, or lies under, a file: naming that file when it is a parent."""
        for candidate in (self._dir, *self._dir.parents):
            if candidate.exists():
                where = f": {candidate} is a file" if candidate != self._dir and not candidate.is_dir() else ""
                return _NOT_A_DIRECTORY.format(where=where)
        return _NOT_A_DIRECTORY.format(where="")

    def _damaged(self, what: str, reason: str) -> StoreError:
        return StoreError(self.path, f"the {what} is damaged ({reason}). {_RECREATE_HINT}")

    def _read_snapshot_id(self) -> tuple | None:
        """Identity of the current snapshot file: generation, inode, mtime and size; None when there is none."""
        try:
            with open(self._snapshot_path(), "rb") as file:
                stat = os.fstat(file.fileno())
                head = file.read(_SNAPSHOT_HEAD.size)
        except FileNotFoundError:
            return None
        except NotADirectoryError as error:
            raise StoreError(self.path, self._not_a_directory()) from error
        except OSError as error:
            raise StoreError(self.path, f"cannot read {SNAPSHOT_NAME}: {error.strerror}") from error
        generation = _SNAPSHOT_HEAD.unpack(head)[1] if len(head) == _SNAPSHOT_HEAD.size else -1
        return (generation, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _journal_size(self) -> int:
        try:
            return os.stat(self._journal_path(self._generation)).st_size
        except FileNotFoundError:
            return 0

    @contextmanager
    def _file_lock(self, exclusive: bool) -> Iterator[None]:
        if exclusive:
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
            except (FileExistsError, NotADirectoryError) as error:
                raise StoreError(self.path, self._not_a_directory()) from error
            except OSError as error:
                raise StoreError(
                    self.path, f"cannot write there ({error.strerror}). Set DOCQA_STORE_PATH to a writable directory."
                ) from error
        else:
            try:
                fd = os.open(self._dir / LOCK_NAME, os.O_RDONLY)
            except OSError:
                fd = None  # no lock file: nobody ever wrote here, or the directory is read-only
        if fd is None:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _refresh(self) -> None:
        """Bring memory up to date with the directory; costs two ``stat`` calls when nothing changed."""
        with self._mutex:
            if (
                self._loaded
                and self._read_snapshot_id() == self._snapshot_id
                and self._journal_size() == self._journal_seen
            ):
                return
            with self._file_lock(exclusive=False):
                self._sync()

    def _sync(self) -> None:
        """Load what changed on disk; the caller holds the mutex and a file lock."""
        with _gc_paused():
            self._sync_now()

    def _sync_now(self) -> None:
        snapshot_id = self._read_snapshot_id()
        if not self._loaded or snapshot_id != self._snapshot_id:
            self._load(snapshot_id)
            return
        size = self._journal_size()
        if size < self._journal_offset:
            self._load(snapshot_id)
        elif size != self._journal_seen:
            self._replay(size)

    def _load(self, snapshot_id: tuple | None) -> None:
        self._loaded = False
        self._clear_memory()
        self._generation, self._snapshot_size = 0, 0
        if snapshot_id is not None:
            try:
                with open(self._snapshot_path(), "rb") as file:
                    snapshot_id = self._load_snapshot(file)
            except FileNotFoundError:
                snapshot_id = None
            except OSError as error:
                raise StoreError(self.path, f"cannot read {SNAPSHOT_NAME}: {error.strerror}") from error
        if snapshot_id is None:
            self._check_no_later_journal()
        self._snapshot_id = snapshot_id
        self._journal_offset = self._journal_seen = 0
        self._replay(self._journal_size())
        self._loaded = True

    def _check_no_later_journal(self) -> None:
        """A ``journal.N`` with N > 0 follows a snapshot: without ``snapshot.bin`` the store is damaged, not empty."""
        try:
            names = [entry.name for entry in os.scandir(self._dir)]
        except OSError:
            return
        later = sorted(
            name for name in names if name.startswith("journal.") and name[8:].isdigit() and name != "journal.0"
        )
        if later:
            raise StoreError(
                self.path, f"{SNAPSHOT_NAME} is missing but {later[0]} is there: the store is damaged. {_RECREATE_HINT}"
            )

    def _load_snapshot(self, file: io.BufferedReader) -> tuple:
        stat = os.fstat(file.fileno())
        try:
            head = file.read(_SNAPSHOT_HEAD.size)
            if len(head) != _SNAPSHOT_HEAD.size:
                raise _Damaged("truncated header")
            magic, generation, crc = _SNAPSHOT_HEAD.unpack(head)
            if magic != _SNAPSHOT_MAGIC:
                raise _Damaged("not a docqa store snapshot")
            documents, has_vector, matrix, block_crc = decode_block(file)
            if file.read(1):
                raise _Damaged("unexpected data after the end")
            if block_crc != crc:
                raise _Damaged("checksum mismatch")
        except _Damaged as error:
            raise self._damaged(SNAPSHOT_NAME, str(error)) from error
        self._local_storage = {doc.id: doc for doc in documents}
        self._by_file = None
        if len(self._local_storage) != len(documents):
            raise self._damaged(SNAPSHOT_NAME, "duplicate ids")
        if matrix.shape[0]:
            self._dim = matrix.shape[1]
        self._set_matrix_cache([doc.id for doc, flag in zip(documents, has_vector, strict=True) if flag], matrix)
        self._generation, self._snapshot_size = generation, stat.st_size
        return (generation, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _replay(self, size: int) -> None:
        """
        Apply the journal records between the last applied one and ``size``, up to a last record cut short.

        :raises docqa.errors.StoreError: when the journal holds bytes that no writer can have left there.
        """
        self._journal_seen = size
        if size <= self._journal_offset:
            return
        journal = self._journal_path(self._generation)
        try:
            with open(journal, "rb") as file:
                file.seek(self._journal_offset)
                data = file.read(size - self._journal_offset)
        except FileNotFoundError:
            return
        except OSError as error:
            raise StoreError(self.path, f"cannot read {journal.name}: {error.strerror}") from error
        self._local_storage = dict(self._local_storage)  # copy on write: readers may be iterating the old dict
        position = 0
        while position < len(data):
            head = data[position : position + _RECORD_HEAD.size]
            if not any(start.startswith(head[:8]) for start in _RECORD_STARTS):
                if any(head):
                    raise self._damaged(journal.name, f"bad record at byte {self._journal_offset + position}")
                break
            if len(head) < _RECORD_HEAD.size:
                break
            _, op, length, crc = _RECORD_HEAD.unpack(head)
            start, end = position + _RECORD_HEAD.size, position + _RECORD_HEAD.size + length
            if end > len(data):
                break
            payload = memoryview(data)[start:end]
            if zlib.crc32(payload) != crc:
                if end == len(data):
                    break
                raise self._damaged(journal.name, f"bad record at byte {self._journal_offset + position}")
            try:
                if op == _OP_UPSERT:
                    documents, has_vector, matrix, _ = decode_block(io.BytesIO(payload))
                    self._apply_block(documents, has_vector, matrix)
                else:
                    self._apply_delete(json.loads(bytes(payload)))
            except (_Damaged, ValueError) as error:
                raise self._damaged(journal.name, str(error)) from error
            position = end
        if position < len(data):
            self._warn_torn(journal, self._journal_offset + position, self._journal_offset + len(data))
        self._journal_offset += position

    def _warn_torn(self, journal: Path, start: int, end: int) -> None:
        """Tell the user, once per process, that the last record of ``journal`` is cut short at ``end``."""
        key = (os.path.abspath(journal), start, end)
        if key in _WARNED_TAILS:
            return
        _WARNED_TAILS.add(key)
        logger.warning(
            "document store {store}: the last change in {journal} was cut short (bytes {start}-{end} ignored): a crash "
            "while writing loses only that one change, a copy of the store cut short may lose later ones too. Index "
            "your files again to restore what is missing (unchanged files are skipped).",
            store=self.path,
            journal=journal.name,
            start=start,
            end=end,
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the mutex and the exclusive file lock, with memory up to date with the directory."""
        with self._mutex, self._file_lock(exclusive=True), _gc_paused():
            self._sync()
            yield

    def _commit(self, op: int, encode: Callable[[], list[Any]], estimate: int, apply: Callable[[], None]) -> None:
        """
        Make a change durable and apply it to memory.

        :param op: journal operation.
        :param encode: returns the record's payload.
        :param estimate: about how many bytes the payload has; when the journal would grow larger than the
            snapshot, the change goes into a new snapshot instead of the journal.
        :param apply: applies the change to memory.
        """
        self._local_storage = dict(self._local_storage)  # copy on write: readers may be iterating the old dict
        if self._journal_offset + estimate > max(self.compact_min_bytes, self._snapshot_size):
            apply()
            self._write_snapshot()
            return
        parts = encode()
        size = sum(len(part) for part in parts)
        journal = self._journal_path(self._generation)
        try:
            created = not journal.exists()
            with open(journal, "ab") as file:
                if file.tell() != self._journal_offset:
                    file.truncate(self._journal_offset)
                crc = 0
                for part in parts:
                    crc = zlib.crc32(part, crc)
                _write_parts(file, [_RECORD_HEAD.pack(_RECORD_MAGIC, op, size, crc), *parts])
                file.flush()
                os.fsync(file.fileno())
            if created:
                _fsync_dir(self._dir)
        except OSError as error:
            hint = _DISK_FULL_HINT if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise StoreError(self.path, f"cannot write {journal.name}: {error.strerror}.{hint}") from error
        apply()
        self._journal_offset = self._journal_seen = self._journal_offset + _RECORD_HEAD.size + size

    def _write_snapshot(self) -> None:
        """Write memory as the next generation's snapshot and drop the older journals."""
        documents = list(self._local_storage.values())
        has_vector = [doc.id in self._vectors for doc in documents]
        matrix = self._matrix()[2]
        parts = encode_block(documents, has_vector, matrix if matrix.shape[0] else None)
        crc = 0
        for part in parts:
            crc = zlib.crc32(part, crc)
        generation = self._generation + 1
        temporary = self._dir / f"{SNAPSHOT_NAME}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                with open(temporary, "wb") as file:
                    _write_parts(file, [_SNAPSHOT_HEAD.pack(_SNAPSHOT_MAGIC, generation, crc), *parts])
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self._snapshot_path())
            finally:
                temporary.unlink(missing_ok=True)
            _fsync_dir(self._dir)
        except BaseException as error:
            self._loaded = False
            if isinstance(error, OSError):
                hint = _DISK_FULL_HINT if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
                raise StoreError(self.path, f"cannot write {SNAPSHOT_NAME}: {error.strerror}.{hint}") from error
            raise
        for stale in self._dir.iterdir():
            name = stale.name
            if name.startswith(("journal.", f"{SNAPSHOT_NAME}.tmp-")):
                stale.unlink(missing_ok=True)
        self._generation = generation
        self._snapshot_id = self._read_snapshot_id()
        self._snapshot_size = self._snapshot_id[3] if self._snapshot_id else 0
        self._journal_offset = self._journal_seen = 0

    def compact(self) -> None:
        """Fold the journal into a new snapshot now (writers do it on their own when the journal grows large)."""
        with self._writing():
            self._write_snapshot()

    # ---------------------------------------------------------------------------------------------- embeddings

    def _set_matrix_cache(self, ids: list[str], matrix: np.ndarray) -> None:
        self._vectors = {doc_id: matrix[row] for row, doc_id in enumerate(ids)}
        norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix)) if matrix.shape[0] else np.empty(0, dtype=_DTYPE)
        self._matrix_cache = (ids, {doc_id: row for row, doc_id in enumerate(ids)}, matrix, norms)

    def _matrix(self) -> tuple[list[str], dict[str, int], np.ndarray, np.ndarray]:
        """Ids of the rows, row of each id, the embedding matrix in document order, and the rows' norms."""
        if self._matrix_cache is None:
            ids = [doc_id for doc_id in self._local_storage if doc_id in self._vectors]
            if ids:
                matrix = np.stack([self._vectors[doc_id] for doc_id in ids])
            else:
                matrix = np.empty((0, self._dim or 0), dtype=_DTYPE)
            self._set_matrix_cache(ids, matrix)
        assert self._matrix_cache is not None
        return self._matrix_cache

    def embedding_dimension(self) -> int | None:
        """Dimension of the stored embeddings; None when no document has one."""
        with self._mutex:
            self._refresh()
            return self._dim if self._vectors else None

    def _stored(self, doc: Document, embedding: bool, score: float | None = None) -> Document:
        """A copy of a stored document, with its embedding when asked; bypasses Document's slow constructor."""
        vector = self._vectors.get(doc.id) if embedding else None
        copy = object.__new__(Document)
        copy.__dict__.update(
            doc.__dict__, meta=dict(doc.meta), score=score, embedding=None if vector is None else vector.tolist()
        )
        return copy

    def _matching(self, filters: dict[str, Any] | None) -> list[Document]:
        """Stored documents that match the filters; the caller refreshes first."""
        if not filters:
            return list(self._local_storage.values())
        in_files = _file_path_values(filters)
        if in_files is not None:
            return self._in_files(in_files)
        self._validate_filters(filters)
        return [
            doc
            for doc in self._local_storage.values()
            if document_matches_filter(
                filters=filters, document=doc, strict_datetime_comparison=self.strict_datetime_comparison
            )
        ]

    def _in_files(self, file_paths: list[str]) -> list[Document]:
        """The passages of these files, in the store's order, from the index by ``meta.file_path``: indexing and
        ``--in`` filter by file, and matching every passage against a filter costs ~10 µs each."""
        if self._by_file is None:
            self._by_file, self._order, self._next_order = {}, {}, 0
            for doc in self._local_storage.values():
                self._file_index_add(doc)
        ids = [doc_id for path in dict.fromkeys(file_paths) for doc_id in self._by_file.get(path, ())]
        if len(file_paths) > 1:
            ids.sort(key=self._order.__getitem__)
        return [self._local_storage[doc_id] for doc_id in ids]

    def _file_index_add(self, doc: Document) -> None:
        """Put a document just stored (at the end of the store's order) in the index by file, once it is built."""
        if self._by_file is None:
            return
        try:
            self._by_file.setdefault(doc.meta.get("file_path"), {})[doc.id] = None
        except TypeError:  # a list or dict: never equal to the string paths asked for
            return
        self._order[doc.id] = self._next_order
        self._next_order += 1

    def _file_index_remove(self, doc: Document) -> None:
        if self._by_file is None or self._order.pop(doc.id, None) is None:
            return
        path = doc.meta.get("file_path")
        ids = self._by_file[path]
        del ids[doc.id]
        if not ids:
            del self._by_file[path]

    # ------------------------------------------------------------------------------------------------ reading API

    def file_paths(self) -> set[str]:
        """The ``file_path`` of every passage (indexed files), without copying any passage."""
        return {str(path) for doc in self.storage.values() if (path := doc.meta.get("file_path"))}

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """
        Return the documents that match the filters (copies: changing them does not change the store).

        :param filters: Haystack metadata filters; all documents when None.
        """
        with self._mutex:
            self._refresh()
            with _gc_paused():
                return [self._stored(doc, self.return_embedding) for doc in self._matching(filters)]

    def embedding_models(self) -> set[str]:
        """The models that embedded the stored passages, as recorded (``meta["embedding_model"]``), where recorded."""
        with self._mutex:
            self._refresh()
            if self._models is None:
                self._models = {
                    str(name) for doc in self._local_storage.values() if (name := doc.meta.get("embedding_model"))
                }
            return set(self._models)

    def filter_passages(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """
        :meth:`filter_documents` without the embeddings, whatever ``return_embedding`` says: what indexing needs to
        compare and delete passages.
        """
        with self._mutex:
            self._refresh()
            with _gc_paused():
                return [self._stored(doc, False) for doc in self._matching(filters)]

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool | None = False,
    ) -> list[Document]:
        """
        Return the ``top_k`` documents most similar to the query embedding, in the same order as Haystack's store.

        :param query_embedding: embedding of the query.
        :param filters: Haystack metadata filters narrowing the candidates.
        :param top_k: how many documents to return.
        :param scale_score: scale scores to 0..1 as ``InMemoryDocumentStore`` does.
        :param return_embedding: attach embeddings to the results; None uses the store's ``return_embedding``.
        :raises ValueError: when the query embedding is empty or the filters are invalid.
        :raises docqa.errors.EmbeddingDimensionError: when the query has another dimension than the stored vectors.
        """
        if len(query_embedding) == 0 or not isinstance(query_embedding[0], (float, np.floating)):
            raise ValueError("query_embedding should be a non-empty list of floats.")
        with self._mutex:
            self._refresh()
            candidates = self._matching(filters) if filters else None
            ids, positions, matrix, norms = self._matrix()
            if candidates is not None:
                rows = np.fromiter((positions[d.id] for d in candidates if d.id in positions), dtype=np.int64)
                matrix, norms = matrix[rows], norms[rows]
            else:
                rows = np.arange(matrix.shape[0])
            if matrix.shape[0] == 0:
                logger.warning("No Documents found with embeddings. Returning empty list.")
                return []
            query = np.asarray(query_embedding, dtype=_DTYPE)
            if query.shape[0] != matrix.shape[1]:
                raise EmbeddingDimensionError(f"the embedded store at {self.path}", matrix.shape[1], query.shape[0])
            scores = self._scores(matrix, norms, query)
            order = _top_order(scores, top_k)
            resolved = self.return_embedding if return_embedding is None else return_embedding
            results = []
            for index in order:
                score = float(scores[index])
                if scale_score:
                    if self.embedding_similarity_function == "cosine":
                        score = (score + 1) / 2
                    else:
                        score = float(expit(score / DOT_PRODUCT_SCALING_FACTOR))
                doc = self._local_storage[ids[rows[index]]]
                results.append(self._stored(doc, resolved, score))
            return results

    def _scores(self, matrix: np.ndarray, norms: np.ndarray, query: np.ndarray) -> np.ndarray:
        scores = matrix @ query
        if self.embedding_similarity_function == "cosine":
            query_norm = float(np.linalg.norm(query)) or 1.0
            scores /= np.where(norms == 0.0, 1.0, norms) * query_norm
        return scores

    def bm25_retrieval(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10, scale_score: bool = False
    ) -> list[Document]:
        """
        Return the ``top_k`` documents most relevant to the query by BM25, like ``InMemoryDocumentStore``.

        BM25 statistics are computed on the first call and then kept up to date; scores are those of Haystack's
        scoring functions on these statistics to the last bit, computed for all passages at once
        (:class:`docqa.bm25_scoring.BM25Index`).

        :param query: the query text.
        :param filters: Haystack metadata filters narrowing the candidates.
        :param top_k: how many documents to return.
        :param scale_score: scale scores to 0..1 as ``InMemoryDocumentStore`` does.
        """
        if not query:
            raise ValueError("Query should be a non-empty string")
        if filters and "operator" not in filters:
            raise ValueError(
                "Invalid filter syntax. See https://docs.haystack.deepset.ai/docs/metadata-filtering for details."
            )
        with self._mutex:
            self._refresh()
            index = self._bm25()
            if filters:
                # Haystack adds "content != None": the passages without content are those the index does not hold
                matching = (index.rows.get(doc.id) for doc in self._matching(filters))
                rows = np.fromiter((row for row in matching if row is not None), dtype=np.int64)
            else:
                rows = np.arange(len(index.ids))
            if not rows.size:
                return []
            scores = index.scores(self._tokenize_bm25(query))[rows]
            drop_non_positive = self.bm25_algorithm != "BM25Okapi"
            results = []
            for position in np.argsort(-scores, kind="stable")[:top_k]:
                score = float(scores[position])
                if drop_non_positive and score <= 0.0:
                    continue
                if scale_score:
                    score = float(expit(score / BM25_SCALING_FACTOR))
                doc = self._local_storage[index.ids[rows[position]]]
                results.append(self._stored(doc, self.return_embedding, score))
            return results

    # ------------------------------------------------------------------------------------------------ writing API

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """
        Write documents durably; all of them or none.

        :param documents: documents to write; their embeddings must all have the store's dimension.
        :param policy: what to do with an id that is already stored; NONE means FAIL.
        :returns: the number of documents written.
        :raises DuplicateDocumentError: with FAIL, when an id is already stored (nothing is written then).
        :raises docqa.errors.EmbeddingDimensionError: when an embedding has another dimension than the stored ones.
        :raises docqa.errors.StoreError: when the directory cannot be written.
        """
        if (
            not isinstance(documents, Iterable)
            or isinstance(documents, str)
            or any(not isinstance(doc, Document) for doc in documents)
        ):
            raise ValueError("Please provide a list of Documents.")
        if policy == DuplicatePolicy.NONE:
            policy = DuplicatePolicy.FAIL
        documents = list(documents)
        if not documents:
            return 0
        with self._writing():
            batch: dict[str, Document] = {}
            written = 0
            for doc in documents:
                if policy != DuplicatePolicy.OVERWRITE and (doc.id in self._local_storage or doc.id in batch):
                    if policy == DuplicatePolicy.FAIL:
                        raise DuplicateDocumentError(f"ID '{doc.id}' already exists.")
                    logger.warning("ID '{document_id}' already exists", document_id=doc.id)
                    continue
                batch.pop(doc.id, None)
                batch[doc.id] = doc
                written += 1
            self._upsert(list(batch.values()), [doc.embedding for doc in batch.values()])
            return written

    def _upsert(self, documents: list[Document], embeddings: list[Any]) -> None:
        """Store documents with the given embeddings (None for none); the caller holds the write lock."""
        present = [e for e in embeddings if e is not None]
        matrix = self._embedding_matrix(present)
        stored = [
            _new_document(doc.id, doc.content, dict(doc.meta), None)
            if doc.blob is None and doc.sparse_embedding is None
            else replace(doc, meta=dict(doc.meta), score=None, embedding=None)
            for doc in documents
        ]
        has_vector = [e is not None for e in embeddings]
        estimate = matrix.nbytes + sum(len(doc.content or "") + 50 * len(doc.meta) + 100 for doc in stored)
        self._commit(
            _OP_UPSERT,
            lambda: encode_block(stored, has_vector, matrix if present else None),
            estimate,
            lambda: self._apply_block(stored, has_vector, matrix),
        )

    def _embedding_matrix(self, embeddings: list[Any]) -> np.ndarray:
        """The embeddings as one float32 matrix, checked against the store's dimension."""
        dim = self._dim if self._vectors else None
        expected = dim if dim is not None else (len(embeddings[0]) if embeddings else 0)
        for embedding in embeddings:
            if len(embedding) != expected:
                raise EmbeddingDimensionError(f"the embedded store at {self.path}", expected, len(embedding))
        if not embeddings:
            return np.empty((0, dim or 0), dtype=_DTYPE)
        if all(isinstance(e, np.ndarray) for e in embeddings):
            return np.stack(embeddings).astype(_DTYPE, copy=False)
        try:
            flat = np.fromiter(chain.from_iterable(embeddings), dtype=_DTYPE, count=len(embeddings) * expected)
        except (TypeError, ValueError) as error:
            raise ValueError(f"document embeddings must be flat lists of floats ({error})") from error
        return flat.reshape(len(embeddings), expected)

    def _delete(self, ids: list[str]) -> None:
        ids = list(dict.fromkeys(doc_id for doc_id in ids if doc_id in self._local_storage))
        if ids:
            payload = [json.dumps(ids).encode("utf-8")]
            self._commit(_OP_DELETE, lambda: payload, len(payload[0]), lambda: self._apply_delete(ids))

    def delete_documents(self, document_ids: list[str]) -> None:
        """
        Delete the documents with these ids durably; unknown ids are ignored.

        :param document_ids: ids of the documents to delete.
        """
        with self._writing():
            self._delete(document_ids)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """
        Delete the documents that match the filters durably.

        :param filters: Haystack metadata filters.
        :returns: the number of documents deleted.
        """
        self._validate_filters(filters)
        with self._writing():
            ids = [doc.id for doc in self._matching(filters)]
            self._delete(ids)
            return len(ids)

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """
        Merge ``meta`` into the meta of the documents that match the filters, durably.

        :param filters: Haystack metadata filters.
        :param meta: meta fields to set.
        :returns: the number of documents updated.
        """
        self._validate_filters(filters)
        with self._writing():
            matching = self._matching(filters)
            if matching:
                updated = [replace(doc, meta={**doc.meta, **meta}) for doc in matching]
                vectors = [self._vectors.get(doc.id) for doc in matching]
                self._upsert(updated, vectors)
            return len(matching)

    def delete_all_documents(self) -> None:
        """Empty the store durably; also repairs a damaged store, since nothing is read first."""
        with self._mutex, self._file_lock(exclusive=True):
            try:
                current = self._read_snapshot_id()
            except StoreError:
                current = None
            self._clear_memory()
            self._generation = max(self._generation, current[0] if current else 0)
            self._write_snapshot()
            self._loaded = True


def _top_order(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` highest scores, best first, ties in index order (like a stable sort)."""
    if top_k <= 0:
        return np.empty(0, dtype=np.int64)
    if top_k < scores.shape[0]:
        threshold = np.partition(scores, -top_k)[-top_k]
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(scores.shape[0])
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return order[:top_k]
