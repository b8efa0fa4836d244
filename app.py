"""Streamlit page: ask the indexed documents, add documents to them, answer a file of questions.

Run with ``streamlit run app.py``. Every step is a docqa function the command line uses too; this file only lays
them out.
"""

import hashlib
import threading
from pathlib import Path

import streamlit as st

from docqa.answer_html import answer_html
from docqa.ask import AskResult, QuestionAnswering, page_citation, section_citation
from docqa.batch import BatchAnswerer, output_record, parse_questions, records_csv
from docqa.commands.ask import NO_ANSWER_TEXT
from docqa.errors import DocqaError, EmbeddingModelMismatchError, EmptyIndexError, NothingIndexedError
from docqa.settings import get_settings, settings_warnings
from docqa.stores import count_passages, describe_store, indexed_files
from indexing.files import SUPPORTED_EXTENSIONS
from indexing.run import Indexer
from indexing.uploads import index_uploads, remove_documents

QUESTION_FILE_TYPES = ["csv", "jsonl", "txt"]


@st.cache_resource(show_spinner="Loading the models…")
def question_answering() -> QuestionAnswering:
    """One warm query pipeline per server process."""
    qa = QuestionAnswering()
    qa.warm_up()
    return qa


@st.cache_resource(show_spinner="Loading the models…")
def batch_answerer() -> BatchAnswerer:
    """Question files are answered with the query pipeline's own reader, many questions per reader call."""
    return BatchAnswerer(question_answering().pipeline)


@st.cache_resource(show_spinner="Loading the indexing pipeline…")
def indexer() -> Indexer:
    """One indexing pipeline per server process."""
    return Indexer()


@st.cache_resource
def indexing_lock() -> threading.Lock:
    """Uploads are indexed one batch at a time, whoever sends them."""
    return threading.Lock()


@st.cache_data(ttl=60, show_spinner=False)
def store_overview(store: str) -> tuple[int, list[str], str | None]:
    """
    Passages and indexed files of ``store`` (its description: the cache key), asked at most once a minute, and the
    message of the error that prevented it: a failure is kept too, so that a store that does not answer costs its
    timeout once a minute, not on every click.
    """
    try:
        return count_passages(), indexed_files(), None
    except DocqaError as error:
        return 0, [], page_message(error)


def page_message(error: DocqaError) -> str:
    """The one line the page shows for ``error``: the command line's, except where the page offers the fix itself."""
    if isinstance(error, EmptyIndexError):
        return f"the {error.where} is empty. Add your documents in the sidebar first."
    if isinstance(error, NothingIndexedError):
        return (
            f"nothing is indexed at or under {', '.join(error.paths)} any more: it was removed from the {error.store} "
            "meanwhile. The list of indexed files is up to date again."
        )
    if isinstance(error, EmbeddingModelMismatchError):
        return (
            f"the {error.where} was indexed with the embedding model {' and '.join(error.stored)}, but questions would "
            f"be embedded with {error.model}, whose vectors are not comparable. Index your documents again with "
            f"{error.model} (remove them in the sidebar and add them again, or python -m indexing --recreate PATH), "
            f"or set DOCQA_EMBEDDING_MODEL back to {error.stored[0]} and restart the page."
        )
    return str(error)


