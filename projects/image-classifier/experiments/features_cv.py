"""Frozen-backbone candidates ranked by repeated cross-validation on the training folder only.

Backbone features of the 244 usable `train` images are computed once per (backbone, image size, view kind)
and cached in artifacts/experiments/; the `val` folder (the test set) is never read. The heads are
scikit-learn logistic regressions on standardised features. See docs/experiments.md, blocks 1 and 4.

    # block 1: Lite0 at four sizes
    PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 15 python experiments/features_cv.py \
        --sizes 224 256 288 320 --aug-sizes 224 288
    # block 4: Lite0 / Lite1 / Lite2 at their native sizes, and their concatenation
    PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 15 python experiments/features_cv.py \
        --archs efficientnet_lite0 efficientnet_lite1 efficientnet_lite2 --concat --out block4.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from image_classifier import config as config_module
from image_classifier.config import Arch
from image_classifier.data import Sample, load
from image_classifier.dataset import ImageDataset
from image_classifier.model import LITE, build, normalisation
from image_classifier.train import extract_features, seed_everything
from image_classifier.transforms import Preprocessing, eval_transform, train_transform

CACHE = config_module.PROJECT_ROOT / "artifacts" / "experiments"
AUG_VIEWS = 8
CS = (0.03, 0.1, 0.3, 1.0)
CONCAT = "concat"
Array = npt.NDArray[np.float32]


def load_average() -> str:
    """The 1/5/15-minute load averages, recorded beside every figure (a shared 2-core machine)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def flipped(transform: Callable[[Any], Any]) -> Any:
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomHorizontalFlip(p=1.0), transform])


def cached(name: str, model: torch.nn.Module, dataset: ImageDataset, views: int) -> Array:
    """Backbone features of `views` passes over `dataset`, computed once and kept in CACHE."""
    path = CACHE / f"{name}.pt"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save(extract_features(model, dataset, views, name)[0], path)
    features: Array = torch.load(path, weights_only=True).numpy()
    return features


def feature_sets(
    samples: list[Sample], arch: Arch, sizes: tuple[int, ...], aug_sizes: tuple[int, ...]
) -> tuple[dict[str, Array], dict[str, float]]:
    """`{size}-clean`, `{size}-flip` and `{size}-aug` (views x images x features) of one backbone, with the
    seconds each took (0 when cached)."""
    config = config_module.load()
    model = build(arch, "imagenet", 2)
    mean, std = normalisation(arch)
    sets: dict[str, Array] = {}
    seconds: dict[str, float] = {}
    for size in sizes:
        prep = Preprocessing.for_size(size, mean, std)
        clean = eval_transform(prep)
        jobs: list[tuple[str, Any, int]] = [("clean", clean, 1), ("flip", flipped(clean), 1)]
        if size in aug_sizes:
            jobs.append(("aug", train_transform(prep, config.train.augment), AUG_VIEWS))
        for kind, transform, views in jobs:
            seed_everything(config.seed)
            dataset = ImageDataset(samples, transform, cache_short_side=prep.resize)
            start = time.perf_counter()
            name = f"{arch}-{size}-{kind if views == 1 else f'aug{views}'}"
            features = cached(name, model, dataset, views)
            seconds[name] = round(time.perf_counter() - start, 1)
            sets[f"{size}-{kind}"] = features if views == 1 else features.reshape(views, len(samples), -1)
    return sets, seconds


def concatenated(per_arch: list[dict[str, Array]], keys: list[str]) -> dict[str, Array]:
    """The backbones' features side by side (each backbone at its own first size), under the keys of size 0."""
    return {f"0-{kind}": np.concatenate([sets[f"{key}-{kind}"] for sets, key in zip(per_arch, keys, strict=True)], -1)
            for kind in ("clean", "flip", "aug")}  # fmt: skip


Fit = Callable[[Any], tuple[Array, Any]]


def fits_for(sets: dict[str, Array], size: int, y: Any) -> dict[str, Fit]:
    """How the head's training features are built from a fold's training indices."""
    clean, flip = sets[f"{size}-clean"], sets[f"{size}-flip"]

    def clean_only(i: Any) -> tuple[Array, Any]:
        return clean[i], y[i]

    def clean_and_flip(i: Any) -> tuple[Array, Any]:
        return np.concatenate([clean[i], flip[i]]), np.concatenate([y[i], y[i]])

    fits: dict[str, Fit] = {"clean": clean_only, "clean+flip": clean_and_flip}
    if f"{size}-aug" in sets:
        aug = sets[f"{size}-aug"]

        def views(i: Any) -> tuple[Array, Any]:
            return aug[:, i].reshape(-1, aug.shape[-1]), np.tile(y[i], len(aug))

        def mean_of_views(i: Any) -> tuple[Array, Any]:
            return aug[:, i].mean(0), y[i]

        fits[f"{AUG_VIEWS} aug views"] = views
        fits[f"mean of {AUG_VIEWS} aug views"] = mean_of_views
    return fits


