"""The API on the shared service chassis (`mlshared.service`): `/ask` (open), `/ingest` (behind the API key
when `RAG_API_KEY` is set), and the chassis' `/health`, `/ready`, `/metrics` and offline `/docs`.

`uvicorn rag_qa.service:create_app --factory` (what `rag-qa serve` and the Docker image run) reads
`RAG_*` variables: `RAG_INDEX_DIR` (the index folder), `RAG_QDRANT_URL` (a Qdrant server instead of
the embedded store), `RAG_PARAMS` / `RAG_PROFILE`, and the `RAG_LLM_*` endpoint for LLM answers.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from mlshared.console import UserError
from mlshared.paths import OutputDirs
from mlshared.service import ServiceSettings, build_app, loaded_model, protected_router, run_blocking
from rag_qa import config as config_module
from rag_qa.answer import Answer
from rag_qa.pipeline import RagSystem, load_abstention
from rag_qa.store import default_index_dir

INGEST_HINT = "Ingest documents first: `rag-qa ingest` or POST /ingest."


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")
    params: Path = config_module.DEFAULT_PARAMS
    profile: str = "full"
    index_dir: Path | None = None

    def index_path(self) -> Path:
        outputs = OutputDirs.for_project("rag-qa", config_module.PROJECT_ROOT, self.profile)
        return self.index_dir or default_index_dir(outputs.models)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, examples=["Which projects use MLflow?"])
    k: int | None = Field(None, ge=1, le=50, description="Passages to answer from; default retrieval.k.")
    sources: list[str] | None = Field(None, description="Only search these sources (file paths as indexed).")


class Passage(BaseModel):
    chunk_id: str
    source: str
    text: str
    score: float
    bm25_rank: int | None
    dense_rank: int | None
    cited: bool


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    confidence: float
    unanswerable_probability: float | None = Field(
        None, description="The abstention model's P(unanswerable); null when no model was fitted (`rag-qa evaluate`)."
    )
    mode: str
    citations: list[str]
    passages: list[Passage]


class IngestRequest(BaseModel):
    source: str = Field(min_length=1, max_length=300, examples=["notes/meeting.md"])
    text: str | None = Field(None, description="Markdown or plain text.")
    content_base64: str | None = Field(None, description="The file's bytes, base64 (for PDFs).")


class IngestResponse(BaseModel):
    source: str
    chunks: int
    added: int
    updated: int
    skipped: int
    deleted: int
    total_chunks: int


System = Annotated[RagSystem, Depends(loaded_model)]
public = APIRouter(tags=["answers"])
private = protected_router(tags=["documents"])


def to_response(answer: Answer) -> AskResponse:
    cited = {c.chunk_id for c in answer.citations}
    passages = [
        Passage(chunk_id=h.chunk_id, source=h.chunk.source, text=h.chunk.text, score=h.score,
                bm25_rank=h.bm25_rank, dense_rank=h.dense_rank, cited=h.chunk_id in cited)
        for h in answer.hits
    ]  # fmt: skip
    return AskResponse(
        answer=answer.text, abstained=answer.abstained, confidence=answer.confidence,
        unanswerable_probability=answer.unanswerable_probability, mode=answer.mode,
        citations=sorted(cited), passages=passages,
    )  # fmt: skip


@public.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, request: Request, system: System) -> AskResponse:
    def run() -> Answer:
        return system.ask(body.question, body.k, body.sources)

    try:
        return to_response(await run_blocking(request, run))
    except UserError as error:
        raise HTTPException(409 if "index is empty" in error.message else 422, str(error)) from error


@private.post("/ingest", response_model=IngestResponse)
async def ingest(body: IngestRequest, request: Request, system: System) -> IngestResponse:
    if (body.text is None) == (body.content_base64 is None):
        raise HTTPException(422, "Send exactly one of `text` or `content_base64`.")
    try:
        data = (
            body.text.encode() if body.text is not None else base64.b64decode(body.content_base64 or "", validate=True)
        )
    except binascii.Error as error:
        raise HTTPException(422, f"content_base64 is not valid base64: {error}") from error

    def run() -> IngestResponse:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(body.source).name
            path.write_bytes(data)
            summary = system.ingest_file(path, body.source)
        r = summary.result
        return IngestResponse(
            source=body.source, chunks=summary.chunks, added=r["num_added"], updated=r["num_updated"],
            skipped=r["num_skipped"], deleted=r["num_deleted"], total_chunks=system.index.count(),
        )  # fmt: skip

    try:
        return await run_blocking(request, run)
    except UserError as error:
        raise HTTPException(422, str(error)) from error


def create_app(settings: Settings | None = None, system: RagSystem | None = None) -> FastAPI:
    """The service. Pass `system` to skip opening the index (tests); otherwise it opens once at startup."""
    settings = settings or Settings()

    def load() -> RagSystem:
        config = config_module.load(settings.params, settings.profile)
        return RagSystem(config, settings.index_path(), load_abstention(settings.profile))

    return build_app(
        settings,
        public,
        private,
        title="rag-qa",
        version="0.1.0",
        summary="Answers from your documents with citations; abstains when the evidence is weak.",
        model_name="index",
        model=system,
        load_model=load,
        load_hint=INGEST_HINT,
    )
