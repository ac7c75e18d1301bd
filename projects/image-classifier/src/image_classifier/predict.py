"""`predict PATH...`: classify image files and folders with the exported ONNX model; write a CSV.

Folders are searched recursively; every file that is not a usable image is listed with its reason in
the CSV (`error` column) instead of stopping the batch.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from image_classifier.images import ImageProblemError, open_file
from image_classifier.inference import OnnxClassifier
from mlshared.console import UserError, track


@dataclass(frozen=True)
class Prediction:
    path: Path
    label: str | None
    probability: float | None
    probabilities: dict[str, float]
    error: str | None = None


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, folders expanded recursively (hidden files skipped), in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path} does not exist.", hint="Pass image files or folders of images.")
    if not files:
        raise UserError("No files to classify.", hint="The folders given are empty.")
    return files


def predict_paths(classifier: OnnxClassifier, paths: list[Path], batch_size: int = 16) -> list[Prediction]:
    files = expand(paths)
    results: list[Prediction] = []
    pending: list[tuple[Path, Image.Image]] = []

    def flush() -> None:
        if not pending:
            return
        proba = classifier.predict_proba([image for _, image in pending])
        for (path, _), row in zip(pending, proba, strict=True):
            best = int(row.argmax())
            probabilities = dict(zip(classifier.classes, map(float, row), strict=True))
            results.append(Prediction(path, classifier.classes[best], float(row[best]), probabilities))
        pending.clear()

    for path in track(files, "Classifying", total=len(files)):
        try:
            pending.append((path, open_file(path)))
        except ImageProblemError as problem:
            results.append(Prediction(path, None, None, {}, str(problem)))
        if len(pending) >= batch_size:
            flush()
    flush()
    order = {path: i for i, path in enumerate(files)}
    return sorted(results, key=lambda p: order[p.path])


def write_csv(predictions: list[Prediction], classes: list[str], target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "probability", *(f"p_{c}" for c in classes), "error"])
        for p in predictions:
            writer.writerow(
                [
                    str(p.path),
                    p.label or "",
                    "" if p.probability is None else f"{p.probability:.4f}",
                    *("" if c not in p.probabilities else f"{p.probabilities[c]:.4f}" for c in classes),
                    p.error or "",
                ]
            )
    return target
