"""Transfer learning: a new head on an ImageNet backbone, trained with AdamW, warm-up + cosine LR, label
smoothing and early stopping on the validation split carved from train (never on the test set).

Two modes: `finetune` trains every layer (the backbone at `backbone_lr_factor` x the head's LR) and
`features` freezes the backbone (batch-norm statistics included) and trains the head only. Seeded:
the same seed, data and threads give the same weights.
"""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from image_classifier.checkpoint import MODEL_FILE, TrainedModel
from image_classifier.config import Config
from image_classifier.data import ImageData
from image_classifier.dataset import ImageDataset, loader
from image_classifier.model import (
    build,
    classifier_parameters,
    features,
    freeze_backbone,
    head_logits,
    normalisation,
    train_mode,
)
from image_classifier.transforms import Preprocessing, eval_transform, train_transform
from mlshared import tracking
from mlshared.console import console, make_progress
from mlshared.paths import OutputDirs

HISTORY_FILE = "history.json"


@dataclass
class TrainResult:
    trained: TrainedModel
    model_path: Path
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float
    run_id: str | None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds code that uses the legacy global generator (torchvision, timm)
    torch.manual_seed(seed)


def optimizer_for(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """Two parameter groups: the new head at `lr`, the (unfrozen) backbone at `lr x backbone_lr_factor`."""
    head = classifier_parameters(model)
    head_ids = {id(p) for p in head}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups: list[dict[str, Any]] = [{"params": head, "lr": config.train.lr, "name": "head"}]
    if backbone:
        groups.append({"params": backbone, "lr": config.train.lr * config.train.backbone_lr_factor, "name": "backbone"})
    return torch.optim.AdamW(groups, weight_decay=config.train.weight_decay)


def scheduler_for(
    optimizer: torch.optim.Optimizer, config: Config, steps_per_epoch: int, epochs: int | None = None
) -> Any:
    """Per-step linear warm-up from 10% then cosine decay to zero over the planned epochs."""
    from torch.optim import lr_scheduler

    total = (epochs or config.train.epochs) * steps_per_epoch
    warmup = min(config.train.warmup_epochs * steps_per_epoch, total - 1)
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup))
    if warmup <= 0:
        return cosine
    warm = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    return lr_scheduler.SequentialLR(optimizer, [warm, cosine], milestones=[warmup])


