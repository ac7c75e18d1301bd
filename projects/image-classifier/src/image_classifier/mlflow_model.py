"""The trained classifier as an MLflow pyfunc: a DataFrame of encoded image files in, labels out.

The checkpoint (`model.pt`: weights, class names, preprocessing) travels as an artifact and this package
and `mlshared` as code, so `mlflow.pyfunc.load_model("models:/image-classifier@champion")` works wherever
the pinned requirements are installed, without installing the project. Input: a column `image` of file
bytes (JPEG, PNG, GIF...; the same checks as the CLI and the app, so a corrupt file or a decompression bomb
is refused with the same message). Output: the predicted `label`, its `probability` and `p_<class>` per class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from mlshared import tracking

IMAGE = "image"
REQUIREMENTS = ("torch", "torchvision", "timm", "numpy", "pandas", "pillow", "pydantic", "rich")


class ImageClassifierPyfunc(PythonModel):
    """Loads the checkpoint once; classifies each row's image bytes."""

    def load_context(self, context: Any) -> None:
        from image_classifier.checkpoint import TrainedModel

        self.trained = TrainedModel.load(Path(context.artifacts["checkpoint"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from image_classifier.images import open_image

        if IMAGE not in model_input.columns:
            raise ValueError(f"the input needs a column {IMAGE!r} of image file bytes; it has {list(model_input)}")
        images = [open_image(bytes(data), f"row {i}") for i, data in enumerate(model_input[IMAGE])]
        return prediction_frame(self.trained.predict_proba(images), self.trained.classes)


def prediction_frame(proba: Any, classes: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"label": [classes[int(i)] for i in proba.argmax(1)], "probability": proba.max(1)})
    for index, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, index]
    return frame


def log_classifier(
    checkpoint: Path, classes: list[str], example: bytes, registered_name: str | None, alias: str | None
) -> tracking.RegisteredModel | None:
    """Log the checkpoint as a pyfunc in the active run (signature and one example image); register it."""
    input_example = pd.DataFrame({IMAGE: [example]})
    output_example = pd.DataFrame({"label": [classes[0]], "probability": [0.9]}).assign(
        **{f"p_{name}": [0.5] for name in classes}
    )
    return tracking.log_pyfunc_model(
        ImageClassifierPyfunc(), {"checkpoint": checkpoint}, input_example, output_example, registered_name, alias,
        requirements=REQUIREMENTS, code_packages=("image_classifier", "mlshared"),
    )  # fmt: skip
