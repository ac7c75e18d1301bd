"""The index: Qdrant (embedded on disk, or a server by URL) through langchain-qdrant, kept in step with
the documents by LangChain's indexing API and a SQL record manager (SQLite beside the vectors).

The record manager stores a content hash per chunk, so re-ingesting embeds only new or changed
chunks, and `cleanup="full"` deletes the chunks of documents that are gone. Embedded Qdrant locks
its folder: one process at a time (the app, the API or the CLI); use a Qdrant server
(`store.url` / `RAG_QDRANT_URL`) when several must share an index.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import IndexingResult, RecordManager, index

from mlshared.console import UserError
from rag_qa.documents import sentences as split_sentences

if TYPE_CHECKING:
    import numpy.typing as npt
    from qdrant_client import QdrantClient

URL_ENV = "RAG_QDRANT_URL"
INDEX_DIR_ENV = "RAG_INDEX_DIR"
SCROLL_BATCH = 1000

Cleanup = Literal["full", "incremental"]
KEY_NAMESPACE = uuid.UUID("6f1c1a52-3f4e-4a51-9d0b-2a7c3e5b9d10")


def content_key(document: Document) -> str:
    """A chunk's id: a UUID (what Qdrant accepts) derived from the SHA-256 of its text and metadata, so the
    same chunk always gets the same id and any change to it gets a new one."""
    digest = hashlib.sha256(
        json.dumps([document.page_content, document.metadata], sort_keys=True, default=str).encode()
    ).hexdigest()
    return str(uuid.uuid5(KEY_NAMESPACE, digest))


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the index holds it: Qdrant's point id, the text and the metadata."""

    point_id: str
    text: str
    metadata: dict[str, object]

    @property
    def chunk_id(self) -> str:
        return str(self.metadata.get("chunk_id", self.point_id))

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    def as_document(self) -> Document:
        return Document(page_content=self.text, metadata=self.metadata, id=self.point_id)