@torch.inference_mode()
def loss_and_accuracy(model: nn.Module, batches: Any) -> tuple[float, float]:
    """Mean cross-entropy (no smoothing) and accuracy over a loader."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for images, labels in batches:
        logits = model(images)
        total_loss += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
        correct += int((logits.argmax(1) == labels).sum())
        count += len(labels)
    return total_loss / max(count, 1), correct / max(count, 1)


def train(
    config: Config, profile: str, outputs: OutputDirs, data: ImageData, *, track: bool = True, run_name: str = ""
) -> TrainResult:
    start = time.perf_counter()
    outputs.ensure()
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    arch, size = config.model.arch, config.train.image_size
    mean, std = normalisation(arch)
    prep = Preprocessing.for_size(size, mean, std)
    train_set = ImageDataset(data.train, train_transform(prep, config.train.augment), cache_short_side=prep.resize)
    val_set = ImageDataset(data.validation, eval_transform(prep), cache_short_side=prep.resize)
    train_batches = loader(train_set, config.train.batch_size, shuffle=True, seed=config.seed)
    val_batches = loader(val_set, 32)

    model = build(arch, config.model.weights, len(data.classes), config.model.dropout)
    frozen = config.model.mode == "features"
    if frozen:
        freeze_backbone(model)
    optimizer = optimizer_for(model, config)
    scheduler = scheduler_for(optimizer, config, len(train_batches))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    console.print(
        f"Training {arch} ({config.model.weights} weights, {config.model.mode}, {trainable:,} trainable parameters) "
        f"on {len(data.train)} images at {size} px, early stopping on {len(data.validation)}; classes: "
        f"{', '.join(data.classes)}"
    )

    if frozen:
        history, best_epoch, best_loss, best_state = _fit_head(model, config, data, prep)
    else:
        history, best_epoch, best_loss, best_state = _fit_all(
            model, config, train_batches, val_batches, optimizer, scheduler, loss_fn
        )
    model.load_state_dict(best_state)
    model.eval()
    for parameter in model.parameters():  # the saved model is whole again: Grad-CAM needs gradients through it
        parameter.requires_grad_(True)
    seconds = time.perf_counter() - start
    trained = TrainedModel(
        model,
        arch,
        data.classes,
        prep,
        config.model.dropout,
        {
            "profile": profile,
            "weights": config.model.weights,
            "mode": config.model.mode,
            "data_source": data.source,
            "data_fingerprint": data.fingerprint,
            "train_images": len(data.train),
            "validation_images": len(data.validation),
            "best_epoch": best_epoch,
            "epochs_run": len(history),
            "best_validation_loss": best_loss,
            "image_size": size,
            "train_seconds": round(seconds, 1),
            "seed": config.seed,
            "tta_flip": config.model.tta_flip,
        },
        config.model.tta_flip,
    )
    model_path = outputs.models / MODEL_FILE
    run_id = _track(config, profile, trained, history, run_name, model_path, data) if track else None
    if run_id is None:
        trained.metadata["mlflow_run_id"] = None
        trained.save(model_path)
    (outputs.work / HISTORY_FILE).write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    console.print(f"[green]Saved[/] {model_path} (best epoch {best_epoch}, {seconds:.0f} s)")
    return TrainResult(trained, model_path, history, best_epoch, seconds, run_id)


Fit = tuple[list[dict[str, float]], int, float, dict[str, Any]]


class _EarlyStopping:
    """Keeps the state with the lowest validation loss; says when `patience` epochs brought nothing."""

    def __init__(self, model: nn.Module, patience: int) -> None:
        self.model, self.patience = model, patience
        self.best_loss, self.best_epoch, self.stale = float("inf"), 0, 0
        self.best_state = copy.deepcopy(model.state_dict())

    def update(self, epoch: int, val_loss: float) -> bool:
        """True when this epoch improved the validation loss."""
        if val_loss < self.best_loss - 1e-4:
            self.best_loss, self.best_epoch, self.stale = val_loss, epoch, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
            return True
        self.stale += 1
        return False

    @property
    def stop(self) -> bool:
        return self.stale >= self.patience

    def result(self, history: list[dict[str, float]]) -> Fit:
        return history, self.best_epoch, self.best_loss, self.best_state


def _report_epoch(row: dict[str, float], improved: bool, every: int = 1) -> None:
    epoch = int(row["epoch"])
    if epoch % every == 0 or epoch == 1:
        console.print(
            f"  epoch {epoch:>3}  train loss {row['train_loss']:.3f} acc {row['train_accuracy']:.3f}  |  validation "
            f"loss {row['val_loss']:.3f} acc {row['val_accuracy']:.3f}{'  *' if improved else ''}  "
            f"({row['seconds']:.1f} s)"
        )


def _fit_all(
    model: nn.Module,
    config: Config,
    train_batches: Any,
    val_batches: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    loss_fn: nn.Module,
) -> Fit:
    """Fine-tuning (or training from scratch): every epoch runs the whole network on fresh augmentations."""
    history: list[dict[str, float]] = []
    stopper = _EarlyStopping(model, config.train.patience)
    with make_progress() as progress:
        epochs_task = progress.add_task("Epochs", total=config.train.epochs)
        for epoch in range(1, config.train.epochs + 1):
            epoch_start = time.perf_counter()
            train_mode(model, frozen_backbone=False)
            seen, loss_sum, correct = 0, 0.0, 0
            batch_task = progress.add_task(f"Epoch {epoch}", total=len(train_batches))
            for images, labels in train_batches:
                optimizer.zero_grad(set_to_none=True)
                logits = model(images)
                loss = loss_fn(logits, labels)
                loss.backward()
                optimizer.step()
                scheduler.step()
                seen += len(labels)
                loss_sum += float(loss.detach()) * len(labels)
                correct += int((logits.argmax(1) == labels).sum())
                progress.advance(batch_task)
            progress.remove_task(batch_task)
            val_loss, val_acc = loss_and_accuracy(model, val_batches)
            row = {
                "epoch": epoch, "train_loss": loss_sum / seen, "train_accuracy": correct / seen, "val_loss": val_loss,
                "val_accuracy": val_acc, "lr_head": optimizer.param_groups[0]["lr"],
                "seconds": time.perf_counter() - epoch_start,
            }  # fmt: skip
            history.append(row)
            _report_epoch(row, stopper.update(epoch, val_loss))
            progress.advance(epochs_task)
            if stopper.stop:
                console.print(f"  early stop: no validation-loss improvement for {stopper.stale} epochs")
                break
    return stopper.result(history)


@torch.inference_mode()
def extract_features(
    model: nn.Module, dataset: ImageDataset, views: int, description: str, flip_average: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled backbone features of `views` passes over `dataset` (each pass draws new augmentations), view after
    view. `flip_average`: the mean of each image's features and its mirror image's, which through a linear head
    gives exactly the logits of `model.FlipAveraged` (test-time flips)."""
    model.eval()
    feats, labels = [], []
    batches = loader(dataset, 32)
    with make_progress(transient=True) as progress:
        task = progress.add_task(description, total=views * len(batches))
        for _ in range(views):
            for images, targets in batches:
                pooled = features(model, images)
                if flip_average:
                    pooled = (pooled + features(model, torch.flip(images, dims=[3]))) / 2
                feats.append(pooled)
                labels.append(targets)
                progress.advance(task)
    return torch.cat(feats), torch.cat(labels)


