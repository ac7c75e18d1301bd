"""SST-2 from the data layer, validated at load, and the seeded stratified validation split.

The mirror's `test.tsv` is the GLUE SST-2 dev set (872 sentences), the set every published
number uses; it is read only by `evaluate` and `bench`. Model selection uses a validation split
carved out of `train.tsv`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.model_selection import train_test_split

from mlshared.console import UserError
from mlshared.datasets import DataSettings, resolve_file
from mlshared.validation import DataFileError, read_table, validate_frame

DATASET: Final = "sst2"
TRAIN_FILE: Final = "train.tsv"
TEST_FILE: Final = "test.tsv"
TEXT: Final = "sentence"
LABEL: Final = "label"
LABELS: Final = ("negative", "positive")

SCHEMA = pa.DataFrameSchema(
    {
        TEXT: pa.Column(
            str,
            checks=pa.Check(lambda s: s.str.strip().str.len() > 0, element_wise=False, error="empty sentence"),
            nullable=False,
        ),
        LABEL: pa.Column(int, checks=pa.Check.isin([0, 1]), nullable=False, coerce=True),
    },
    strict=True,
    ordered=True,
)


class SentimentDataError(DataFileError):
    """A sentence file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        super().__init__(
            problems,
            source,
            hint or f"Expected a tab-separated file with the header `{TEXT}\\t{LABEL}` and labels 0/1.",
        )


def read_tsv(path: Path, name: str) -> pd.DataFrame:
    """Read an SST-2 TSV exactly: no quoting (sentences contain quotes), no NA guessing ("null" is a word)."""
    return read_table(
        path, name, error=SentimentDataError, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False,
        dtype={TEXT: str}, encoding="utf-8",
    )  # fmt: skip


