"""Real PaddleClas 2.6 configs run unchanged through our tools (PaddleClas's vocabulary).

Uses the configs of a PaddleClas checkout (``$PADDLECLAS_CONFIGS``, default
``../shared/paddleclas-configs/configs`` beside the repository, as on CI and the developers' machines:
its ``ImageNet/`` and ``quick_start/``); every test skips, saying so, when that folder is absent.

- ``--check`` over every config with only ``Arch.name``, ``Arch.class_num``, the data paths and
  the batch size overridden: prints the count and each refusal with its reason.
- Six configs of different families train one epoch with ``Arch.name=tiny_cnn`` on a generated
  8-image list data set, then evaluate, export and infer.
"""

import glob
import os
import re

import numpy as np
import pytest
from PIL import Image

from paddle_conv.config.check import check_config
from tools import eval as eval_tool
from tools import export as export_tool
from tools import infer as infer_tool
from tools import train as train_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.environ.get("PADDLECLAS_CONFIGS",
                         os.path.join(os.path.dirname(ROOT), "shared", "paddleclas-configs", "configs"))
pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(CONFIGS, "ImageNet")),
                                reason=f"no PaddleClas configs at {CONFIGS} (set PADDLECLAS_CONFIGS to the "
                                       "ppcls/configs folder of a PaddleClas 2.6 checkout)")

#: Why a real config may be refused with one of our models as Arch.name (anything else fails the test).
EXPECTED_REFUSALS = (
    (r"^Arch\.pretrained$", "true, but the model (our Arch.name) has no published weights"),
    (r"^Arch\.(models|pretrained_list|freeze_params_list|infer_model_name|infer_output_key|infer_add_softmax)$",
     "distillation (several models in one Arch) is not implemented"),
    (r"^Arch\.(Backbone|BackboneStopLayer|Neck|Head)$", "retrieval (RecModel) is not implemented"),
    (r"^Arch\.(layer_type|use_first_short_conv|override_params)$",
     "another PaddleClas architecture's key at a value that defines a different network (ResNet18_dbb's "
     "DiverseBranchBlock, TinyNet's override_params); at its default it is a note (arch.FOREIGN_KEYS)"),
    (r"^Arch\.(data_format|input_image_channel)$", "NHWC or 4-channel input: our models take NCHW, 3 channels"),
    (r"^Arch\.dropout$", "MobileViTV3's dropout is not mapped to our models yet"),
    (r"^Loss\.(Train|Eval)", "a loss of distillation, retrieval or multi-label training, or GoogLeNet's three "
                             "outputs (ours have one)"),
    (r"^Global\.train_mode$", "EfficientNetV2's progressive training is not implemented"),
    (r"^Global\.(eval_mode|use_multilabel|feature_normalize|feature_binarize)$",
     "retrieval / multi-label training is not implemented"),
    (r"^DataLoader\.(Train|Eval)\.(dataset\.name|sampler\.name|Query|Gallery)$",
     "a data set or sampler of retrieval, multi-label or multi-scale training"),
)


def real_configs():
    return sorted(glob.glob(os.path.join(CONFIGS, "ImageNet", "**", "*.yaml"), recursive=True)
                  + glob.glob(os.path.join(CONFIGS, "quick_start", "**", "*.yaml"), recursive=True))


