"""Glue shared by the CLI, the app and the API: open the index for a profile, ingest a corpus, answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.indexing import IndexingResult

from mlshared.console import UserError
from mlshared.paths import OutputDirs, find_workspace_root
from rag_qa import config as config_module
from rag_qa.abstention import FILE_NAME as ABSTENTION_FILE
from rag_qa.abstention import AbstentionModel
from rag_qa.answer import Answer, ExtractiveAnswerer
from rag_qa.config import Config
from rag_qa.documents import LoadedCorpus, load_file, load_folder, split
from rag_qa.embeddings import embeddings
from rag_qa.llm import LLMAnswerer, LLMSettings, chat_model
from rag_qa.retrieval import HybridRetriever
from rag_qa.store import Cleanup, Index, default_index_dir

EMPTY_INDEX_HINT = "Run `rag-qa ingest` (this repository's docs) or `rag-qa ingest FOLDER`, or upload files in the app."


def load_abstention(profile: str) -> AbstentionModel | None:
    """The abstention model `rag-qa evaluate --profile PROFILE` fitted (models/abstention.json), if any."""
    outputs = OutputDirs.for_project("rag-qa", config_module.PROJECT_ROOT, profile)
    return AbstentionModel.load(outputs.models / ABSTENTION_FILE)


@dataclass
class IngestSummary:
    files: int
    chunks: int
    result: IndexingResult
    skipped: list[str]


class RagSystem:
    """One index, its hybrid retriever (rebuilt after every change to the index) and the answerers."""

    def __init__(self, config: Config, index_dir: Path, abstention: AbstentionModel | None = None) -> None:
        self.config = config
        self.abstention = abstention
        self.index = Index(
            index_dir,
            config.store.collection,
            embeddings(config.embeddings.model, config.embeddings.batch_size, config.embeddings.threads),
            config.store.url,
        )
        self._retriever: HybridRetriever | None = None
        settings = LLMSettings.from_env()
        self.llm = LLMAnswerer(chat_model(settings)) if settings else None

    @classmethod
    def for_profile(cls, config: Config, outputs: OutputDirs, index_dir: Path | None = None) -> RagSystem:
        """The profile's index and the abstention model `rag-qa evaluate` fitted for it (when there is one)."""
        return cls(
            config,
            index_dir or default_index_dir(outputs.models),
            AbstentionModel.load(outputs.models / ABSTENTION_FILE),
        )

    @property
    def retriever(self) -> HybridRetriever:
        if self._retriever is None or self._retriever.version != self.index.version:
            self._retriever = HybridRetriever(self.index, self.config.retrieval)
        return self._retriever

    def ingest_corpus(self, corpus: LoadedCorpus, cleanup: Cleanup = "full") -> IngestSummary:
        chunks = split(corpus.documents, self.config.splitter.chunk_size, self.config.splitter.chunk_overlap)
        result = self.index.ingest(chunks, cleanup=cleanup)
        files = len({d.metadata["source"] for d in corpus.documents})
        return IngestSummary(files, len(chunks), result, corpus.skipped)

    def ingest_folder(self, folder: Path | None = None) -> IngestSummary:
        """A folder (every supported file), or by default this repository's documentation; `full` cleanup,
        so files that disappeared leave the index."""
        if folder is None:
            root = find_workspace_root()
            corpus = load_folder(root, self.config.corpus.suffixes, self.config.corpus.include)
        else:
            corpus = load_folder(folder, self.config.corpus.suffixes)
        if not corpus.documents:
            where = folder or "the repository's documentation"
            raise UserError(
                f"No readable Markdown, text or PDF files in {where}.", hint="; ".join(corpus.skipped) or None
            )
        return self.ingest_corpus(corpus, cleanup="full")

    def ingest_file(self, path: Path, source: str) -> IngestSummary:
        """One uploaded file: replaces the earlier chunks of the same `source`, leaves the rest alone."""
        return self.ingest_corpus(LoadedCorpus(load_file(path, source)), cleanup="incremental")

    def require_documents(self) -> None:
        if self.retriever.empty:
            raise UserError("The index is empty: there is nothing to answer from.", hint=EMPTY_INDEX_HINT)

    def ask(self, question: str, k: int | None = None, sources: Sequence[str] | None = None) -> Answer:
        question = question.strip()
        if not question:
            raise UserError(
                "The question is empty.", hint='Type a question, e.g. `rag-qa ask "Which projects use MLflow?"`.'
            )
        self.require_documents()
        if self.llm is not None:
            return self.llm.answer_from_hits(question, self.retriever.search(question, k, sources).hits)
        answerer = ExtractiveAnswerer(
            self.retriever, self.config.answer.max_sentences, self.config.answer.min_confidence, self.abstention
        )
        return answerer.answer(question, k, sources)

    def close(self) -> None:
        self.index.close()
