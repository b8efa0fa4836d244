"""Streamlit page: ask a question of the indexed documents. Run with ``streamlit run app.py``."""

import streamlit as st

from docqa.answer_html import answer_html
from docqa.ask import QuestionAnswering
from docqa.commands.ask import NO_ANSWER_TEXT
from docqa.errors import DocqaError
from docqa.stores import describe_store


@st.cache_resource(show_spinner="Loading the models…")
def question_answering() -> QuestionAnswering:
    """One warm query pipeline per server process."""
    qa = QuestionAnswering()
    qa.warm_up()
    return qa


def main() -> None:
    """The page."""
    st.set_page_config(page_title="docqa", page_icon="🔎")
    st.title("Ask your documents")
    st.caption(f"Searching the {describe_store()}.")
    with st.form("ask"):
        question = st.text_input("Question", placeholder="e.g. When was the contract signed?")
        top_k = st.slider("Answers to show", min_value=1, max_value=10, value=3)
        submitted = st.form_submit_button("Ask")
    if not submitted:
        return
    try:
        result = question_answering().ask(question, top_k=top_k)
    except DocqaError as error:
        st.error(str(error))
        return
    if result.no_answer:
        confidence = f" (no-answer confidence {result.no_answer_score:.2f})" if result.no_answer_score else ""
        st.warning(NO_ANSWER_TEXT + confidence)
        if result.answers:
            st.caption("Closest spans, below the no-answer threshold:")
    for answer in result.answers:
        with st.container(border=True):
            st.html(answer_html(answer))
    if result.documents:
        with st.expander(f"{len(result.documents)} passages searched"):
            for document in result.documents:
                score = f"{document.score:.3f}" if document.score is not None else "—"
                st.text(f"{score}  {document.source}")


if __name__ == "__main__":
    main()
