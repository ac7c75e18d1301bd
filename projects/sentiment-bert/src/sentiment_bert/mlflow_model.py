"""The fine-tuned model as an MLflow pyfunc: a DataFrame of sentences in, label and probability out.

The weights directory travels as an artifact and this package as code, so `mlflow.pyfunc.load_model`
works in any environment with the pinned requirements, without installing the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from mlshared import tracking
from sentiment_bert.data import TEXT
from sentiment_bert.inference import TorchClassifier, label_of

REQUIREMENTS = ("torch", "transformers", "tokenizers", "numpy", "pandas", "scikit-learn", "pydantic", "rich")


class SentimentPyfunc(PythonModel):
    """Loads the transformers directory once; predicts a `label` and `p_positive` per sentence."""

    def load_context(self, context: Any) -> None:
        self.classifier = TorchClassifier.load(Path(context.artifacts["model_dir"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        sentences = model_input[TEXT].astype(str).tolist()
        proba = self.classifier.predict_proba(sentences)
        return pd.DataFrame({"label": [label_of(float(p)) for p in proba], "p_positive": proba})


def log_classifier(
    model_dir: Path, input_example: pd.DataFrame, registered_name: str | None, alias: str | None
) -> tracking.RegisteredModel | None:
    """Log the model in the active run with signature and example; register it under `alias`."""
    # String labels: an integer column makes MLflow warn that it cannot hold missing values.
    output_example = pd.DataFrame(
        {"label": ["positive"] * len(input_example), "p_positive": [0.9] * len(input_example)}
    )
    return tracking.log_pyfunc_model(
        SentimentPyfunc(), {"model_dir": model_dir}, input_example, output_example, registered_name, alias,
        requirements=REQUIREMENTS, code_packages=("sentiment_bert", "mlshared"),
    )  # fmt: skip