def cv_score(train_x: Fit, test_x: Array, y: Any, c: float) -> tuple[float, float]:
    """Mean accuracy and log loss over 3 x 5 folds; `train_x(indices)` gives the (features, labels) to fit."""
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=42)
    correct, losses, count = 0, [], 0
    for fit_idx, held_idx in folds.split(test_x, y):
        x, labels = train_x(fit_idx)
        head = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        head.fit(x, labels)
        proba = head.predict_proba(test_x[held_idx])
        correct += int((proba.argmax(1) == y[held_idx]).sum())
        count += len(held_idx)
        losses.append(log_loss(y[held_idx], proba, labels=[0, 1]) * len(held_idx))
    return correct / count, float(sum(losses) / count)


def score(
    sets: dict[str, Array], size: int, y: Any, label: dict[str, Any], only: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every head-training variant (or those in `only`) x held-out variant x C of one feature family."""
    clean, flip = sets[f"{size}-clean"], sets[f"{size}-flip"]
    tta: Array = ((clean + flip) / 2).astype(np.float32)
    rows: list[dict[str, Any]] = []
    for fit_name, fit in fits_for(sets, size, y).items():
        if only and fit_name not in only:
            continue
        for held_name, held in (("clean", clean), ("flip TTA", tta)):
            for c in CS:
                acc, loss = cv_score(fit, held, y, c)
                rows.append({**label, "train": fit_name, "held_out": held_name, "C": c, "cv_accuracy": acc,
                             "cv_log_loss": loss, "load": load_average()})  # fmt: skip
                print(f"{label} {fit_name:>20} | {held_name:>8} | C {c:<5} acc {acc:.4f} log loss {loss:.4f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="*", default=["efficientnet_lite0"], choices=sorted(LITE))
    parser.add_argument("--sizes", type=int, nargs="*", help="image sizes (default: each backbone's native size)")
    parser.add_argument("--aug-sizes", type=int, nargs="*", help="sizes with augmented views (default: --sizes)")
    parser.add_argument("--concat", action="store_true", help="also score the backbones' features concatenated")
    parser.add_argument("--concat-only", action="store_true", help="score only the concatenation (features cached)")
    parser.add_argument(
        "--concat-fits",
        nargs="*",
        default=[f"mean of {AUG_VIEWS} aug views"],
        help="head-training variants scored on the concatenation (the 3840-d fits on every view are the slow ones)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("features_cv.json"), help="file name under the cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = config_module.load()
    data = load(None, config.data.dataset, config.data.validation_fraction, config.data.test_fraction, config.seed)
    samples = data.train + data.validation  # the train folder only; data.test is never touched
    y = np.asarray([s.label for s in samples])
    out = args.out if args.out.is_absolute() else CACHE / args.out
    report: dict[str, Any] = {"load_start": load_average(), "images": len(samples), "seconds": {}, "rows": []}
    per_arch, first_sizes = [], []
    for arch in args.archs:
        sizes = tuple(args.sizes or [LITE[arch].native_size])
        sets, seconds = feature_sets(samples, arch, sizes, tuple(args.aug_sizes or sizes))
        report["seconds"].update(seconds)
        print(f"{arch}: features ready {seconds} (load {load_average()})")
        per_arch.append(sets)
        first_sizes.append(str(sizes[0]))
        for size in () if args.concat_only else sizes:
            report["rows"] += score(sets, size, y, {"arch": arch, "size": size})
            write(report, out)  # after every family, so a stopped run keeps what it scored
    if (args.concat or args.concat_only) and len(per_arch) > 1:
        label = {"arch": CONCAT, "size": 0}
        report["rows"] += score(concatenated(per_arch, first_sizes), 0, y, label, args.concat_fits)
    write(report, out)
    print(f"wrote {out} (load {report['load_start']} at start, {report['load_end']} at the end)")


def write(report: dict[str, Any], out: Path) -> None:
    report["load_end"] = load_average()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
