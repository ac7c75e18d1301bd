"""Streamlit app: ask a question, see the answer with its highlighted source passages and scores, and
upload documents into the index. Run with `rag-qa app`; `RAG_INDEX_DIR` picks the index folder."""

from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path

import streamlit as st

from mlshared.console import UserError
from mlshared.paths import OutputDirs
from rag_qa import config as config_module
from rag_qa.answer import Answer
from rag_qa.documents import SUPPORTED_SUFFIXES
from rag_qa.pipeline import EMPTY_INDEX_HINT, RagSystem, load_abstention
from rag_qa.store import default_index_dir

PROFILE_ENV = "RAG_PROFILE"


@st.cache_resource
def system(index_dir: str, profile: str) -> RagSystem:
    """One open index per app process (embedded Qdrant allows one client per folder)."""
    config = config_module.load(config_module.DEFAULT_PARAMS, profile)
    return RagSystem(config, Path(index_dir), load_abstention(profile))


def highlight(text: str, sentences: list[str]) -> str:
    """The passage as HTML with the answer's sentences marked."""
    escaped = html.escape(text)
    for sentence in sentences:
        escaped = escaped.replace(html.escape(sentence), f"<mark>{html.escape(sentence)}</mark>")
    return re.sub(r"\n", "<br>", escaped)


def show_answer(answer: Answer) -> None:
    if answer.abstained:
        st.warning(answer.text)
    else:
        st.success(answer.text)
    risk = (
        "" if answer.unanswerable_probability is None else f" · P(unanswerable) {answer.unanswerable_probability:.2f}"
    )
    st.caption(f"Confidence {answer.confidence:.3f}{risk} · mode {answer.mode}")
    cited = {c.chunk_id for c in answer.citations}
    st.subheader("Source passages")
    for hit in answer.hits:
        label = f"{'📌 ' if hit.chunk_id in cited else ''}{hit.chunk_id}"
        with st.expander(label, expanded=hit.chunk_id in cited):
            st.markdown(highlight(hit.chunk.text, answer.sentences), unsafe_allow_html=True)
            st.caption(
                f"fused {hit.score:.4f} · BM25 rank {hit.bm25_rank or '—'} · dense rank {hit.dense_rank or '—'}"
                + ("" if hit.dense_score is None else f" · cosine {hit.dense_score:.3f}")
            )


def upload_section(rag: RagSystem) -> None:
    st.subheader("Add documents")
    files = st.file_uploader(
        "Markdown, text or PDF files", accept_multiple_files=True, type=[s.lstrip(".") for s in SUPPORTED_SUFFIXES]
    )
    for upload in files or []:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            try:
                summary = rag.ingest_file(path, upload.name)
            except UserError as error:
                st.error(f"{upload.name} was not added: {error}")
                continue
        r = summary.result
        st.success(
            f"Indexed {upload.name}: {summary.chunks} chunks ({r['num_added']} new, {r['num_skipped']} unchanged)"
        )


def main() -> None:
    st.set_page_config(page_title="rag-qa", page_icon="📚", layout="wide")
    st.title("Ask your documents")
    profile = os.environ.get(PROFILE_ENV, "full")
    outputs = OutputDirs.for_project("rag-qa", config_module.PROJECT_ROOT, profile)
    rag = system(str(default_index_dir(outputs.models)), profile)
    with st.sidebar:
        upload_section(rag)
        st.caption(f"{rag.index.count()} chunks in the index")
    question = st.text_input("Question", placeholder="Which projects use MLflow?")
    asked = st.button("Ask", type="primary")
    if not asked:
        return
    if not question.strip():
        st.error("Type a question first.")
        return
    if rag.retriever.empty:
        st.error(f"The index is empty. {EMPTY_INDEX_HINT}")
        return
    try:
        show_answer(rag.ask(question))
    except UserError as error:
        st.error(str(error))


if __name__ == "__main__":  # `streamlit run` and AppTest run the file as __main__; importing it runs nothing
    main()
