"""Frozen-backbone candidates ranked by repeated cross-validation on the training folder only.

Backbone features of the 244 usable `train` images are computed once per (image size, view kind) and
cached in artifacts/experiments/; the `val` folder (the test set) is never read. The heads are
scikit-learn logistic regressions on standardised features. See docs/experiments.md, block 1.

    PORTFOLIO_DATA_MIRROR=/work/shared/data nice -n 10 python experiments/features_cv.py --threads 2
"""

from __future__ import annotations

import argparse
import json
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
from image_classifier.data import Sample, load
from image_classifier.dataset import ImageDataset
from image_classifier.model import build, normalisation
from image_classifier.train import extract_features, seed_everything
from image_classifier.transforms import Preprocessing, eval_transform, train_transform

CACHE = config_module.PROJECT_ROOT / "artifacts" / "experiments"
SIZES = (224, 256, 288, 320)
AUG_VIEWS = 8
CS = (0.03, 0.1, 0.3, 1.0)
Array = npt.NDArray[np.float32]


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


def feature_sets(samples: list[Sample], sizes: tuple[int, ...], aug_sizes: tuple[int, ...]) -> dict[str, Array]:
    config = config_module.load()
    model = build("efficientnet_lite0", "imagenet", 2)
    mean, std = normalisation("efficientnet_lite0")
    sets: dict[str, Array] = {}
    for size in sizes:
        prep = Preprocessing.for_size(size, mean, std)
        clean = eval_transform(prep)
        for kind, transform in (("clean", clean), ("flip", flipped(clean))):
            dataset = ImageDataset(samples, transform, cache_short_side=prep.resize)
            sets[f"{size}-{kind}"] = cached(f"{size}-{kind}", model, dataset, 1)
        if size in aug_sizes:
            seed_everything(config.seed)
            dataset = ImageDataset(samples, train_transform(prep, config.train.augment), cache_short_side=prep.resize)
            views = cached(f"{size}-aug{AUG_VIEWS}", model, dataset, AUG_VIEWS)
            sets[f"{size}-aug"] = views.reshape(AUG_VIEWS, len(samples), -1)
    return sets


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--aug-sizes", type=int, nargs="*", default=[224, 288])
    parser.add_argument("--out", type=Path, default=CACHE / "features_cv.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = config_module.load()
    data = load(None, config.data.dataset, config.data.validation_fraction, config.data.test_fraction, config.seed)
    samples = data.train + data.validation  # the train folder only; data.test is never touched
    y = np.asarray([s.label for s in samples])
    start = time.perf_counter()
    sets = feature_sets(samples, tuple(args.sizes), tuple(args.aug_sizes))
    print(f"features ready ({time.perf_counter() - start:.0f} s); {len(samples)} images")
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        clean, flip = sets[f"{size}-clean"], sets[f"{size}-flip"]
        tta: Array = ((clean + flip) / 2).astype(np.float32)
        for fit_name, fit in fits_for(sets, size, y).items():
            for held_name, held in (("clean", clean), ("flip TTA", tta)):
                for c in CS:
                    acc, loss = cv_score(fit, held, y, c)
                    row = {"size": size, "train": fit_name, "held_out": held_name, "C": c, "cv_accuracy": acc,
                           "cv_log_loss": loss}  # fmt: skip
                    rows.append(row)
                    print(f"{size} {fit_name:>20} | {held_name:>8} | C {c:<5} acc {acc:.4f} log loss {loss:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
