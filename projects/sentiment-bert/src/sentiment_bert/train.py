"""Fine-tune the encoder with the transformers Trainer, fit the TF-IDF baseline, track and register.

Seeded; dynamic padding (`DataCollatorWithPadding`) with length-grouped batches; gradient accumulation
and max length from params; mixed precision only on a GPU; a wall-clock guard so a run on a shared CPU
never overruns its budget. Two modes, chosen by `data.refit`: with a validation split (choosing the
recipe) it evaluates every `eval_steps`, stops early and keeps what `train.keep` says; the refit trains
on every row for the chosen epochs and keeps the last weights. The model is saved with its tokenizer and
a model card; MLflow runs land in the store `mlshared.tracking` configures. An experiment changes a run
through an `Extension` (another head, another choice of weights; see experiments/) instead of a copy of
this module.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from mlshared import machine, tracking
from mlshared.console import console
from mlshared.datasets import DataSettings, fingerprint
from mlshared.params import overrides_of
from mlshared.paths import OutputDirs
from sentiment_bert import baseline, checkpoint, modelcard
from sentiment_bert.config import Config
from sentiment_bert.data import DATASET, LABEL, LABELS, TEXT, TRAIN_FILE, Splits, load_train, training_splits
from sentiment_bert.inference import accuracy_of
from sentiment_bert.layout import TRAINING_FILE, Layout


@dataclass
class TrainResult:
    model_dir: Path
    baseline_path: Path
    summary: dict[str, Any]
    run_id: str | None


class SentenceDataset:
    """Pre-tokenised sentences (no padding: the collator pads each batch to its longest member)."""

    def __init__(self, encodings: dict[str, list[list[int]]], labels: list[int]) -> None:
        self.encodings = encodings
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {k: v[i] for k, v in self.encodings.items()}
        item["labels"] = self.labels[i]
        return item


def tokenize(tokenizer: Any, frame: pd.DataFrame, max_length: int) -> SentenceDataset:
    enc = tokenizer(frame[TEXT].tolist(), truncation=True, max_length=max_length)
    return SentenceDataset({k: list(v) for k, v in enc.items()}, frame[LABEL].astype(int).tolist())


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    predicted = np.asarray(logits).argmax(axis=-1)
    return {"accuracy": float(accuracy_score(labels, predicted)), "f1": float(f1_score(labels, predicted))}


@dataclass(frozen=True)
class Extension:
    """What an experiment (experiments/ beside this package) changes in a run, so that the run still goes through
    this module: the model it trains, extra Trainer callbacks, a last say on the weights it keeps, and the keys
    it records beside the recipe in `hyperparameters` (which `evaluate`'s recipe match reads)."""

    recipe: Mapping[str, Any] = field(default_factory=dict)
    # (checkpoint location, labels, local_files_only) -> a model with a fresh head; default modeling.new_classifier
    new_model: Callable[[str, tuple[str, ...], bool], Any] | None = None
    callbacks: Sequence[Any] = ()
    # Called with the trained model before the kept weights are evaluated and saved; may replace those weights
    # and returns facts to record: `kept` (which weights, short) and `kept_weights` (in words, for the model card).
    finish: Callable[[Any], Mapping[str, Any]] | None = None
    register: bool = True  # register the model in MLflow (off for a model this package cannot load on its own)


def keeps_best_checkpoint(config: Config, evaluating: bool) -> bool:
    """Whether the run checkpoints and ends on its best evaluation; a refit (nothing to evaluate) never does."""
    return evaluating and config.train.keep == "best"


def _callbacks(config: Config, evaluating: bool) -> tuple[Any, list[Any]]:
    """The wall-clock budget callback (which records where it stopped) and every callback the Trainer gets."""
    from transformers import EarlyStoppingCallback, TrainerCallback

    keep_best = keeps_best_checkpoint(config, evaluating)

    class BudgetAndFinalEval(TrainerCallback):
        """Stop when the wall-clock budget is spent; when evaluating, also evaluate and save then and on the
        last step (so the last weights compete for "best")."""

        def __init__(self, minutes: float | None) -> None:
            self.minutes = minutes
            self.start = time.perf_counter()
            self.stopped_at_step: int | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            over_budget = self.minutes is not None and time.perf_counter() - self.start > self.minutes * 60
            if over_budget and not control.should_training_stop:
                self.stopped_at_step = state.global_step
                control.should_training_stop = True
                console.print(
                    f"[yellow]Time budget of {self.minutes:g} min reached at step {state.global_step}[/]: "
                    + ("evaluating, then keeping the best checkpoint." if keep_best else "keeping these weights.")
                )
            if evaluating and (over_budget or state.global_step >= state.max_steps):
                control.should_evaluate = True
                control.should_save = True

    class MlflowMetrics(TrainerCallback):
        """Trainer logs (loss, learning rate, eval accuracy) into the already active MLflow run."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            import mlflow

            numeric = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
            if numeric and mlflow.active_run() is not None:
                mlflow.log_metrics(numeric, step=state.global_step)

    budget = BudgetAndFinalEval(config.train.max_train_minutes)
    early_stopping = [EarlyStoppingCallback(config.train.early_stopping_patience)] if evaluating else []
    return budget, [budget, MlflowMetrics(), *early_stopping]


def training_arguments(config: Config, output_dir: Path, evaluating: bool = True) -> Any:
    """`evaluating`: evaluate every `eval_steps`, and with `train.keep: best` checkpoint too and load the best at
    the end; otherwise (the refit) neither, and the last weights are the model."""
    import torch
    from transformers import TrainingArguments

    t = config.train
    keep_best = keeps_best_checkpoint(config, evaluating)
    run_seed = config.seed if t.run_seed is None else t.run_seed
    gpu = torch.cuda.is_available()
    bf16 = torch.cuda.is_bf16_supported() if gpu else t.cpu_bf16
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=t.epochs,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type="linear",
        eval_strategy="steps" if evaluating else "no",
        eval_steps=t.eval_steps,
        save_strategy="steps" if keep_best else "no",
        save_steps=t.eval_steps,
        save_total_limit=2,
        save_only_model=True,  # we never resume: no optimizer state, a third of the disk
        load_best_model_at_end=keep_best,
        metric_for_best_model="accuracy" if evaluating else None,  # early stopping reads it too
        greater_is_better=True,
        logging_steps=max(1, min(50, t.eval_steps // 2)),
        train_sampling_strategy="group_by_length" if t.group_by_length else "random",
        # group_by_length's sampler shuffles with the global RNG that Trainer seeds from `seed`, not data_seed
        seed=run_seed,
        data_seed=run_seed,
        bf16=bf16,
        fp16=gpu and not bf16,
        use_cpu=not gpu,
        dataloader_num_workers=0,
        report_to="none",  # MlflowMetrics logs into the run mlshared.tracking opened, in the configured store
        disable_tqdm=False,
    )


def fine_tune(
    config: Config,
    splits: Splits,
    layout: Layout,
    ckpt: checkpoint.Checkpoint,
    extension: Extension | None = None,
) -> dict[str, Any]:
    """Train, keep the weights `train.keep` (or the refit) says, save them with the tokenizer; returns the facts."""
    import torch
    from transformers import (
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        set_seed,
    )
    from transformers.utils import logging as hf_logging

    from sentiment_bert import modeling

    if config.train.cpu_bf16 and not torch.cuda.is_available() and not machine.bf16_instructions():
        console.print(
            "[yellow]train.cpu_bf16 is on, but this CPU has no AMX or AVX512-BF16[/]: bfloat16 is emulated and "
            "training will be slower than fp32. Set train.cpu_bf16: false in params.yaml."
        )
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # the "newly initialised classifier" notice is expected
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    console.print(f"Checkpoint: {ckpt.source} -> {ckpt.location}")
    set_seed(config.seed)  # before the head is initialised
    tokenizer = AutoTokenizer.from_pretrained(ckpt.location, local_files_only=ckpt.local_files_only)
    tokenizer.model_max_length = config.model.max_length  # saved with it: inference truncates the same way
    ext = extension or Extension()
    model = (ext.new_model or modeling.new_classifier)(ckpt.location, LABELS, ckpt.local_files_only)
    evaluating = len(splits.validation) > 0
    train_ds = tokenize(tokenizer, splits.train, config.model.max_length)
    val_ds = tokenize(tokenizer, splits.validation, config.model.max_length) if evaluating else None
    budget, callbacks = _callbacks(config, evaluating)
    trainer = Trainer(
        model=model,
        args=training_arguments(config, layout.checkpoints, evaluating),
        data_collator=DataCollatorWithPadding(tokenizer),
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        compute_metrics=compute_metrics if evaluating else None,
        callbacks=[*callbacks, *ext.callbacks],  # an extension's after the budget: it sees the last step
    )
    # BERT's head (and the experiments' heads) return the batch-mean loss and ignore `num_items_in_batch`. Trainer
    # trusts any forward with **kwargs to normalise by it and then skips dividing by the accumulation steps, which
    # would inflate the loss gradient_accumulation_steps-fold (transformers#47688); this restores the division.
    trainer.model_accepts_loss_kwargs = False
    load_before = os.getloadavg()
    start = time.perf_counter()
    output = trainer.train()
    train_seconds = time.perf_counter() - start
    history = list(trainer.state.log_history)  # before the re-evaluation below, which is not a point of the curve
    finished = dict(ext.finish(trainer.model)) if ext.finish else {}  # may replace the weights kept so far
    kept = finished.pop("kept", None) or (
        "best checkpoint" if keeps_best_checkpoint(config, evaluating) else "last weights"
    )
    best = trainer.evaluate() if evaluating else None  # of the kept weights
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(layout.model_dir))  # weights, config and tokenizer
    shutil.rmtree(layout.checkpoints, ignore_errors=True)

    evals = [h for h in history if "eval_accuracy" in h]
    stopped_early = output.global_step < trainer.state.max_steps  # patience can also run out on the last step
    stopped_by = "time budget" if budget.stopped_at_step else ("early stopping" if stopped_early else "completed")
    return {
        "checkpoint": {"source": ckpt.source, "location": ckpt.location, "base_model": ckpt.base_model},
        "train_seconds": round(train_seconds, 1),
        "global_steps": int(output.global_step),
        "max_steps": int(trainer.state.max_steps),
        "epochs_completed": round(float(trainer.state.epoch or 0.0), 3),
        "stopped_by": stopped_by,
        "refit": not evaluating,
        "kept": kept,
        "best_checkpoint_step": _step_of(trainer.state.best_model_checkpoint) if kept == "best checkpoint" else None,
        "validation": {"accuracy": float(best["eval_accuracy"]), "f1": float(best["eval_f1"])} if best else None,
        "validation_curve": [
            {"step": int(h["step"]), "accuracy": float(h["eval_accuracy"]), "loss": float(h["eval_loss"])}
            for h in evals
        ],
        "train_loss_curve": [
            {"step": int(h["step"]), "loss": float(h["loss"])} for h in history if "loss" in h and "step" in h
        ],
        "train_rows": len(splits.train),
        "validation_rows": len(splits.validation),
        "phrases_of_validation_sentences_removed": splits.phrases_removed,
        "torch_threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    } | finished


def _step_of(path: str | None) -> int | None:
    if not path:
        return None
    tail = Path(path).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def train(
    config: Config,
    profile: str,
    outputs: OutputDirs,
    settings: DataSettings | None = None,
    extension: Extension | None = None,
) -> TrainResult:
    """The baseline and the fine-tune of one profile; `extension`: what an experiment changes (experiments/)."""
    ext = extension or Extension()
    outputs.ensure()
    layout = Layout(outputs)
    ckpt = checkpoint.resolve(config.model.checkpoint)  # before anything slow: an unreachable model fails fast
    d = config.data
    splits = training_splits(load_train(settings), d.validation_size, config.seed, d.train_limit, d.refit)
    held_out = "no validation split (a refit)" if d.refit else f"{len(splits.validation):,} for validation"
    console.print(
        f"SST-2: {len(splits.train):,} sentences for training, {held_out}; seed {config.seed}, "
        f"max length {config.model.max_length}, profile {profile}"
    )
    params = config.model_dump() | ({"experiment": dict(ext.recipe)} if ext.recipe else {})
    tags = {"profile": profile, "data_fingerprint": fingerprint(DATASET, [TRAIN_FILE])}
    overrides = overrides_of(config)
    if overrides:  # the values are in the params; the tag says which came from --set
        tags["overrides"] = " ".join(f"{key}={value}" for key, value in overrides.items())
    with tracking.tracked_run(config.tracking.experiment, run_name=f"train-{profile}", params=params, tags=tags) as run:
        start = time.perf_counter()
        with console.status("Fitting the TF-IDF + logistic-regression baseline"):
            tfidf = baseline.fit(splits.train, config.baseline, config.seed)
        baseline_seconds = time.perf_counter() - start
        baseline_val_acc = _accuracy_on_validation(tfidf, splits)
        tfidf.save(layout.baseline)
        scored = f"validation accuracy {baseline_val_acc:.4f}" if baseline_val_acc is not None else "fitted"
        console.print(f"  baseline: {scored} ({baseline_seconds:.0f} s)")

        facts = fine_tune(config, splits, layout, ckpt, ext)
        facts["baseline"] = {"validation_accuracy": baseline_val_acc, "train_seconds": round(baseline_seconds, 1)}
        facts["profile"] = profile
        facts["data_fingerprint"] = fingerprint(DATASET, [TRAIN_FILE])
        facts["mlflow_run_id"] = str(run.info.run_id)
        facts["experiment"] = config.tracking.experiment
        facts["max_length"] = config.model.max_length
        facts["hyperparameters"] = (
            config.train.model_dump() | {"max_length": config.model.max_length} | dict(ext.recipe)
        )
        facts["overrides"] = overrides  # what --set changed from the params file (already in the values above)
        tracking.log_metrics(
            {
                "validation": facts["validation"] or {},
                "train_seconds": facts["train_seconds"],
                "baseline_validation_accuracy": baseline_val_acc,
            }
        )
        write_card(layout.model_dir, facts)
        (layout.model_dir / TRAINING_FILE).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        layout.train_summary.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        registered = _log_model(config, layout, splits) if ext.register else None
        if registered:
            console.print(f"Registered {registered.alias_uri} (version {registered.version})")
    scored = f"validation accuracy {facts['validation']['accuracy']:.4f}" if facts["validation"] else "refit"
    console.print(
        f"[green]Saved[/] {layout.model_dir}: {scored} after {facts['global_steps']} steps in "
        f"{facts['train_seconds'] / 60:.1f} min ({facts['stopped_by']})"
    )
    return TrainResult(layout.model_dir, layout.baseline, facts, facts["mlflow_run_id"])


def _accuracy_on_validation(model: baseline.TfidfClassifier, splits: Splits) -> float | None:
    if splits.validation.empty:
        return None
    proba = model.predict_proba(splits.validation[TEXT].tolist())
    return accuracy_of(splits.validation[LABEL], proba)


def write_card(model_dir: Path, facts: dict[str, Any], **extra: Any) -> Path:
    return modelcard.write(
        model_dir,
        modelcard.CardFacts(
            base_model=facts["checkpoint"]["base_model"],
            max_length=facts["max_length"],
            train_rows=facts["train_rows"],
            validation_rows=facts["validation_rows"],
            train_seconds=facts["train_seconds"],
            hyperparameters=facts["hyperparameters"],
            validation_metrics=facts["validation"] or {},
            weights=kept_weights(facts),
            **extra,
        ),
    )


def kept_weights(facts: dict[str, Any]) -> str:
    """Which weights a run kept, in words, for the model card (an experiment's `kept_weights` says it itself)."""
    if facts.get("kept_weights"):
        return str(facts["kept_weights"])
    if facts.get("refit"):
        return "the last weights after the chosen epochs"
    if facts.get("kept") == "last weights":
        return "the last weights of the schedule"
    return "the best checkpoint on validation"


def _log_model(config: Config, layout: Layout, splits: Splits) -> tracking.RegisteredModel | None:
    from sentiment_bert.mlflow_model import log_classifier

    with console.status("Logging and registering the model in MLflow"):
        return log_classifier(
            layout.model_dir,
            input_example=splits.train[[TEXT]].head(3),
            registered_name=config.tracking.registered_model,
            alias=config.tracking.alias,
        )