class SentenceStore:
    """Each chunk's sentences and their unit vectors, embedded at ingest so that the first question on a fresh
    process does not embed hundreds of sentences (the reranker and the answerer read them; cold, a query
    cost seconds). SQLite beside the record manager, keyed by the chunk's point id, which is a content
    hash: an entry never goes stale, and `full` ingests prune the ids that left the index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS sentences (point_id TEXT PRIMARY KEY, texts TEXT, vectors BLOB)")

    def ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT point_id FROM sentences")}

    def put(self, rows: Sequence[tuple[str, list[str], npt.NDArray[np.float32]]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?)",
            [(pid, json.dumps(texts), np.asarray(v, dtype=np.float32).tobytes()) for pid, texts, v in rows],
        )
        self.db.commit()

    def prune(self, keep: set[str]) -> None:
        gone = self.ids() - keep
        self.db.executemany("DELETE FROM sentences WHERE point_id = ?", [(pid,) for pid in gone])
        self.db.commit()

    def load(self, wanted: set[str]) -> dict[str, tuple[list[str], npt.NDArray[np.float32]]]:
        found = {}
        for pid, texts, blob in self.db.execute("SELECT point_id, texts, vectors FROM sentences"):
            if pid in wanted:
                items = json.loads(texts)
                found[pid] = (items, np.frombuffer(blob, dtype=np.float32).reshape(len(items), -1))
        return found

    def close(self) -> None:
        self.db.close()


class Index:
    """One collection: vectors in Qdrant, content hashes in the record manager, sentence vectors beside."""

    def __init__(self, directory: Path, collection: str, embeddings: Embeddings, url: str | None = None) -> None:
        from langchain_qdrant import QdrantVectorStore

        self.directory = directory
        self.collection = collection
        self.embeddings = embeddings
        self.url = url or os.environ.get(URL_ENV) or None
        directory.mkdir(parents=True, exist_ok=True)
        self.client = self._connect()
        self._ensure_collection()
        self.vectors = QdrantVectorStore(client=self.client, collection_name=collection, embedding=embeddings)
        self.records = _record_manager(directory, collection, self.url)
        self.sentences = SentenceStore(directory / f"sentences-{collection}.sqlite")
        self.version = 0  # bumped by every ingest that changed something; retrievers rebuild on change
        self.lock = threading.Lock()

    def _connect(self) -> QdrantClient:
        from qdrant_client import QdrantClient

        if self.url:
            return QdrantClient(url=self.url, timeout=30)
        try:
            return QdrantClient(path=str(self.directory / "qdrant"))
        except RuntimeError as error:  # portalocker: another process holds the folder
            raise UserError(
                f"The index at {self.directory} is open in another process ({error}).",
                hint=f"Close the other rag-qa process (app, API or CLI), or run a Qdrant server and set {URL_ENV}.",
            ) from error

    def _ensure_collection(self) -> None:
        from qdrant_client import models

        if self.client.collection_exists(self.collection):
            return
        size = len(self.embeddings.embed_query("dimension probe"))
        self.client.create_collection(
            self.collection, vectors_config=models.VectorParams(size=size, distance=models.Distance.COSINE)
        )
        if self.url:  # a server filters faster with a payload index; embedded mode has none
            self.client.create_payload_index(self.collection, "metadata.source", models.PayloadSchemaType.KEYWORD)

    def ingest(self, chunks: Sequence[Document], cleanup: Cleanup = "full") -> IndexingResult:
        """Add new and changed chunks, skip unchanged ones; `full` also removes chunks of vanished sources,
        `incremental` only replaces the chunks of the sources it is given (an upload)."""
        with self.lock:
            result = index(
                list(chunks),
                self.records,
                self.vectors,
                cleanup=cleanup,
                source_id_key="source",
                key_encoder=content_key,
            )
            changed = self._embed_sentences(chunks, prune=cleanup == "full")
            if result["num_added"] or result["num_updated"] or result["num_deleted"] or changed:
                self.version += 1
            return result

    def _embed_sentences(self, chunks: Sequence[Document], prune: bool) -> bool:
        """Sentence vectors for the chunks that have none yet; a one-sentence chunk reuses its chunk vector."""
        if prune:
            self.sentences.prune({c.point_id for c in self.chunks()})
        have = self.sentences.ids()
        todo = {content_key(c): c.page_content for c in chunks}
        todo = {pid: text for pid, text in todo.items() if pid not in have}
        if not todo:
            return False
        pieces = {pid: split_sentences(text) or [text] for pid, text in todo.items()}
        single = [pid for pid, p in pieces.items() if len(p) == 1]
        rows: list[tuple[str, list[str], npt.NDArray[np.float32]]] = []
        for batch in range(0, len(single), SCROLL_BATCH):
            points = self.client.retrieve(self.collection, single[batch : batch + SCROLL_BATCH], with_vectors=True)
            rows += [(str(p.id), pieces[str(p.id)], np.asarray([p.vector], dtype=np.float32)) for p in points]
        done = {pid for pid, _, _ in rows}
        multi = [pid for pid in pieces if pid not in done]
        flat = [sentence for pid in multi for sentence in pieces[pid]]
        if flat:
            vectors = np.asarray(self.embeddings.embed_documents(flat), dtype=np.float32)
            offset = 0
            for pid in multi:
                rows.append((pid, pieces[pid], vectors[offset : offset + len(pieces[pid])]))
                offset += len(pieces[pid])
        self.sentences.put(rows)
        return True

    def count(self) -> int:
        return int(self.client.count(self.collection, exact=True).count)

    def chunks(self) -> list[StoredChunk]:
        """Every chunk in the collection (what BM25 indexes), in a stable order."""
        found: list[StoredChunk] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=SCROLL_BATCH, offset=offset, with_payload=True, with_vectors=False
            )
            for point in points:
                payload = point.payload or {}
                found.append(
                    StoredChunk(
                        str(point.id), str(payload.get("page_content", "")), dict(payload.get("metadata") or {})
                    )
                )
            if offset is None:
                break
        return sorted(found, key=lambda c: (c.source, int(str(c.metadata.get("chunk", 0))), c.point_id))

    def stored_vectors(self) -> dict[str, npt.NDArray[np.float32]]:
        """Every chunk's stored vector by point id (unit length: Qdrant normalises for cosine)."""
        found: dict[str, npt.NDArray[np.float32]] = {}
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=SCROLL_BATCH, offset=offset, with_payload=False, with_vectors=True
            )
            for point in points:
                found[str(point.id)] = np.asarray(point.vector, dtype=np.float32)
            if offset is None:
                break
        return found

    def sources(self) -> list[str]:
        return sorted({chunk.source for chunk in self.chunks()})

    def close(self) -> None:
        self.client.close()
        self.sentences.close()


def _record_manager(directory: Path, collection: str, url: str | None) -> RecordManager:
    from langchain_classic.indexes import SQLRecordManager

    where = "server" if url else "embedded"
    manager = SQLRecordManager(f"qdrant/{where}/{collection}", db_url=f"sqlite:///{directory / 'records.sqlite'}")
    manager.create_schema()
    return manager


def open_index(directory: Path, collection: str, embeddings: Embeddings, url: str | None = None) -> Index:
    return Index(directory, collection, embeddings, url)


def default_index_dir(models_dir: Path) -> Path:
    """`RAG_INDEX_DIR` when set (the app, the API and Docker use it), else the profile's models/index."""
    override = os.environ.get(INDEX_DIR_ENV)
    return Path(override).expanduser() if override else models_dir / "index"
