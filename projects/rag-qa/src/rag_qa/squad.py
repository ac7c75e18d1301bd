"""SQuAD v2-format evaluation sets: every paragraph becomes a document, a question's gold is its paragraph.

Any file in the SQuAD v2.0 JSON layout works (`rag-qa evaluate --squad FILE.json`); the default is the
registered `squad` dataset (the v2.0 dev set: 28 Wikipedia articles, 1,383 paragraphs), resolved and
checksum-verified by `mlshared.datasets`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from mlshared.console import UserError
from mlshared.datasets import resolve_file

DATASET = "squad"
DEV_FILE = "dev.json"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    article: str
    gold_source: str  # the paragraph the question was written about
    answers: tuple[str, ...]
    impossible: bool


@dataclass
class SquadSet:
    articles: list[str] = field(default_factory=list)
    paragraphs: list[Document] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)

    @property
    def answerable(self) -> list[Question]:
        return [q for q in self.questions if not q.impossible]

    @property
    def unanswerable(self) -> list[Question]:
        return [q for q in self.questions if q.impossible]


def default_file() -> Path:
    return resolve_file(DATASET, DEV_FILE)


def paragraph_source(article: str, number: int) -> str:
    return f"{article}/{number:03d}"


def load_squad(path: Path | None = None, max_articles: int | None = None) -> SquadSet:
    """Read a SQuAD v2 JSON file; `max_articles` keeps the first articles (the quick profile)."""
    path = path or default_file()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        articles = raw["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(
            f"{path} is not a readable SQuAD v2 JSON file ({type(error).__name__}: {error}).",
            hint="Pass a file in the SQuAD v2.0 layout: {'data': [{'title', 'paragraphs': [{'context', 'qas'}]}]}.",
        ) from error
    squad = SquadSet()
    for article in articles[:max_articles]:
        title = str(article["title"])
        squad.articles.append(title)
        for number, paragraph in enumerate(article["paragraphs"]):
            source = paragraph_source(title, number)
            squad.paragraphs.append(Document(page_content=paragraph["context"], metadata={"source": source}))
            for qa in paragraph["qas"]:
                squad.questions.append(
                    Question(
                        id=str(qa["id"]),
                        text=str(qa["question"]).strip(),
                        article=title,
                        gold_source=source,
                        answers=tuple(str(a["text"]) for a in qa.get("answers", [])),
                        impossible=bool(qa.get("is_impossible", False)),
                    )
                )
    if not squad.paragraphs:
        raise UserError(f"{path} holds no paragraphs.", hint="Check the file, or --max-articles.")
    return squad