@pytest.fixture(scope="module")
def image_list(tmp_path_factory):
    """8 PNG images (two classes: dark and bright) and their list file."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(8):
        label = i % 2
        pixels = (rng.random((40, 48, 3)) * 120 + label * 120).astype("uint8")
        Image.fromarray(pixels).save(root / f"img{i}.png")
        lines.append(f"img{i}.png {label}")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    return root


def data_overrides(root, model="tiny_cnn", classes=10):
    out = [f"Arch.name={model}", f"Arch.class_num={classes}"]
    for split in ("Train", "Eval"):
        out += [f"DataLoader.{split}.dataset.image_root={root}", f"DataLoader.{split}.dataset.cls_label_path="
                f"{root}/list.txt", f"DataLoader.{split}.sampler.batch_size=4"]
    return out


def test_check_loads_the_real_configs_and_explains_every_refusal(image_list, capsys):
    files = real_configs()
    refused = {}
    for path in files:
        report = check_config(path, data_overrides(image_list, model="resnet50", classes=10))
        if not report.ok:
            refused[os.path.relpath(path, CONFIGS)] = report.refused
    loaded = len(files) - len(refused)
    pending = sum(1 for r in refused.values() if [k for k, _ in r] == ["Arch.pretrained"])
    with capsys.disabled():
        print(f"\n--check: {loaded} of {len(files)} real configs would train ({100 * loaded / len(files):.1f}%); "
              f"{pending} more need only pretrained weights by name")
        for path, reasons in sorted(refused.items()):
            print(f"  refused {path}: " + "; ".join(f"{k}: {r[:100]}" for k, r in reasons[:3]))
    unexplained = [(p, k) for p, reasons in refused.items() for k, _ in reasons
                   if not any(re.match(pattern, k) for pattern, _ in EXPECTED_REFUSALS)]
    assert not unexplained, unexplained
    assert loaded >= 300, f"only {loaded} of {len(files)} real configs load"


def test_model_keys_of_real_configs_are_honoured_noted_or_refused_with_the_reason(image_list):
    """ConvNeXt's head_init_scale and layer scale, VGG's stop_grad_layers (older layout), EfficientNetV2's
    use_sync_bn; the keys that define another network, progressive training and GoogLeNet's three outputs."""
    def check(name):
        report = check_config(os.path.join(CONFIGS, name), data_overrides(image_list, model="resnet50"))
        return report, {key: (status, detail) for key, status, detail in report.rows}

    def under(rows, prefix):  # the first leaf row at or under prefix
        return next(row for key, row in rows.items() if key == prefix or key.startswith((prefix + ".", prefix + "[")))

    report, rows = check("ImageNet/ConvNeXt/ConvNeXt_tiny.yaml")
    assert report.ok and rows["Arch.head_init_scale"][0] == "implemented"
    assert rows["Arch.layer_scale_init_value"] == ("warned", "ConvNeXt's layer scale at its default (1e-06); "
                                                   "resnet50 has no layer scale: no effect")
    report, rows = check("quick_start/kunlun/VGG16_finetune_kunlun.yaml")
    assert report.ok and rows["Arch.stop_grad_layers"][0] == "implemented"
    report, rows = check("ImageNet/EfficientNetV2/EfficientNetV2_S.yaml")
    assert rows["Arch.use_sync_bn"][0] == "warned" and "one device" in rows["Arch.use_sync_bn"][1]
    assert rows["Global.train_mode"][0] == "refused" and "progressive learning" in rows["Global.train_mode"][1]
    for name, key, words in (("ImageNet/ResNet/ResNet18_dbb.yaml", "Arch.layer_type", "'DiverseBranchBlock' sets"),
                             ("ImageNet/TinyNet/TinyNet_A.yaml", "Arch.override_params", "EfficientNet/TinyNet"),
                             ("ImageNet/Inception/GoogLeNet.yaml", "Loss.Train[0]", "our models have one output")):
        status, detail = under(check(name)[1], key)
        assert status == "refused" and words in detail, (name, detail)


SIX = [
    "ImageNet/ResNet/ResNet50.yaml",                                        # ResNet
    "ImageNet/MobileNetV3/MobileNetV3_large_x1_0.yaml",                     # MobileNetV3 + AutoAugment
    "ImageNet/CvT/CvT_13_224.yaml",                                         # Mixup/Cutmix OpSampler, RandomErasing
    "ImageNet/PPLCNet/PPLCNet_x1_0.yaml",                                   # PPLCNet
    "quick_start/new_user/ShuffleNetV2_x0_25.yaml",                         # quick start
    "quick_start/professional/MobileNetV3_large_x1_0_CIFAR100_finetune.yaml",  # CIFAR-100 fine-tune
]


@pytest.mark.parametrize("name", SIX)
def test_real_config_trains_evaluates_exports_and_infers(name, image_list, tmp_path, capsys):
    config = os.path.join(CONFIGS, name)
    out, inference = tmp_path / "out", tmp_path / "inference"
    common = [*data_overrides(image_list), f"Global.output_dir={out}", f"Global.save_inference_dir={inference}",
              "Global.device=cpu", "Global.use_visualdl=false", "Arch.pretrained=false"]
    args = [x for o in common for x in ("-o", o)]
    assert train_tool.main(["-c", config, *args, "-o", "Global.epochs=1"]) == 0, capsys.readouterr().err
    weights = ["-o", f"Global.pretrained_model={out}/tiny_cnn/best_model"]
    assert eval_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    assert export_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert infer_tool.main(["-c", config, *args, "--input", str(image_list / "img1.png"), "--json"]) == 0
    printed = capsys.readouterr().out
    assert '"class_ids"' in printed and "img1.png" in printed
