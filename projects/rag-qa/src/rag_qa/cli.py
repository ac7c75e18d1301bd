"""`rag-qa` command line: ingest (= train), evaluate, bench, ask, predict, serve, app, screenshot, run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt, ScreenshotOpt
from mlshared.console import console, friendly_errors
from mlshared.paths import OutputDirs
from mlshared.projects import ProjectSpec
from rag_qa import config as config_module

app = typer.Typer(
    help="Question answering over your documents: hybrid BM25 + dense retrieval on Qdrant, cited extractive "
    "(offline) or LLM answers, abstention when the evidence is weak, measured on SQuAD v2.",
    no_args_is_help=True,
)

IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder (embedded Qdrant + record manager); default: $RAG_INDEX_DIR or "
                 "the profile's models/index.", file_okay=False),
]  # fmt: skip


def _outputs(profile: str) -> OutputDirs:
    return OutputDirs.for_project("rag-qa", config_module.PROJECT_ROOT, profile)


@app.command()
@friendly_errors
def ingest(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of Markdown, text and PDF files; default: this repository's READMEs and docs.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    index: IndexOpt = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Index a folder incrementally: unchanged files are not re-embedded, deleted files leave the index."""
    from rag_qa.pipeline import RagSystem

    config = config_module.load(params, profile, overrides)
    system = RagSystem.for_profile(config, _outputs(profile).ensure(), index)
    try:
        with console.status("Loading, splitting and embedding documents"):
            summary = system.ingest_folder(folder)
        r = summary.result
        console.print(
            f"[green]Indexed[/] {summary.files} files ({summary.chunks} chunks): {r['num_added']} added, "
            f"{r['num_updated']} updated, {r['num_skipped']} unchanged, {r['num_deleted']} removed. "
            f"{system.index.count()} chunks in {system.index.directory}"
        )
        for message in summary.skipped:
            console.print(f"[yellow]Skipped[/] {message}")
    finally:
        system.close()


# A RAG system has no weights to fit: its "model" is the index, so `train` (the verb every project has)
# builds it, exactly as `ingest` does.
app.command("train", help="Build the index (what a RAG system has instead of training); the same as `ingest`.")(ingest)


