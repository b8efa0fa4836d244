"""BM25 scores of every passage at once, equal to the last bit to those Haystack's ``InMemoryDocumentStore`` scoring
functions compute from the same statistics.

Haystack scores a keyword query in Python, passage by passage and term by term (1.2 s per query at 100k passages);
:class:`BM25Index` computes the same sums with numpy over the passages that contain each query term, in the same
order and with the same floating-point operations, so the scores, and the order of equal scores, are identical.
(A store that Haystack filled itself keeps its average passage length as a running mean, which can differ from
this store's exact mean in the last bits.)
"""

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from haystack.document_stores.in_memory.document_store import BM25DocumentStats

# Upper bound on the (passage, frequency) pairs kept for terms seen in earlier queries.
_CACHED_POSTINGS = 4_000_000


class BM25Index:
    """
    BM25 statistics of a fixed set of passages, arranged for scoring many passages per operation.

    Built from the statistics that ``InMemoryDocumentStore`` keeps; rebuild it when they change.
    """

    def __init__(
        self,
        ids: list[str],
        stats: list[BM25DocumentStats],
        vocabulary: Counter,
        average_length: float,
        algorithm: str,
        parameters: dict,
    ) -> None:
        """
        :param ids: ids of the passages with content, in the store's order (the order of equal scores).
        :param stats: each passage's term frequencies and length, in the order of ``ids``.
        :param vocabulary: how many passages contain each term, in the store's order of first occurrence.
        :param average_length: average passage length in terms.
        :param algorithm: ``"BM25Okapi"``, ``"BM25L"`` or ``"BM25Plus"``.
        :param parameters: ``k1``, ``b`` and ``delta`` or ``epsilon``, Haystack's defaults where missing.
        """
        if algorithm not in ("BM25Okapi", "BM25L", "BM25Plus"):
            raise ValueError(f"BM25 algorithm '{algorithm}' is not supported.")
        self.ids = ids
        self.rows = {doc_id: row for row, doc_id in enumerate(ids)}
        self._frequencies = [item.freq_token for item in stats]
        self._vocabulary = vocabulary
        self._average_length = average_length
        self._algorithm = algorithm
        self._k = parameters.get("k1", 1.5)
        self._b = parameters.get("b", 0.75)
        self._delta = parameters.get("delta", 1.0 if algorithm == "BM25Plus" else 0.5)
        self._epsilon = parameters.get("epsilon", 0.25)
        lengths = np.fromiter((item.doc_len for item in stats), dtype=np.float64, count=len(stats))
        self._length_norm = 1 - self._b + self._b * lengths / average_length if average_length else lengths
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cached = 0
        self._okapi_idf: dict[str, float] | None = None

    def scores(self, query_terms: Iterable[str]) -> np.ndarray:
        """
        BM25 score of every passage (in the order of ``ids``) for a tokenised query.

        :param query_terms: the query's terms as the store tokenises them; repeated terms count once.
        """
        scores = np.zeros(len(self.ids))
        if not self._average_length:
            return scores
        for term, idf in self._idf(dict.fromkeys(query_terms)).items():
            rows, frequency = self._term_postings(term)
            if rows.size:
                scores[rows] += idf * self._term_frequency(frequency, self._length_norm[rows])
        return scores

    def _idf(self, terms: dict[str, None]) -> dict[str, float]:
        corpus = len(self.ids)
        if self._algorithm == "BM25Okapi":
            idf = self._okapi_idf_table()
            return {term: idf.get(term, 0.0) for term in terms}
        idf = {}
        for term in terms:
            n = self._vocabulary.get(term, 0)
            if self._algorithm == "BM25L":
                idf[term] = math.log((corpus + 1.0) / (n + 0.5)) * int(n != 0)
            else:
                idf[term] = math.log(1 + (corpus - n + 0.5) / (n + 0.5)) * int(n != 0)
        return idf

    def _okapi_idf_table(self) -> dict[str, float]:
        """BM25Okapi's idf of every term: negative ones replaced by epsilon times the average idf (once per index)."""
        if self._okapi_idf is None:
            corpus = len(self.ids)
            idf, total, negative = {}, 0.0, []
            for term, n in self._vocabulary.items():
                value = idf[term] = math.log((corpus - n + 0.5) / (n + 0.5))
                total += value
                if value < 0:
                    negative.append(term)
            floor = self._epsilon * total / len(self._vocabulary) if self._vocabulary else 0.0
            for term in negative:
                idf[term] = floor
            self._okapi_idf = idf
        return self._okapi_idf

    def _term_frequency(self, frequency: np.ndarray, length_norm: np.ndarray) -> np.ndarray:
        """The algorithm's saturated term frequency of passages that contain the term, as Haystack computes it."""
        k, delta = self._k, self._delta
        if self._algorithm == "BM25L":
            ctd = frequency / length_norm
            return (1.0 + k) * (ctd + delta) / (k + ctd + delta)
        if self._algorithm == "BM25Okapi":
            return frequency * (1.0 + k) / (frequency + k * length_norm)
        return frequency * (1.0 + k) / (frequency + k * length_norm) + delta

    def _term_postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the passages that contain ``term`` and its frequency in each (kept for later queries)."""
        postings = self._postings.get(term)
        if postings is None:
            if term not in self._vocabulary:
                return np.empty(0, dtype=np.int64), np.empty(0)
            frequency = np.array([frequencies.get(term, 0) for frequencies in self._frequencies], dtype=np.float64)
            rows = np.flatnonzero(frequency)
            postings = (rows, frequency[rows])
            if self._cached + rows.size > _CACHED_POSTINGS:
                self._postings.clear()
                self._cached = 0
            self._postings[term] = postings
            self._cached += rows.size
        return postings
