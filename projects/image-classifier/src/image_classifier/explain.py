"""Grad-CAM heat maps from the `grad-cam` package (pytorch-grad-cam): where the last convolutional stage
looked when the model chose a class. Used by `evaluate` (a grid of test images) and by the app. With
test-time flips the class is the flip-averaged prediction and the map is that of the image as given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from image_classifier.checkpoint import TrainedModel
from image_classifier.model import gradcam_layer


@dataclass(frozen=True)
class Explanation:
    class_index: int
    heatmap: npt.NDArray[np.float32]  # (size, size) in [0, 1]
    overlay: npt.NDArray[np.uint8]  # (size, size, 3) RGB: the model's input crop with the heat map on top


def model_input_rgb(trained: TrainedModel, image: Image.Image) -> npt.NDArray[np.float32]:
    """The centre crop the model sees, as RGB floats in [0, 1] (normalisation undone)."""
    tensor = trained.tensor([image])[0].numpy()
    mean = np.asarray(trained.preprocessing.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(trained.preprocessing.std, dtype=np.float32)[:, None, None]
    rgb: npt.NDArray[np.float32] = np.clip(tensor * std + mean, 0, 1).transpose(1, 2, 0).astype(np.float32)
    return rgb


def gradcam(trained: TrainedModel, images: list[Image.Image], classes: list[int] | None = None) -> list[Explanation]:
    """One Grad-CAM per image, for `classes[i]` (default: the predicted class)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.image import show_cam_on_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    if not images:
        return []
    batch = trained.tensor(images).requires_grad_(True)  # a graph even if the weights are frozen
    if classes is None:
        classes = [int(i) for i in trained.logits(batch).argmax(1)]
    with GradCAM(model=trained.model, target_layers=[gradcam_layer(trained.model)]) as cam:
        maps = cam(input_tensor=batch, targets=[ClassifierOutputTarget(c) for c in classes])
    trained.model.eval()
    out = []
    for image, heatmap, cls in zip(images, maps, classes, strict=True):
        rgb = model_input_rgb(trained, image)
        overlay = show_cam_on_image(rgb, heatmap, use_rgb=True, image_weight=0.55)
        out.append(Explanation(cls, heatmap.astype(np.float32), overlay.astype(np.uint8)))
    return out
