"""Data: SST-2 loads and validates exactly, the validation split is seeded, stratified and leak-free,
and user files of sentences are read or rejected with a clear message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlshared.console import UserError
from sentiment_bert.data import (
    LABEL,
    TEXT,
    SentimentDataError,
    read_sentences,
    read_tsv,
    split_train,
    summary,
    training_splits,
    validate,
)


def test_sst2_files_have_the_documented_sizes(sst2_train: pd.DataFrame, sst2_test: pd.DataFrame) -> None:
    assert len(sst2_train) == 60_614
    assert len(sst2_test) == 872  # the GLUE SST-2 dev set
    assert list(sst2_train.columns) == [TEXT, LABEL]
    assert set(sst2_train[LABEL].unique()) == {0, 1} and set(sst2_test[LABEL].unique()) == {0, 1}


def test_tsv_is_read_verbatim(sst2_train: pd.DataFrame, tmp_path: Path) -> None:
    """Quotes and words pandas would turn into NaN ("null", "NA") must survive reading."""
    assert sst2_train[TEXT].map(type).eq(str).all()
    path = tmp_path / "tricky.tsv"
    path.write_text('sentence\tlabel\n"so-called" thriller\t0\nnull\t1\nNA\t0\n', encoding="utf-8")
    frame = validate(read_tsv(path, "tricky.tsv"), "tricky.tsv")
    assert frame[TEXT].tolist() == ['"so-called" thriller', "null", "NA"]


def test_split_is_seeded_stratified_and_disjoint(sst2_train: pd.DataFrame) -> None:
    a = split_train(sst2_train, 1000, seed=42)
    b = split_train(sst2_train, 1000, seed=42)
    c = split_train(sst2_train, 1000, seed=7)
    pd.testing.assert_frame_equal(a.validation, b.validation)
    assert not a.validation.equals(c.validation)
    assert len(a.validation) == 1000
    assert len(a.train) + len(a.validation) + a.phrases_removed == len(sst2_train)
    assert abs(a.validation[LABEL].mean() - sst2_train[LABEL].mean()) < 0.01


def test_validation_holds_whole_sentences_and_training_none_of_their_phrases(sst2_train: pd.DataFrame) -> None:
    splits = split_train(sst2_train, 1000, seed=42)
    # Whole sentences: no validation row is part of any other row of train.tsv ...
    everything = "\n".join(f" {t} " for t in sst2_train[TEXT])
    assert all(everything.count(f" {t} ") == 1 for t in splits.validation[TEXT].head(200))
    # ... and no training row is a phrase of a validation sentence (a random split has ~88% such rows).
    validation_text = "\n".join(f" {t} " for t in splits.validation[TEXT])
    assert not any(f" {t.strip()} " in validation_text for t in splits.train[TEXT])
    assert splits.phrases_removed > 5 * len(splits.validation)  # SST-2 sentences come with their phrases


def test_train_limit_subsamples_training_rows_only(sst2_train: pd.DataFrame) -> None:
    full = split_train(sst2_train, 300, seed=1)
    limited = split_train(sst2_train, 300, seed=1, train_limit=1000)
    assert len(limited.train) == 1000
    pd.testing.assert_frame_equal(limited.validation, full.validation)  # same validation set either way
    assert abs(limited.train[LABEL].mean() - full.train[LABEL].mean()) < 0.01


def test_refit_trains_on_every_row_and_holds_none_out(sst2_train: pd.DataFrame) -> None:
    refit = training_splits(sst2_train, 1000, seed=42, train_limit=None, refit=True)
    assert len(refit.train) == len(sst2_train) and refit.validation.empty and refit.phrases_removed == 0
    limited = training_splits(sst2_train, 1000, seed=42, train_limit=2000, refit=True)
    assert len(limited.train) == 2000 and abs(limited.train[LABEL].mean() - sst2_train[LABEL].mean()) < 0.01
    held_out = training_splits(sst2_train, 300, seed=42, train_limit=None, refit=False)
    pd.testing.assert_frame_equal(held_out.validation, split_train(sst2_train, 300, seed=42).validation)


def test_test_set_is_never_part_of_training(sst2_train: pd.DataFrame, sst2_test: pd.DataFrame) -> None:
    facts = summary(sst2_train, sst2_test)
    assert facts["test_rows"] == 872
    splits = split_train(sst2_train, 300, seed=42)
    test_sentences = set(sst2_test[TEXT])
    # test.tsv shares no full sentence with the training pool (SST-2 train holds phrases of other reviews).
    assert facts["test_sentences_also_in_train"] == 0
    assert not test_sentences & set(splits.train[TEXT]) and not test_sentences & set(splits.validation[TEXT])


def test_validation_size_larger_than_data_is_explained(sst2_test: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="leaves no training rows"):
        split_train(sst2_test, 872, seed=0)


def test_schema_lists_every_problem_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("sentence\tlabel\ngood film\t1\n   \t0\nbad film\t7\n", encoding="utf-8")
    with pytest.raises(SentimentDataError) as error:
        validate(read_tsv(path, "bad.tsv"), "bad.tsv")
    message = str(error.value)
    assert "empty sentence" in message and "line(s) 3" in message
    assert "label" in message and "line(s) 4" in message and "7" in message


def test_wrong_columns_and_encoding_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cols.tsv"
    path.write_text("text\tsentiment\ngood\t1\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match="column"):
        validate(read_tsv(path, "cols.tsv"), "cols.tsv")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("sentence\tlabel\ncaf\xe9\t1\n".encode("latin-1"))
    with pytest.raises(SentimentDataError, match="not UTF-8"):
        read_tsv(latin, "latin.tsv")


def test_read_sentences_from_text_and_tables() -> None:
    assert read_sentences(b"good film\n\n  bad film  \n", "a.txt") == ["good film", "bad film"]
    assert read_sentences(b"id,Text\n1,good film\n2,bad film\n", "a.csv") == ["good film", "bad film"]
    assert read_sentences(b"sentence\tlabel\ngood film\t1\n", "a.tsv") == ["good film"]
    assert read_sentences("\ufeffcaf\u00e9 cr\u00e8me\n".encode(), "bom.txt") == ["caf\u00e9 cr\u00e8me"]


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "binary file"),
        (b"\xff\xfe\xfa bad bytes", "odd.txt", "not UTF-8"),
        (b"\n \n", "blank.txt", "no sentences"),
        (b"id,score\n1,2\n", "numbers.csv", "no `sentence` or `text` column"),
        (b"one\ntwo\nthree\n", "many.txt", "at most 2"),
    ],
)
def test_unusable_files_get_a_clear_message(payload: bytes, name: str, message: str) -> None:
    with pytest.raises(SentimentDataError, match=message) as error:
        read_sentences(payload, name, max_sentences=2)
    assert error.value.hint  # every rejection says what to upload instead
