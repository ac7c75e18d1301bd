"""Documents in, chunks out: LangChain loaders for Markdown, text and PDF, and its text splitters.

Every chunk carries `source` (the file's path relative to the corpus root, what citations and the
source filter name), `chunk` (its position in that file) and `chunk_id` (`source#chunk`, the id an
answer cites). PDF chunks also carry the `page`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from mlshared.console import UserError

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
MARKDOWN_SUFFIXES = (".md", ".markdown")


class UnreadableDocumentError(UserError):
    """A file that exists but cannot be turned into text (broken PDF, binary file, wrong encoding)."""


@dataclass
class LoadedCorpus:
    """The documents that loaded, and a message for each file that did not."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def check_supported(path: Path, suffixes: Sequence[str] = SUPPORTED_SUFFIXES) -> None:
    if path.suffix.lower() not in suffixes:
        raise UserError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}.",
            hint=f"Supported: {', '.join(suffixes)}. Convert the file to one of these first.",
        )


def load_file(path: Path, source: str) -> list[Document]:
    """One file as LangChain documents (one per PDF page, one for a text file), tagged with `source`."""
    from langchain_community.document_loaders import PyPDFLoader, TextLoader

    check_supported(path)
    try:
        if path.suffix.lower() == ".pdf":
            pages = PyPDFLoader(str(path)).load()
        else:
            pages = TextLoader(str(path), encoding="utf-8").load()
    except Exception as error:  # pypdf and the text loader raise many types for a bad file
        raise UnreadableDocumentError(
            f"{source}: cannot be read ({type(error).__name__}: {error}).",
            hint="Check that the file is a valid, unencrypted PDF or UTF-8 text.",
        ) from error
    documents = [page for page in pages if page.page_content.strip()]
    if not documents:
        raise UnreadableDocumentError(
            f"{source}: no text found.", hint="Scanned PDFs need OCR first; empty files have nothing to index."
        )
    for document in documents:
        document.metadata = {
            "source": source,
            **({"page": document.metadata["page"] + 1} if "page" in document.metadata else {}),
        }
    return documents


def find_files(
    root: Path, suffixes: Sequence[str] = SUPPORTED_SUFFIXES, include: Sequence[str] = ("**/*",)
) -> list[Path]:
    """Files under `root` matching the `include` globs with a supported suffix, sorted, hidden folders skipped."""
    if not root.is_dir():
        raise UserError(f"{root} is not a folder.", hint="Pass a folder of Markdown, text or PDF files.")
    found: set[Path] = set()
    for pattern in include:
        for path in root.glob(pattern):
            parts = path.relative_to(root).parts
            if path.is_file() and path.suffix.lower() in suffixes and not any(p.startswith(".") for p in parts):
                found.add(path)
    return sorted(found)


def load_folder(
    root: Path, suffixes: Sequence[str] = SUPPORTED_SUFFIXES, include: Sequence[str] = ("**/*",)
) -> LoadedCorpus:
    """Every supported file under `root`; unreadable ones are skipped with a reason, not fatal."""
    corpus = LoadedCorpus()
    for path in find_files(root, suffixes, include):
        source = path.relative_to(root).as_posix()
        try:
            corpus.documents += load_file(path, source)
        except UnreadableDocumentError as error:
            corpus.skipped.append(error.message)
    return corpus


def splitter(chunk_size: int, chunk_overlap: int, markdown: bool) -> RecursiveCharacterTextSplitter:
    if markdown:  # headings, then paragraphs, then sentences
        return RecursiveCharacterTextSplitter.from_language(
            Language.MARKDOWN, chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def split(documents: Iterable[Document], chunk_size: int, chunk_overlap: int) -> list[Document]:
    """Chunks with `source`, `chunk` and `chunk_id` metadata, numbered per source in document order."""
    chunks: list[Document] = []
    counters: dict[str, int] = {}
    for document in documents:
        source = str(document.metadata["source"])
        markdown = source.lower().endswith(MARKDOWN_SUFFIXES)
        for piece in splitter(chunk_size, chunk_overlap, markdown).split_documents([document]):
            n = counters.get(source, 0)
            counters[source] = n + 1
            piece.metadata = {**piece.metadata, "chunk": n, "chunk_id": f"{source}#{n}"}
            chunks.append(piece)
    return chunks


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n{2,}")


def sentences(text: str) -> list[str]:
    """Sentence split good enough for English prose and Markdown: punctuation + capital, or a blank line."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]
