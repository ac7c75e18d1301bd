"""Find the images of an ImageFolder-style tree, check every file, and split train / validation / test.

Layouts accepted (`--data DIR`, or the registered `hymenoptera` dataset by default):
- `DIR/train/<class>/*` and `DIR/val/<class>/*` (or `DIR/test/<class>/*`): the second folder is the
  test set, used only by `evaluate`;
- `DIR/<class>/*`: a seeded, stratified `data.test_fraction` of it becomes the test set.
In both cases a seeded, stratified `data.validation_fraction` of the training images is carved off for
early stopping, so the test set is never used to choose anything.

Every file is opened and decoded once (`images.open_image`). What is not used is listed with the reason
in the data report: hidden files, unreadable or corrupt files, decompression bombs, known placeholders.
Unlike torchvision's `ImageFolder`, the extension does not decide (it would silently drop `.gif`): the
content does.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from image_classifier.images import ImageProblemError, open_file, pixel_limit
from mlshared.console import UserError, track
from mlshared.datasets import fingerprint, resolve_dir

TEST_FOLDERS = ("val", "test")


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass(frozen=True)
class Excluded:
    path: Path
    reason: str


@dataclass
class Split:
    """The checked images of one folder of the tree."""

    name: str
    folder: Path
    samples: list[Sample]
    excluded: list[Excluded]
    extensions: Counter[str] = field(default_factory=Counter)

    def counts(self, classes: list[str]) -> dict[str, int]:
        tally = Counter(s.label for s in self.samples)
        return {name: tally[i] for i, name in enumerate(classes)}


@dataclass
class ImageData:
    """Train, validation and test samples with the class names; `report()` is the data report."""

    root: Path
    source: str
    classes: list[str]
    train: list[Sample]
    validation: list[Sample]
    test: list[Sample]
    scanned: list[Split]
    fingerprint: str = ""

    def report(self) -> dict[str, Any]:
        excluded = [
            {"split": split.name, "file": _relative(e.path, self.root), "reason": e.reason}
            for split in self.scanned
            for e in split.excluded
        ]
        return {
            "source": self.source,
            "root": str(self.root),
            "fingerprint": self.fingerprint,
            "classes": self.classes,
            "found": {
                split.name: {
                    "files": len(split.samples) + len(split.excluded),
                    "used": len(split.samples),
                    "extensions": dict(sorted(split.extensions.items())),
                }
                for split in self.scanned
            },
            "used": {
                "train": _counts(self.train, self.classes),
                "validation": _counts(self.validation, self.classes),
                "test": _counts(self.test, self.classes),
            },
            "excluded": excluded,
            "names_with_spaces": sorted(
                _relative(s.path, self.root) for s in [*self.train, *self.validation, *self.test] if " " in s.path.name
            ),
            "rules": {
                "decoding": "every file is fully decoded with Pillow; a file that fails is listed and skipped",
                "decompression_bombs": f"refused above Pillow's PIL.Image.MAX_IMAGE_PIXELS = {pixel_limit():,} pixels",
                "placeholders": "files whose sha256 matches a known placeholder image are excluded",
                "hidden_files": "names starting with '.' (e.g. .DS_Store) are skipped",
                "validation": "a seeded, stratified part of train is held out for early stopping; "
                "the test folder is used only by evaluate",
            },
        }

    def write_report(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.report(), indent=2) + "\n", encoding="utf-8")
        return path


def _counts(samples: list[Sample], classes: list[str]) -> dict[str, int]:
    tally = Counter(s.label for s in samples)
    return {name: tally[i] for i, name in enumerate(classes)}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def class_folders(folder: Path) -> list[str]:
    """Class names: the visible sub-folders, sorted (ImageFolder's convention, so label ids match it)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_split(name: str, folder: Path, classes: list[str]) -> Split:
    """Check every file under `folder/<class>/` (recursively), keeping the usable ones."""
    files = [
        (label, path)
        for label, class_name in enumerate(classes)
        if (folder / class_name).is_dir()
        for path in sorted((folder / class_name).rglob("*"))
        if path.is_file()
    ]
    samples: list[Sample] = []
    excluded: list[Excluded] = []
    extensions: Counter[str] = Counter()
    for label, path in track(files, f"Checking {name} images", total=len(files)):
        extensions[path.suffix.lower() or "(none)"] += 1
        if path.name.startswith("."):
            excluded.append(Excluded(path, "hidden file"))
            continue
        try:
            open_file(path)
        except ImageProblemError as problem:
            excluded.append(Excluded(path, str(problem)))
            continue
        samples.append(Sample(path, label))
    return Split(name, folder, samples, excluded, extensions)


@functools.cache
def load(
    data_dir: Path | None = None,
    dataset: str = "hymenoptera",
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 42,
) -> ImageData:
    """Scan the tree and split it; see the module docstring for the layouts. Cached for the life of the
    process, so the pipeline's verbs (run in one process by `make run`) decode the images once."""
    if data_dir is None:
        root, source, digest = resolve_dir(dataset), f"registered dataset {dataset!r}", fingerprint(dataset)
    else:
        root, source, digest = data_dir.expanduser().resolve(), f"folder {data_dir}", ""
        if not root.is_dir():
            raise UserError(f"{data_dir} is not a folder.", hint="Pass --data DIR with one sub-folder per class.")
    test_folder = next((root / t for t in TEST_FOLDERS if (root / t).is_dir()), None)
    train_folder = root / "train" if (root / "train").is_dir() else root
    if train_folder == root:
        test_folder = None
    classes = class_folders(train_folder)
    if len(classes) < 2:
        raise UserError(
            f"{train_folder} has {len(classes)} class folder(s); a classifier needs at least two.",
            hint="Lay the images out as DIR/<class>/*.jpg (or DIR/train/<class>/ and DIR/val/<class>/).",
        )
    train_split = scan_split("train", train_folder, classes)
    scanned = [train_split]
    _require_images(train_split, classes)
    train = train_split.samples
    if test_folder is not None:
        extra = set(class_folders(test_folder)) - set(classes)
        if extra:
            raise UserError(
                f"{test_folder} has classes that train does not: {', '.join(sorted(extra))}.",
                hint="Every test class needs training images.",
            )
        test_split = scan_split(test_folder.name, test_folder, classes)
        scanned.append(test_split)
        test = test_split.samples
    else:
        train, test = stratified_split(train, test_fraction, seed)
    train, validation = stratified_split(train, validation_fraction, seed)
    return ImageData(root, source, classes, train, validation, test, scanned, digest)


def stratified_split(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """(kept, held out): a seeded split that keeps the class proportions."""
    labels = [s.label for s in samples]
    if min(Counter(labels).values()) < 2:
        raise UserError(
            "Every class needs at least two usable training images to carve a validation split.",
            hint="Add images, or check the data report for excluded files.",
        )
    kept, held = train_test_split(samples, test_size=fraction, random_state=seed, stratify=labels)
    return list(kept), list(held)


def _require_images(split: Split, classes: list[str]) -> None:
    empty = [name for name, n in split.counts(classes).items() if n == 0]
    if empty:
        raise UserError(
            f"No usable images for class(es) {', '.join(empty)} in {split.folder}.",
            hint="Check the excluded files in the data report (`image-classifier validate`).",
        )