def counted(number: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def documents_sidebar() -> None:
    """What is indexed, a place to add documents, and a way to remove them."""
    with st.sidebar:
        st.header("Documents")
        status = st.empty()
        files = st.file_uploader(
            "Add documents",
            type=[extension.lstrip(".") for extension in SUPPORTED_EXTENSIONS],
            accept_multiple_files=True,
            key="documents",
        )
        if st.button("Index", key="index", disabled=not files):
            index_files(files)
        try:
            store = describe_store()
        except DocqaError as error:
            status.error(page_message(error))
            return
        passages, paths, problem = store_overview(store)
        if problem:
            status.error(problem)
            if st.button("Try again", key="store_retry"):
                store_overview.clear()
                st.rerun()
            return
        status.caption(f"{counted(passages, 'passage')} in the {store}.")
        if "removed" in st.session_state:
            st.success(st.session_state.pop("removed"))
        if "removed_error" in st.session_state:
            st.error(st.session_state.pop("removed_error"))
        if paths:
            files_in_index(paths)


def index_files(files: list) -> None:
    """Index uploaded files and say what happened to each."""
    try:
        with indexing_lock(), st.spinner("Indexing…"):
            summary = index_uploads([(f.name, f.getvalue()) for f in files], get_settings().upload_path, indexer())
    except DocqaError as error:
        store_overview.clear()
        st.error(page_message(error))
        return
    store_overview.clear()
    st.session_state.pop("answer", None)
    done = f"Indexed {counted(summary.files_indexed, 'file')} ({counted(summary.passages_written, 'passage')}), "
    done += f"{summary.files_unchanged} unchanged."
    (st.success if summary.files_indexed or summary.files_unchanged else st.warning)(done)
    for name in summary.replaced:
        st.info(
            f"{name} replaced the earlier file of that name and its passages. If it is another document, rename one."
        )
    for path, note in summary.partial.items():
        st.info(f"{Path(path).name} was indexed in part: {note}")
    for path, reason in summary.skipped.items():
        st.warning(f"Skipped {Path(path).name}: {reason}")


def files_in_index(paths: list[str]) -> None:
    """The indexed files, some of which can be removed (their uploaded copies are deleted with them)."""
    with st.expander(f"{counted(len(paths), 'file')} indexed"):
        with st.form("remove", clear_on_submit=True, border=False):
            chosen = st.multiselect("Remove from the index", paths, key="remove_choice")
            submitted = st.form_submit_button("Remove", key="remove")
        if not submitted:
            return
        if not chosen:
            st.warning("Choose the files to remove first.")
            return
        try:
            with indexing_lock():
                removed = remove_documents(chosen, get_settings().upload_path, indexer())
        except DocqaError as error:
            st.session_state["removed_error"] = page_message(error)
            st.rerun()
        finally:
            store_overview.clear()
        passages = counted(sum(removed.values()), "passage")
        st.session_state["removed"] = f"Removed {passages} of {counted(len(removed), 'file')}."
        st.session_state.pop("answer", None)
        st.rerun()


def ask_tab() -> None:
    """One question, its answers with their sources, or an honest no-answer."""
    try:
        paths = store_overview(describe_store())[1]
    except DocqaError:
        paths = []  # the sidebar shows the error
    with st.form("ask"):
        question = st.text_input("Question", placeholder="e.g. When was the contract signed?", key="question")
        within = st.multiselect("Search only in (all files when empty)", paths, key="within") if paths else []
        top_k = st.slider("Answers to show", min_value=1, max_value=10, value=3)
        submitted = st.form_submit_button("Ask", key="ask")
    if submitted:
        st.session_state["answer"] = asked(question, top_k, within)
    result = st.session_state.get("answer")
    if isinstance(result, str):
        st.error(result)
    elif result is not None:
        show_answer(result)


def asked(question: str, top_k: int, within: list[str]) -> AskResult | str:
    """The answers to ``question``, or the one line saying why it could not be asked (kept for the page's reruns)."""
    try:
        return question_answering().ask(question, top_k=top_k, within=within)
    except NothingIndexedError as error:
        # a file picked from a list made before it was removed: list the files again
        store_overview.clear()
        st.session_state["answer"] = page_message(error)
        st.rerun()
    except DocqaError as error:
        if isinstance(error, EmptyIndexError | EmbeddingModelMismatchError):
            store_overview.clear()
        return page_message(error)


def show_answer(result: AskResult) -> None:
    """Answers best first, each with its source and marked passage, or the no-answer with the spans that lost."""
    if result.no_answer:
        score = result.no_answer_score
        confidence = f" (no-answer confidence {score:.2f})" if score is not None else ""
        st.warning(NO_ANSWER_TEXT + confidence)
        if result.answers:
            st.caption("Closest spans, below the no-answer threshold:")
    for answer in result.answers:
        with st.container(border=True):
            st.html(answer_html(answer))
    if result.documents:
        with st.expander(f"{counted(len(result.documents), 'passage')} searched"):
            for document in result.documents:
                score = f"{document.score:.3f}" if document.score is not None else "—"
                citation = page_citation(document.page, document.page_label) + section_citation(document.section)
                st.text(f"{score}  {document.source}{citation}")


def question_file_tab() -> None:
    """A file of questions answered in one go, as ``docqa batch`` does, with the answers to download."""
    uploaded = st.file_uploader(
        "Question file: .csv with a 'question' column (and optionally 'id'), .jsonl, or .txt with one per line",
        type=QUESTION_FILE_TYPES,
        key="questions",
    )
    upload = (uploaded.name, hashlib.sha256(uploaded.getvalue()).hexdigest()) if uploaded is not None else None
    if uploaded is not None and st.button("Answer all", key="answer_all"):
        rows, records = [], []
        try:
            rows = parse_questions(uploaded.name, uploaded.getvalue())
            progress = st.progress(0.0, text=f"Answering {len(rows)} questions…")
            for row, result, error in batch_answerer().answer(rows):
                records.append(output_record(row, result, error))
                progress.progress(len(records) / len(rows), text=f"{len(records)} of {len(rows)} answered")
        except DocqaError as error:
            st.error(page_message(error))
        st.session_state["answers"] = (upload, len(rows), records)
    answered_upload, total, records = st.session_state.get("answers", (None, 0, []))
    if upload is None or answered_upload != upload or not records:
        return
    failed = sum(bool(record["error"]) for record in records)
    summary = f"{len(records) - failed} of {counted(total, 'question')} answered, {failed} failed"
    if len(records) < total:
        summary += f", {total - len(records)} not reached: the run stopped on an error"
    st.caption(summary + ".")
    st.dataframe(records, hide_index=True)
    st.download_button(
        "Download answers (CSV)",
        records_csv(records),
        file_name=f"{Path(upload[0]).stem}-answers.csv",
        mime="text/csv",
        on_click="ignore",
        key="download",
    )


def main() -> None:
    """The page."""
    st.set_page_config(page_title="docqa", page_icon="🔎")
    st.title("Ask your documents")
    for line in settings_warnings():
        st.warning(line)
    documents_sidebar()
    ask, question_file = st.tabs(["Ask", "Question file"])
    with ask:
        ask_tab()
    with question_file:
        question_file_tab()


if __name__ == "__main__":
    main()