def _fit_head(model: nn.Module, config: Config, data: ImageData, prep: Preprocessing) -> Fit:
    """Feature extraction. The backbone is frozen (batch-norm statistics too), so its output for a given
    augmented image never changes: it runs once per augmented view (`feature_views` views of each training
    image, one clean pass of the validation split) and the head trains on the cached features. Same
    gradients as running the frozen backbone every epoch on those views, at a fraction of the cost.
    With `average_views` each image's views are averaged into one row (a linear probe on augmentation-averaged
    features; docs/experiments.md, block 1). The validation split is scored as served (test-time flips
    included when `model.tta_flip`)."""
    train_set = ImageDataset(data.train, train_transform(prep, config.train.augment), cache_short_side=prep.resize)
    val_set = ImageDataset(data.validation, eval_transform(prep), cache_short_side=prep.resize)
    start = time.perf_counter()
    views = config.train.feature_views
    x_train, y_train = extract_features(model, train_set, views, "Backbone features (train views)")
    if config.train.average_views:
        x_train, y_train = x_train.reshape(views, len(train_set), -1).mean(0), y_train[: len(train_set)]
    x_val, y_val = extract_features(
        model, val_set, 1, "Backbone features (validation)", flip_average=config.model.tta_flip
    )
    console.print(
        f"  backbone features: {views} augmented views of {len(train_set)} training images"
        f"{' (averaged per image)' if config.train.average_views else ''}, {len(x_val)} validation images "
        f"({time.perf_counter() - start:.0f} s)"
    )
    epochs = config.train.head_epochs
    steps = -(-len(x_train) // config.train.batch_size)
    optimizer = torch.optim.AdamW(
        classifier_parameters(model), lr=config.train.lr, weight_decay=config.train.weight_decay
    )
    scheduler = scheduler_for(optimizer, config, steps, epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
    generator = torch.Generator().manual_seed(config.seed)
    stopper = _EarlyStopping(model, config.train.head_patience)
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(order), config.train.batch_size):
            batch = order[i : i + config.train.batch_size]
            optimizer.zero_grad(set_to_none=True)
            logits = head_logits(model, x_train[batch])
            loss = loss_fn(logits, y_train[batch])
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(batch)
            correct += int((logits.argmax(1) == y_train[batch]).sum())
        model.eval()
        with torch.inference_mode():
            val_logits = head_logits(model, x_val)
            val_loss = float(nn.functional.cross_entropy(val_logits, y_val))
            val_acc = float((val_logits.argmax(1) == y_val).float().mean())
        row = {
            "epoch": epoch, "train_loss": loss_sum / len(order), "train_accuracy": correct / len(order),
            "val_loss": val_loss, "val_accuracy": val_acc, "lr_head": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - epoch_start,
        }  # fmt: skip
        history.append(row)
        _report_epoch(row, stopper.update(epoch, val_loss), every=10)
        if stopper.stop:
            console.print(
                f"  early stop after epoch {epoch}: no validation-loss improvement for {stopper.stale} epochs"
            )
            break
    return stopper.result(history)


def _track(
    config: Config,
    profile: str,
    trained: TrainedModel,
    history: list[dict[str, float]],
    run_name: str,
    model_path: Path,
    data: ImageData,
) -> str:
    """Log params, the learning curve and the model, saving the checkpoint (which records the run id) on the
    way, and register the model as `tracking.registered_model@tracking.alias`."""
    import mlflow

    from image_classifier.mlflow_model import log_classifier

    with tracking.tracked_run(
        config.tracking.experiment,
        run_name=run_name or f"train-{profile}",
        params=config.model_dump(),
        tags={"profile": profile, "data_fingerprint": str(trained.metadata["data_fingerprint"])},
    ) as run:
        for row in history:
            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))
        tracking.log_metrics(
            {"best_epoch": trained.metadata["best_epoch"], "train_seconds": trained.metadata["train_seconds"]}
        )
        trained.metadata["mlflow_run_id"] = str(run.info.run_id)
        trained.save(model_path)
        with console.status("Logging and registering the model in MLflow"):
            registered = log_classifier(
                model_path,
                trained.classes,
                data.train[0].path.read_bytes(),
                config.tracking.registered_model,
                config.tracking.alias,
            )
        if registered:
            console.print(f"Registered {registered.alias_uri} (version {registered.version})")
        return str(run.info.run_id)
