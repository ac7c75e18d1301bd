"""Reading user-supplied tables and turning schema failures into messages a person can act on.

Every project that accepts files (a CSV of houses, of customers, of sentences) reads them through
`read_table` and validates them with pandera through `validate_frame`, so a bad file always gets
the same kind of answer: what is wrong, in which column and rows, with which values.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pandas as pd
from pandera.errors import SchemaError, SchemaErrors

from mlshared.console import UserError

MAX_EXAMPLES = 5
TABLE_HINT = "Provide a UTF-8 text file with a header row and one record per line."


class DataFileError(UserError):
    """A file or frame that cannot be used; `problems` lists every problem found."""

    def __init__(self, problems: list[str], source: str, hint: str | None = None) -> None:
        self.problems = problems
        self.source = source
        super().__init__(
            f"{source} has {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
            hint=hint or "Fix these values and try again.",
        )


def read_table(
    source: Path | IO[bytes] | IO[str] | bytes,
    name: str,
    error: type[DataFileError] = DataFileError,
    hint: str = TABLE_HINT,
    **read_csv_kwargs: Any,
) -> pd.DataFrame:
    """`pandas.read_csv` whose failures (not text, empty, malformed) become a `DataFileError`."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    kind = "TSV" if read_csv_kwargs.get("sep") == "\t" else "CSV"
    try:
        frame: pd.DataFrame = pd.read_csv(source, **read_csv_kwargs)
        return frame
    except UnicodeDecodeError as exc:
        raise error([f"it is not UTF-8 text ({exc.reason}); is it really a {kind} file?"], name, hint) from exc
    except pd.errors.EmptyDataError as exc:
        raise error(["it is empty"], name, hint) from exc
    except pd.errors.ParserError as exc:
        raise error([f"it is not a readable {kind}: {exc}"], name, hint) from exc


def describe_failures(
    failures: pd.DataFrame,
    expected_columns: int | None = None,
    row_offset: int = 1,
    row_word: str = "row(s)",
    noun: str = "expected",
    wrong_file: str = "is this the right kind of file?",
) -> list[str]:
    """One line per (column, check) of pandera's lazy `failure_cases`, naming rows and values.

    Rows are the frame's index + `row_offset`: 1 for 1-based rows, 2 for lines of a CSV file with a
    header (then pass `row_word="file line(s)"`). When most columns are missing, the message counts
    them as "N of the M {noun} columns" and asks `wrong_file`.
    """
    problems: list[str] = []
    # A value that could not be converted also fails every later check of its column; report it once.
    unconvertible = set(failures.loc[failures["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    for (column, check), group in failures.groupby(["column", "check"], dropna=False, sort=False):
        check_name = str(check)
        if column in unconvertible and not check_name.startswith("coerce_dtype"):
            continue
        if check_name == "column_in_dataframe":
            missing = sorted(str(v) for v in group["failure_case"])
            if len(missing) > 10:
                of = f" of the {expected_columns}" if expected_columns else ""
                problems.append(
                    f"{len(missing)}{of} {noun} columns are missing (e.g. {', '.join(missing[:6])}); {wrong_file}"
                )
            else:
                problems.append(f"missing column(s): {', '.join(missing)}")
            continue
        if check_name == "column_in_schema":
            problems.append(f"unexpected column(s): {', '.join(sorted(map(str, group['failure_case'])))}")
            continue
        rows = [int(i) + row_offset for i in group["index"].dropna()][:MAX_EXAMPLES]
        values = [repr(v) for v in group["failure_case"]][:MAX_EXAMPLES]
        more = f" and {len(group) - MAX_EXAMPLES} more" if len(group) > MAX_EXAMPLES else ""
        if check_name.startswith("coerce_dtype"):
            reason = f"not a valid {check_name.split('(')[-1].rstrip(')')} value"
        elif check_name == "not_nullable":
            reason, values = "is empty but required", []
        elif check_name == "field_uniqueness":
            reason = "must be unique"
        else:
            reason = check_name
        where = f" in {row_word} {', '.join(map(str, rows))}{more}" if rows else ""
        shown = f" (got {', '.join(values)})" if values else ""
        problems.append(f"column {column!r}: {reason}{where}{shown}")
    return problems


def validate_frame(
    schema: Any,
    frame: pd.DataFrame,
    name: str,
    error: type[DataFileError] = DataFileError,
    hint: str | None = None,
    describe: Callable[[pd.DataFrame], list[str]] | None = None,
    **describe_options: Any,
) -> pd.DataFrame:
    """Validate with a pandera schema collecting every failure (lazy), raised as one `DataFileError`.

    The failures are described by `describe_failures(failures, **describe_options)`, or by `describe`
    when a project has rules of its own to explain (e.g. cross-column consistency).
    """
    if frame.empty:
        raise error(["it has no rows"], name, hint)
    try:
        return schema.validate(frame, lazy=True)  # type: ignore[no-any-return]
    except SchemaErrors as errors:
        if describe is not None:
            problems = describe(errors.failure_cases)
        else:
            problems = describe_failures(
                errors.failure_cases, **{"expected_columns": len(schema.columns), **describe_options}
            )
        raise error(problems, name, hint) from errors
    except SchemaError as exc:  # a non-lazy failure, e.g. a dataframe-level check that crashed
        raise error([str(exc)], name, hint) from exc
