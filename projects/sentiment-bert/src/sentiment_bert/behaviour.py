"""CheckList-style behavioural tests (Ribeiro et al., ACL 2020), written as templates in code.

Three test types, as in CheckList:
- MFT (minimum functionality): template sentences with an expected label ("The film was not good." -> negative).
- INV (invariance): a perturbation that must not flip the prediction (swap a person's name, add or
  strip final punctuation).
- DIR (directional): a perturbation that may only move P(positive) one way (an intensifier must not
  make a positive sentence less positive), with a small tolerance.

Cases are generated deterministically: the full template x lexicon product, then a seeded sample of
`cases_per_test` when it is larger. Any `predict_proba(texts) -> P(positive)` can be tested, so the
TF-IDF baseline gets the same suite as the transformer.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from sentiment_bert.inference import predicted_labels

ProbaFn = Callable[[Sequence[str]], npt.NDArray[np.float64]]
TestType = Literal["MFT", "INV", "DIR"]

NOUNS = ("movie", "film", "story", "plot", "acting", "script", "performance", "soundtrack", "ending", "direction")
POSITIVE = (
    "good",
    "great",
    "excellent",
    "wonderful",
    "brilliant",
    "enjoyable",
    "moving",
    "beautiful",
    "funny",
    "smart",
)
NEGATIVE = ("bad", "terrible", "awful", "boring", "dull", "weak", "predictable", "tedious", "clumsy", "disappointing")
INTENSIFIERS = ("very", "really", "incredibly", "extremely", "truly", "remarkably")
NAMES = ("John", "Maria", "Ahmed", "Mei", "Olga", "Kwame", "Priya", "Diego", "Hannah", "Yusuf")
NEGATIONS = ("not", "never", "hardly")
DIR_TOLERANCE = 0.05  # CheckList's DIR tests also allow small moves the wrong way


@dataclass(frozen=True)
class Case:
    """One test case: a sentence with an expected label (MFT) or a pair of sentences (INV/DIR)."""

    text: str
    expected: int | None = None  # MFT
    perturbed: str | None = None  # INV / DIR
    direction: int = 0  # DIR: +1 P(positive) must not fall, -1 must not rise


@dataclass(frozen=True)
class BehaviourTest:
    name: str
    capability: str
    kind: TestType
    description: str
    cases: tuple[Case, ...]


@dataclass
class TestResult:
    name: str
    capability: str
    kind: TestType
    description: str
    n_cases: int
    n_passed: int
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.n_passed / self.n_cases if self.n_cases else float("nan")

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "capability": self.capability,
            "type": self.kind,
            "description": self.description,
            "cases": self.n_cases,
            "passed": self.n_passed,
            "pass_rate": round(self.pass_rate, 4),
            "example_failures": self.failures,
        }


def _sample(cases: list[Case], limit: int, seed: int) -> tuple[Case, ...]:
    if len(cases) <= limit:
        return tuple(cases)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(cases), size=limit, replace=False))
    return tuple(cases[i] for i in keep)


def _mft(frames: Sequence[str], adjectives: Sequence[str], expected: int, **extra: Sequence[str]) -> list[Case]:
    cases = []
    keys = list(extra)
    for frame, adjective, noun, *rest in itertools.product(frames, adjectives, NOUNS, *extra.values()):
        text = frame.format(adj=adjective, noun=noun, **dict(zip(keys, rest, strict=True)))
        cases.append(Case(text, expected=expected))
    return cases


def strip_final_punctuation(text: str) -> str:
    return re.sub(r"[\s.!?]+$", "", text.strip())


def add_final_period(text: str) -> str:
    stripped = strip_final_punctuation(text)
    return f"{stripped} ." if stripped else text


def build_suite(cases_per_test: int = 200, seed: int = 42, real_sentences: Sequence[str] = ()) -> list[BehaviourTest]:
    """Every test with its cases. `real_sentences` (e.g. SST-2 test sentences) feed the punctuation INV test."""
    simple = ("The {noun} was {adj}.", "This {noun} is {adj}.", "I thought the {noun} was {adj}.")
    negated = ("The {noun} was {neg} {adj}.", "This {noun} is {neg} {adj}.", "I thought the {noun} was {neg} {adj}.")
    intens = ("The {noun} was {adj}.", "This {noun} is {adj}.")
    tests: list[tuple[str, str, TestType, str, list[Case]]] = [
        (
            "simple positive",
            "vocabulary",
            "MFT",
            "Short sentences with a positive adjective are positive.",
            _mft(simple, POSITIVE, 1),
        ),
        (
            "simple negative",
            "vocabulary",
            "MFT",
            "Short sentences with a negative adjective are negative.",
            _mft(simple, NEGATIVE, 0),
        ),
        (
            "negated positive",
            "negation",
            "MFT",
            'A negated positive adjective is negative ("The film was not good.").',
            _mft(negated, POSITIVE, 0, neg=NEGATIONS),
        ),
        (
            "negated negative",
            "negation",
            "MFT",
            'A negated negative adjective is not negative ("The plot was not boring."); CheckList calls this '
            "positive-or-neutral, a binary model must say positive.",
            _mft(negated, NEGATIVE, 1, neg=NEGATIONS),
        ),
        (
            "intensified positive",
            "intensifiers",
            "DIR",
            f'Adding an intensifier ("very good") does not lower P(positive) by more than {DIR_TOLERANCE}.',
            _intensified(intens, POSITIVE, +1),
        ),
        (
            "intensified negative",
            "intensifiers",
            "DIR",
            f'Adding an intensifier ("very bad") does not raise P(positive) by more than {DIR_TOLERANCE}.',
            _intensified(intens, NEGATIVE, -1),
        ),
        (
            "person names",
            "robustness (names)",
            "INV",
            "Replacing one person's name by another does not flip the prediction.",
            _names(),
        ),
        (
            "final punctuation",
            "robustness (punctuation)",
            "INV",
            "Adding or removing the final period of a real SST-2 sentence does not flip the prediction.",
            [Case(s, perturbed=_toggle_period(s)) for s in real_sentences if strip_final_punctuation(s)],
        ),
    ]
    return [
        BehaviourTest(name, capability, kind, description, _sample(cases, cases_per_test, seed + i))
        for i, (name, capability, kind, description, cases) in enumerate(tests)
    ]


def _toggle_period(sentence: str) -> str:
    stripped = strip_final_punctuation(sentence)
    return stripped if stripped != sentence.strip() else add_final_period(sentence)


def _intensified(frames: Sequence[str], adjectives: Sequence[str], direction: int) -> list[Case]:
    cases = []
    for frame, adjective, noun, intensifier in itertools.product(frames, adjectives, NOUNS, INTENSIFIERS):
        base = frame.format(adj=adjective, noun=noun)
        cases.append(
            Case(base, perturbed=frame.format(adj=f"{intensifier} {adjective}", noun=noun), direction=direction)
        )
    return cases


def _names() -> list[Case]:
    frames = (
        "{name} said the {noun} was {adj}.",
        "According to {name}, the {noun} is {adj}.",
        "{name} found the {noun} {adj}.",
    )
    cases = []
    for frame, (first, second), noun, adjective in itertools.product(
        frames, itertools.permutations(NAMES[:5], 2), NOUNS[:5], (*POSITIVE[:3], *NEGATIVE[:3])
    ):
        cases.append(
            Case(
                frame.format(name=first, noun=noun, adj=adjective),
                perturbed=frame.format(name=second, noun=noun, adj=adjective),
            )
        )
    return cases


def run_test(test: BehaviourTest, predict_proba: ProbaFn, max_failures: int = 3) -> TestResult:
    """Score every case of one test in two batched calls; keep a few failures as examples."""
    texts = [c.text for c in test.cases]
    p = predict_proba(texts)
    q = predict_proba([c.perturbed or "" for c in test.cases]) if test.kind != "MFT" else None
    labels = predicted_labels(p)
    perturbed_labels = predicted_labels(q) if q is not None else labels
    passed = np.zeros(len(test.cases), dtype=bool)
    for i, case in enumerate(test.cases):
        if test.kind == "MFT":
            passed[i] = labels[i] == case.expected
        elif test.kind == "INV":
            assert q is not None
            passed[i] = labels[i] == perturbed_labels[i]
        else:
            assert q is not None
            passed[i] = (q[i] - p[i]) * case.direction >= -DIR_TOLERANCE
    failures: list[dict[str, object]] = []
    for i in np.flatnonzero(~passed)[:max_failures]:
        case = test.cases[i]
        row: dict[str, object] = {"text": case.text, "p_positive": round(float(p[i]), 3)}
        if case.expected is not None:
            row["expected"] = case.expected
        if q is not None:
            row |= {"perturbed": case.perturbed, "p_positive_perturbed": round(float(q[i]), 3)}
        failures.append(row)
    return TestResult(
        test.name, test.capability, test.kind, test.description, len(test.cases), int(passed.sum()), failures
    )


def run_suite(suite: Sequence[BehaviourTest], predict_proba: ProbaFn) -> list[TestResult]:
    return [run_test(test, predict_proba) for test in suite]
