"""The API in-process (FastAPI TestClient) on a real index: answers, ingestion behind the key, probes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from rag_qa.pipeline import RagSystem
from rag_qa.service import Settings, create_app


@pytest.fixture
def client(system: RagSystem) -> Iterator[TestClient]:
    app = create_app(Settings(api_key=SecretStr("secret")), system=system)
    with TestClient(app) as test_client:
        yield test_client


def test_ask_returns_a_cited_answer_and_scored_passages(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "Who discovered oxygen?"})
    assert response.status_code == 200
    body = response.json()
    assert not body["abstained"] and "Priestley" in body["answer"]
    assert body["citations"] == ["notes/oxygen.txt#0"]
    assert any(p["cited"] and p["source"] == "notes/oxygen.txt" for p in body["passages"])


def test_bad_questions_are_refused_clearly(client: TestClient) -> None:
    assert client.post("/ask", json={"question": ""}).status_code == 422
    assert client.post("/ask", json={"question": "   "}).status_code == 422


def test_ingest_needs_the_key_and_updates_the_index(client: TestClient) -> None:
    doc = {"source": "mars.md", "text": "Mars has two moons, Phobos and Deimos."}
    assert client.post("/ingest", json=doc).status_code == 401
    response = client.post("/ingest", json=doc, headers={"X-API-Key": "secret"})
    assert response.status_code == 200 and response.json()["added"] == 1
    again = client.post("/ingest", json=doc, headers={"X-API-Key": "secret"})
    assert again.json()["added"] == 0 and again.json()["skipped"] == 1  # unchanged: not re-embedded
    answer = client.post("/ask", json={"question": "What are the moons of Mars called?"}).json()
    assert answer["citations"] == ["mars.md#0"]


def test_unreadable_upload_is_explained(client: TestClient) -> None:
    bad_pdf = {"source": "scan.pdf", "content_base64": base64.b64encode(b"not a pdf").decode()}
    response = client.post("/ingest", json=bad_pdf, headers={"X-API-Key": "secret"})
    assert response.status_code == 422 and "cannot be read" in response.text
    unsupported = client.post("/ingest", json={"source": "x.docx", "text": "hi"}, headers={"X-API-Key": "secret"})
    assert unsupported.status_code == 422 and "unsupported file type" in unsupported.text


def test_probes_and_metrics(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    client.post("/ask", json={"question": "How long is the Rhine?"})
    assert "/ask" in client.get("/metrics").text
