"""Streamlit app: upload images (or pick examples from the test set) -> top classes and a Grad-CAM overlay.

Run with `image-classifier app` (or `streamlit run app.py`); the checkpoint comes from
$IMAGE_CLASSIFIER_MODEL, else the full profile's models/model.pt. Every upload goes through
`images.open_image`, so an empty file, a non-image, a corrupt file and a decompression bomb each get a
message naming the file, and the other images are still classified.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from image_classifier.checkpoint import MODEL_FILE, TrainedModel
from image_classifier.config import PROJECT_ROOT
from image_classifier.images import ImageProblemError, open_image
from mlshared.console import UserError

MODEL_ENV = "IMAGE_CLASSIFIER_MODEL"
EXAMPLES_ENV = "IMAGE_CLASSIFIER_EXAMPLES"  # a folder holding EXAMPLES (a Hugging Face Space bundles them there)
MAX_IMAGES = 12  # per run: Grad-CAM costs a backward pass per image on CPU
EXAMPLES = ("ants/10308379_1b6c72e180.jpg", "bees/1032546534_06907fe3b3.jpg", "ants/1053149811_f62a3410d3.jpg",
            "bees/10870992_eebeeb3a12.jpg")  # fmt: skip


def model_path() -> Path:
    return Path(os.environ.get(MODEL_ENV) or PROJECT_ROOT / "models" / MODEL_FILE)


@st.cache_resource(show_spinner="Loading the model")
def load_model(path: str) -> TrainedModel:
    import torch

    torch.set_num_threads(1)
    return TrainedModel.load(Path(path))


def example_folder() -> Path | None:
    """$IMAGE_CLASSIFIER_EXAMPLES, else the test folder of the registered dataset, if this machine has it."""
    if folder := os.environ.get(EXAMPLES_ENV):
        return Path(folder)
    try:
        from mlshared.datasets import resolve_dir

        return resolve_dir("hymenoptera") / "val"
    except UserError:
        return None


def classify(trained: TrainedModel, named: list[tuple[str, bytes]], top_k: int) -> None:
    from image_classifier.explain import gradcam

    if len(named) > MAX_IMAGES:
        st.warning(f"{len(named)} images given; classifying the first {MAX_IMAGES}.")
        named = named[:MAX_IMAGES]
    for name, data in named:
        try:
            image = open_image(data, name)
        except ImageProblemError as problem:
            st.error(str(problem))
            continue
        proba = trained.predict_proba([image])[0]
        order = proba.argsort()[::-1][:top_k]
        best = int(order[0])
        st.subheader(name)
        st.success(f"{name}: **{trained.classes[best]}** ({proba[best]:.1%})")
        explanation = gradcam(trained, [image], [best])[0]
        left, middle, right = st.columns([2, 2, 2])
        left.image(image, caption=f"{name} ({image.width} x {image.height})", width="stretch")
        middle.image(explanation.overlay, caption=f"Grad-CAM for '{trained.classes[best]}'", width="stretch")
        right.dataframe(
            pd.DataFrame(
                {
                    "class": [trained.classes[i] for i in order],
                    "probability": [round(float(proba[i]), 4) for i in order],
                }
            ),
            hide_index=True,
        )


def main() -> None:
    st.set_page_config(page_title="Ants vs bees", page_icon="🐜", layout="wide")
    st.title("Ants vs bees: image classifier")
    path = model_path()
    try:
        trained = load_model(str(path))
    except UserError as error:
        st.error(error.message)
        st.info(error.hint or "Train a model with `image-classifier train`.")
        return
    meta = trained.metadata
    flips = "; probabilities average each image and its mirror image" if trained.tta_flip else ""
    st.caption(
        f"{trained.arch} ({meta.get('weights')} weights, {meta.get('mode')}), classes: {', '.join(trained.classes)}; "
        f"input {trained.preprocessing.image_size} px{flips}. Grad-CAM shows where the last convolutional stage looked."
    )
    top_k = len(trained.classes) if len(trained.classes) <= 2 else st.slider("Top classes", 1, len(trained.classes), 3)
    uploads = st.file_uploader(
        "Upload one or more images (JPEG, PNG, GIF, WebP, ...)", accept_multiple_files=True, key="uploads"
    )
    named = [(u.name, u.getvalue()) for u in uploads or []]

    st.subheader("Try the examples")
    folder = example_folder()
    if folder is None:
        st.info("The example photos come from the hymenoptera test set, which is not on this machine.")
    else:
        chosen = st.multiselect("Test-set photos", EXAMPLES, default=list(EXAMPLES[:2]))
        if st.button("Classify the examples"):
            named += [(Path(name).name, (folder / name).read_bytes()) for name in chosen]
    if not named:
        st.info("Upload images or pick examples to classify them.")
        return
    classify(trained, named, top_k)


if __name__ == "__main__":
    main()