@app.command()
@friendly_errors
def predict(
    questions: Annotated[
        Path, typer.Argument(help="A text file with one question per line.", exists=True, dir_okay=False)
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSON Lines file; default: stdout.")] = None,
    index: IndexOpt = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Answer every question of a file: one JSON line each (answer, abstained, confidence, citations)."""
    import json

    from mlshared.console import track
    from rag_qa.pipeline import RagSystem

    lines = [q.strip() for q in questions.read_text(encoding="utf-8").splitlines() if q.strip()]
    config = config_module.load(params, profile, overrides)
    system = RagSystem.for_profile(config, _outputs(profile), index)
    try:
        rows = []
        for question in track(lines, "Answering"):
            answer = system.ask(question)
            rows.append(json.dumps({
                "question": question, "answer": answer.text, "abstained": answer.abstained,
                "confidence": round(answer.confidence, 4),
                "unanswerable_probability": answer.unanswerable_probability,
                "citations": [c.chunk_id for c in answer.citations],
            }))  # fmt: skip
    finally:
        system.close()
    text = "\n".join(rows) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"[green]Wrote[/] {output} ({len(rows)} answers)")
    else:
        print(text, end="")


@app.command()
@friendly_errors
def evaluate(
    squad: Annotated[
        Path | None,
        typer.Option(
            "--squad",
            help="A SQuAD v2-format JSON file; default: the registered SQuAD v2.0 dev set.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Retrieval recall@k/MRR, answer quality, calibrated abstention and latency on SQuAD; writes reports/."""
    from rag_qa.evaluate import evaluate as run_evaluation

    run_evaluation(config_module.load(params, profile, overrides), profile, _outputs(profile), squad)


@app.command()
@friendly_errors
def bench(
    chunks: Annotated[
        int | None, typer.Option("--chunks", min=100, help="Size of the large index; default: bench.chunks.")
    ] = None,
    queries: Annotated[int | None, typer.Option("--queries", min=2, help="Queries timed per index.")] = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Retrieval latency p50/p95 per stage on the SQuAD index and on a large index of real text (SQuAD +
    SST-2 sentences); writes reports/bench.json. The large index is built once (slow) and reused."""
    from rag_qa.bench import run_bench

    config = config_module.load(params, profile, overrides)
    run_bench(config, _outputs(profile), chunks or config.bench.chunks, queries or config.bench.queries)


@app.command()
@friendly_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only search these sources (repeatable), e.g. README.md.")
    ] = None,
    k: Annotated[int | None, typer.Option("-k", help="Passages to answer from; default: retrieval.k.")] = None,
    index: IndexOpt = None,
    profile: ProfileOpt = "full",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Answer a question from the indexed documents, with citations and scores."""
    from rag_qa.pipeline import RagSystem

    config = config_module.load(params, profile, overrides)
    system = RagSystem.for_profile(config, _outputs(profile), index)
    try:
        answer = system.ask(question, k, source)
    finally:
        system.close()
    verdict = "[bold yellow]Abstained[/]" if answer.abstained else "[bold green]Answer[/]"
    risk = "" if answer.unanswerable_probability is None else f", P(unanswerable) {answer.unanswerable_probability:.2f}"
    console.print(f"{verdict} (confidence {answer.confidence:.3f}{risk}, {answer.mode})")
    print(answer.text)
    table = Table("chunk", "fused", "BM25 rank", "dense rank", "cosine", title="Retrieved passages")
    cited = {c.chunk_id for c in answer.citations}
    for hit in answer.hits:
        mark = " (cited)" if hit.chunk_id in cited else ""
        table.add_row(
            hit.chunk_id + mark, f"{hit.score:.4f}", str(hit.bm25_rank or "—"), str(hit.dense_rank or "—"),
            "—" if hit.dense_score is None else f"{hit.dense_score:.3f}",
        )  # fmt: skip
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    index: IndexOpt = None,
    profile: ProfileOpt = "full",
) -> None:
    """Start the API (/ask, /ingest, /health, /ready, /metrics, /docs) with uvicorn."""
    import os

    import uvicorn

    from mlshared.service import uvicorn_log_config

    os.environ.setdefault("RAG_PROFILE", profile)
    if index:
        os.environ["RAG_INDEX_DIR"] = str(index.resolve())
    console.print(f"API on http://{host}:{port} (docs at /docs)")
    uvicorn.run("rag_qa.service:create_app", factory=True, host=host, port=port, log_config=uvicorn_log_config())


@app.command("app")
def run_app(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    index: IndexOpt = None,
    profile: ProfileOpt = "full",
) -> None:
    """Start the Streamlit app: ask, see highlighted sources and scores, upload documents."""
    import os
    import subprocess

    from mlshared.servers import streamlit_command
    from rag_qa import app as app_module

    env = {**os.environ, app_module.PROFILE_ENV: profile}
    if index:
        env["RAG_INDEX_DIR"] = str(index.resolve())
    console.print(f"Starting the app on http://localhost:{port}")
    raise typer.Exit(subprocess.call(streamlit_command(app_module.__file__, port), env=env))


@app.command()
@friendly_errors
def screenshot(
    output: ScreenshotOpt = config_module.PROJECT_ROOT / "docs" / "app.png",
    index: IndexOpt = None,
    profile: ProfileOpt = "quick",
) -> None:
    """Start the app on an ingested index, ask a question in headless Chromium and save a screenshot."""
    from typing import Any

    from mlshared.browser import screenshot_app
    from mlshared.servers import streamlit_command
    from rag_qa import app as app_module
    from rag_qa.store import default_index_dir

    index_dir = (index or default_index_dir(_outputs(profile).models)).resolve()

    def ask_a_question(page: Any) -> None:
        page.get_by_label("Question").wait_for(timeout=240_000)  # first run loads the model
        page.get_by_label("Question").fill("Which projects use MLflow?")
        page.get_by_role("button", name="Ask").click()
        page.get_by_text("Source passages").wait_for(timeout=180_000)
        page.wait_for_timeout(1500)

    screenshot_app(
        lambda port: streamlit_command(app_module.__file__, port), output, ask_a_question,
        ready_path="/_stcore/health", env={"RAG_INDEX_DIR": str(index_dir), app_module.PROFILE_ENV: profile},
        height=1300, timeout_s=300,
    )  # fmt: skip
    console.print(f"[green]Wrote[/] {output}")


def readme_blocks(reports: Path) -> dict[str, str]:
    """The README's latency table, from the last `rag-qa bench` (reports/bench.json)."""
    from mlshared.reports import read_json_report
    from rag_qa.bench import bench_markdown

    report = read_json_report(reports / "bench.json")
    return {} if report is None else {"bench": bench_markdown(report)}


PROJECT = ProjectSpec(
    name="rag-qa",
    title="RAG question answering with citations and abstention (LangChain, Qdrant, bm25s, Streamlit)",
    root=config_module.PROJECT_ROOT,
    app=app,
    pipeline=(("ingest",), ("evaluate",)),
    readme_blocks=readme_blocks,
)
PROJECT.add_run_command(config_module.DEFAULT_PARAMS)


def main() -> None:
    app()