def validate(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check the schema lazily, so one message lists every problem with line numbers (header = line 1)."""
    return validate_frame(SCHEMA, frame, name, error=SentimentDataError, row_offset=2, row_word="line(s)")


def load_split(file: str, settings: DataSettings | None = None) -> pd.DataFrame:
    path = resolve_file(DATASET, file, settings)
    return validate(read_tsv(path, f"{DATASET}/{file}"), f"{DATASET}/{file}")


def load_train(settings: DataSettings | None = None) -> pd.DataFrame:
    return load_split(TRAIN_FILE, settings)


def load_test(settings: DataSettings | None = None) -> pd.DataFrame:
    return load_split(TEST_FILE, settings)


@dataclass(frozen=True)
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    phrases_removed: int = 0  # training rows dropped because they are parts of validation sentences


# A validation sentence is a whole review sentence of at least this many words (test.tsv: median 19,
# 10th percentile 9); shorter rows are almost all phrases, so skipping them makes the search quick.
SENTENCE_MIN_WORDS: Final = 8


def _padded(text: str) -> str:
    """Whitespace-delimited form, so containment is by whole words ("good" is not inside "goodness")."""
    return f" {text.strip()} "


def _word_spans(sentence: str) -> set[str]:
    words = sentence.split()
    return {_padded(" ".join(words[i:j])) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def validation_sentences(frame: pd.DataFrame, validation_size: int, seed: int) -> list[int]:
    """Row positions of `validation_size` whole review sentences, stratified by label and seeded: sentences of
    at least SENTENCE_MIN_WORDS words that occur inside no other row (see `split_train`)."""
    if validation_size >= len(frame):
        raise UserError(
            f"validation_size {validation_size} leaves no training rows out of {len(frame)}.",
            hint="Lower data.validation_size in params.yaml.",
        )
    padded = [_padded(t) for t in frame[TEXT]]
    everything = "\n".join(padded)
    labels = frame[LABEL].to_numpy()
    quota = {1: round(validation_size * float(labels.mean()))}
    quota[0] = validation_size - quota[1]
    chosen: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(frame)):
        label = int(labels[i])
        if quota[label] == 0 or len(padded[i].split()) < SENTENCE_MIN_WORDS:
            continue
        first = everything.find(padded[i])
        if everything.find(padded[i], first + 1) == -1:  # inside no other row, and not duplicated
            chosen.append(int(i))
            quota[label] -= 1
            if len(chosen) == validation_size:
                break
    if len(chosen) < validation_size:
        raise UserError(
            f"Only {len(chosen)} whole sentences of at least {SENTENCE_MIN_WORDS} words per label are available "
            f"for a validation set of {validation_size}.",
            hint="Lower data.validation_size in params.yaml.",
        )
    return chosen


def split_train(frame: pd.DataFrame, validation_size: int, seed: int, train_limit: int | None = None) -> Splits:
    """Validation: whole sentences, stratified by label; training: every row that is not part of one.

    SST-2's train.tsv holds ~8.5k review sentences *and* the phrases of their parse trees. A random
    validation split is mostly phrases of training sentences (88.5% of 2,000 random rows occur
    verbatim inside training rows), so it rewards memorisation: 0.94 validation accuracy against 0.89
    on the test set. Here the validation rows are sentences that are part of no other row, and
    training loses every phrase of them, like the GLUE split between train and dev.
    """
    chosen = validation_sentences(frame, validation_size, seed)
    validation = frame.iloc[chosen]
    inside_validation: set[str] = set().union(*(_word_spans(t) for t in validation[TEXT]))
    keep = np.fromiter((_padded(t) not in inside_validation for t in frame[TEXT]), dtype=bool, count=len(frame))
    keep[chosen] = False
    train = frame[keep]
    phrases_removed = int(len(frame) - keep.sum() - len(chosen))
    return Splits(_limited(train, train_limit, seed), validation.reset_index(drop=True), phrases_removed)


def refit_rows(frame: pd.DataFrame, seed: int, train_limit: int | None = None) -> Splits:
    """Every row of train.tsv and no validation: the final fit, once the recipe (epochs, learning rate)
    has been chosen on the leak-free split of `split_train`. Like refitting after cross-validation, it
    gives the model the ~1,000 held-out review sentences and their ~9.8k phrases back."""
    return Splits(_limited(frame, train_limit, seed), frame.iloc[:0].reset_index(drop=True), 0)


def training_splits(
    frame: pd.DataFrame, validation_size: int, seed: int, train_limit: int | None, refit: bool
) -> Splits:
    return refit_rows(frame, seed, train_limit) if refit else split_train(frame, validation_size, seed, train_limit)


def _limited(frame: pd.DataFrame, train_limit: int | None, seed: int) -> pd.DataFrame:
    """A stratified, seeded subsample of `train_limit` rows (all rows when None)."""
    if train_limit is not None and train_limit < len(frame):
        frame, _ = train_test_split(frame, train_size=train_limit, stratify=frame[LABEL], random_state=seed)
    return frame.reset_index(drop=True)


def summary(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, object]:
    """Facts worth knowing before training: sizes, balance, duplicates, train/test overlap."""
    normalised_train = set(train[TEXT].str.strip().str.lower())
    overlap = int(test[TEXT].str.strip().str.lower().isin(normalised_train).sum())
    words = train[TEXT].str.split().str.len()
    return {
        "train_rows": len(train),
        "test_rows": len(test),
        "train_positive_rate": round(float(train[LABEL].mean()), 4),
        "test_positive_rate": round(float(test[LABEL].mean()), 4),
        "train_duplicate_sentences": int(train[TEXT].duplicated().sum()),
        "test_sentences_also_in_train": overlap,
        "train_words_median": float(np.median(words)),
        "test_words_median": float(np.median(test[TEXT].str.split().str.len())),
    }


# --- user input: the CLI `predict` verb and the app's file upload --------------------------------

TEXT_COLUMNS: Final = (TEXT, "text", "review")
UPLOAD_HINT = (
    "Upload a UTF-8 text file with one sentence per line, or a CSV/TSV file with a `sentence` (or `text`) column."
)


def read_sentences(source: Path | bytes, name: str, max_sentences: int | None = None) -> list[str]:
    """Sentences from a .txt (one per line) or .csv/.tsv file (a `sentence`/`text` column), with clear errors."""
    raw = source.read_bytes() if isinstance(source, Path) else source
    if b"\x00" in raw[:4096]:
        raise SentimentDataError(["it is a binary file, not text"], name, hint=UPLOAD_HINT)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SentimentDataError([f"it is not UTF-8 text ({error.reason})"], name, hint=UPLOAD_HINT) from error
    suffix = Path(name).suffix.lower()
    if suffix in {".csv", ".tsv"}:
        sentences = _table_sentences(text, "\t" if suffix == ".tsv" else ",", name)
    else:
        sentences = [line.strip() for line in text.splitlines()]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise SentimentDataError(["it contains no sentences"], name, hint=UPLOAD_HINT)
    if max_sentences is not None and len(sentences) > max_sentences:
        raise SentimentDataError(
            [f"it has {len(sentences):,} sentences; at most {max_sentences:,} are accepted here"],
            name,
            hint="Split the file, or use the command line: `sentiment-bert predict FILE`.",
        )
    return sentences


def _table_sentences(text: str, sep: str, name: str) -> list[str]:
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SentimentDataError([f"it is not a readable table: {error}"], name, hint=UPLOAD_HINT) from error
    columns = {c.strip().lower(): c for c in frame.columns}
    for wanted in TEXT_COLUMNS:
        if wanted in columns:
            return [str(s).strip() for s in frame[columns[wanted]]]
    found = ", ".join(map(str, frame.columns[:8]))
    raise SentimentDataError(
        [f"it has no `sentence` or `text` column (found: {found})"],
        name,
        hint=UPLOAD_HINT,
    )
