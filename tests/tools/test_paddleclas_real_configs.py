"""Real PaddleClas 2.6 configs run unchanged through our tools (PaddleClas's vocabulary).

Uses the configs of a PaddleClas checkout (``$PADDLECLAS_CONFIGS``, default
``../shared/paddleclas-configs/configs`` beside the repository, as on CI and the developers' machines:
its whole ``ppcls/configs`` tree); every test skips, saying so, when that folder is absent.

- Every config of the tree: ``--check`` accepts it exactly when ``load_config`` (what tools/train.py runs)
  does. Every classification config (single-label and multi-label; not retrieval, re-id,
  self-supervised, slim, inference-only or a search strategy: :func:`config_kind`), with only ``Arch.name``
  (``resnet50``; our ``pplcnet_x1_0`` for PaddleClas's ``PPLCNet_x1_0``: :data:`OURS_OF_THE_KIND`),
  ``Arch.class_num``, the data paths and the batch size overridden (for a ``DistillationModel``, each
  member's ``name`` and ``class_num``: ``-o Arch.models.<i>.<Member>.name=...``): prints the count per
  folder and each refusal with its reason, which must be one of :data:`EXPECTED_REFUSALS`.
- Seven configs of different families train one epoch with ``Arch.name=tiny_cnn`` on a generated
  8-image list data set, then evaluate, export and infer; two distillation configs likewise with
  tiny_cnn members, and the export is the Student.
- A multi-scale config (MultiScaleDataset + MultiScaleSampler) trains one epoch on the same data.
- PULC's configs and the multi-label attribute ones: ``test_paddleclas_pulc.py``.
"""

import glob
import os
import re

import numpy as np
import paddle
import pytest
from PIL import Image

from paddle_conv.build import build_model, load_pretrained_weights
from paddle_conv.config import load_config, read_yaml
from paddle_conv.config.check import check_config
from paddle_conv.data import MultiScaleSampler
from paddle_conv.deploy import Predictor
from paddle_conv.engine.trainer import train_classifier
from paddle_conv.errors import ConfigError
from paddle_conv.layers import DiverseBranchBlock
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
    (r"^Arch\.models\[\d+\]\.\w+\.(return_patterns|return_stages|name|models|pretrained_list|freeze_params_list)$",
     "feature distillation (inner layers named as in PaddleClas's models; AFD's AttentionModel)"),
    (r"^Arch\.(models\[\d+\]\.\w+\.)?(stride_list|use_last_conv|"
     r"lr_mult_list)$",
     "another PaddleClas architecture's key at a value that defines a different network (a ResNet101_vd "
     "Teacher's stride_list [2, [2, 1], ...]); at its default it is a note (arch.FOREIGN_KEYS)"),
    (r"^Arch\.(attn_drop_rate|use_mean_pooling|init_scale|use_rel_pos_bias|use_abs_pos_emb|init_values|lin_probe|"
     r"sin_pos_emb|enable_linear_eval|model_key|model_ema|return_embed)$",
     "CAE's and CLIP's ViT keys (their fine-tuning configs)"),
    (r"^Loss\.(Train|Eval)", "a loss of feature distillation or multi-label distillation, GoogLeNet's three "
                             "outputs (ours have one), CAE's soft-target loss"),
    (r"^Optimizer\.name$", "AdamWDL: layer-wise decay over a ViT's blocks (CLIP)"),
    (r"^(MLDecoder|Arch\.use_ml_decoder)$", "ML-Decoder's head (MultiLabelCOCO)"),
    (r"^Global\.image_shape$", "not the size the Eval transforms make (PULC language_classification's "
                               "distillation config: [3, 224, 224] for 80x160 images)"),
)

#: The kinds of :func:`config_kind` whose configs train here (the others are not classification).
TRAINED_KINDS = ("single-label", "multi-label")


def config_kind(path, cfg):
    """What the config at ``path`` (its raw YAML ``cfg``) trains: ``single-label`` or ``multi-label``
    classification, ``retrieval`` (RecModel, Query/Gallery: metric learning, DeepHash, GeneralRecognition,
    ...), ``reid``, ``ssl`` (self-supervised), ``slim`` (quantization / pruning), ``search`` (PULC's
    strategy searches and other files that are no training config) or ``inference-only`` (no ``Loss``:
    PaddleClas's own train.py fails on them, ``practical_models``' watermark and aesthetic configs)."""
    rel = os.path.relpath(path, CONFIGS).replace(os.sep, "/")
    if not isinstance(cfg, dict) or not ({"Arch", "ARCHITECTURE"} & set(cfg)):
        return "search"
    if "Arch" in cfg and "Loss" not in cfg:
        return "inference-only"
    text = open(path, encoding="utf-8").read()
    if rel.startswith("slim/") or "Slim" in cfg:
        return "slim"
    if rel.startswith("ssl/"):
        return "ssl"
    if rel.startswith("reid/") or "ReID" in rel:
        return "reid"
    if (cfg.get("Arch") or {}).get("name") == "RecModel" or "Query" in text:
        return "retrieval"
    if (cfg.get("Global") or {}).get("use_multilabel") or "MultiLabel" in text:
        return "multi-label"
    return "single-label"


def real_configs():
    """``[(path, kind)]`` of every config of the tree (:func:`config_kind`)."""
    paths = sorted(glob.glob(os.path.join(CONFIGS, "**", "*.yaml"), recursive=True))
    return [(path, config_kind(path, read_yaml(path))) for path in paths]


def folder(path):
    """The folder a config is counted under: ``ImageNet``, ``PULC/car_exists``, ``Attr``, ..."""
    parts = os.path.relpath(path, CONFIGS).replace(os.sep, "/").split("/")
    return "/".join(parts[:2]) if parts[0] == "PULC" and len(parts) > 2 else parts[0]


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


#: PaddleClas models (a pattern of ``Arch.name``) and ours of the same kind, which a user would pick for their
#: configs (``re`` replacement text): PaddleClas's ``PPLCNet_x1_0`` is our ``pplcnet_x1_0``, its ``ResNet18`` our
#: ``resnet18``; for MobileViTV3 (convolutions and transformer layers) a CCT.
OURS_OF_THE_KIND = ((r"PPLCNet_x(\d+_\d+)", r"pplcnet_x\1"), (r"ResNet18", "resnet18"), (r"ResNet34", "resnet34"),
                    (r"MobileViTV3_\w+", "cct_7_7x2_224"))


def our_model_for(name, default):
    """Our model of the kind of PaddleClas's model ``name`` (:data:`OURS_OF_THE_KIND`), else ``default``."""
    for pattern, ours in OURS_OF_THE_KIND:
        match = re.fullmatch(pattern, str(name))
        if match:
            return match.expand(ours)
    return default


def our_model(config, default="resnet50"):
    """Our model of the kind of the config's ``Arch.name`` (:func:`our_model_for`), else ``default``."""
    with open(config, encoding="utf-8") as f:
        match = re.search(r"^Arch:\s*\n\s+name:\s*[\"']?(\w+)", f.read(), re.M)
    return our_model_for(match.group(1) if match else "", default)


def arch_overrides(config, model, classes, of_the_kind=False):
    """``Arch.name`` and ``Arch.class_num`` set to ours; for a DistillationModel (``Arch.models``), each
    member's instead: ``Arch.models.<i>.<Member>.name`` / ``.class_num`` (the top-level class_num is the
    data's class count there). ``of_the_kind``: each member of the kind of its PaddleClas model where we
    have one (:func:`our_model_for`), else ``model``."""
    with open(config, encoding="utf-8") as f:
        if "DistillationModel" not in f.read():  # only these few are parsed (parsing all takes seconds)
            return [f"Arch.name={model}", f"Arch.class_num={classes}"]
    out = [f"Arch.class_num={classes}"]
    for i, entry in enumerate(read_yaml(config)["Arch"]["models"]):
        (member, arch), = entry.items()
        ours = our_model_for(arch.get("name"), model) if of_the_kind else model
        out += [f"Arch.models.{i}.{member}.name={ours}", f"Arch.models.{i}.{member}.class_num={classes}"]
    return out


def batch_size_key(config, split):
    """The batch size key of ``split``'s sampler in ``config``: a MultiScaleSampler's is ``first_bs``."""
    with open(config, encoding="utf-8") as f:
        if "MultiScaleSampler" not in f.read():  # only these few are parsed (parsing all takes seconds)
            return "batch_size"
    sampler = ((read_yaml(config).get("DataLoader") or {}).get(split) or {}).get("sampler") or {}
    return "first_bs" if sampler.get("name") == "MultiScaleSampler" else "batch_size"


def list_key(config, split):
    """The list file key of ``split``'s data set: a CustomLabelDataset's is ``sample_list_path``."""
    with open(config, encoding="utf-8") as f:
        if "CustomLabelDataset" not in f.read():
            return "cls_label_path"
    dataset = ((read_yaml(config).get("DataLoader") or {}).get(split) or {}).get("dataset") or {}
    return "sample_list_path" if dataset.get("name") == "CustomLabelDataset" else "cls_label_path"


def data_overrides(root, config, model="tiny_cnn", classes=10, of_the_kind=False):
    out = arch_overrides(config, model, classes, of_the_kind)
    for split in ("Train", "Eval"):
        dataset = f"DataLoader.{split}.dataset"
        out += [f"{dataset}.image_root={root}", f"{dataset}.{list_key(config, split)}={root}/list.txt",
                f"DataLoader.{split}.sampler.{batch_size_key(config, split)}=4"]
    return out


def test_check_agrees_with_load_config_and_explains_every_refusal(image_list, capsys):
    """``--check`` says "would train" exactly when load_config (tools/train.py) accepts the config, on every
    config of the tree; the loaded share per folder is printed, every refusal's key is explained."""
    counts, refused, disagree = {}, {}, []
    for path, kind in real_configs():
        overrides = data_overrides(image_list, path, model=our_model(path), classes=10, of_the_kind=True)
        report = check_config(path, overrides)
        try:
            load_config(path, overrides)
            loaded = True
        except ConfigError:
            loaded = False
        if loaded != report.ok:
            disagree.append(os.path.relpath(path, CONFIGS))
        if kind not in TRAINED_KINDS:
            continue
        if not report.ok:
            refused[os.path.relpath(path, CONFIGS)] = report.refused
        count = counts.setdefault((kind, folder(path)), [0, 0])
        count[0] += 1
        count[1] += report.ok
    single = [c for (kind, _), c in counts.items() if kind == "single-label"]
    loaded, total = sum(c[1] for c in single), sum(c[0] for c in single)
    with capsys.disabled():
        print(f"\nsingle-label configs: {loaded} of {total} load ({100 * loaded / total:.1f}%)")
        for (kind, name), (n, ok) in sorted(counts.items()):
            print(f"  {kind:12s} {name:40s} {ok:3d} of {n:3d}")
        for path, reasons in sorted(refused.items()):
            print(f"  refused {path}: " + "; ".join(f"{k}: {r[:100]}" for k, r in reasons[:2]))
    assert not disagree, disagree
    unexplained = [(p, k) for p, reasons in refused.items() for k, _ in reasons
                   if not any(re.match(pattern, k) for pattern, _ in EXPECTED_REFUSALS)]
    assert not unexplained, unexplained
    assert loaded >= 0.97 * total, f"only {loaded} of {total} single-label configs load"
    samplers = ("PPLCNetV2/PPLCNetV2_base", "PPLCNetV2/PPLCNetV2_large", "PPLCNetV2/PPLCNetV2_small", "CvT/CvT_21_224")
    assert not [p for p in refused if any(f"ImageNet/{name}.yaml" == p for name in samplers)]  # multi-scale, RA
    assert not [p for p in refused if p in TRAIN_TEST_RESOLUTION]


#: Configs that train at one resolution and evaluate (and export) at another: Global.image_shape is the latter.
TRAIN_TEST_RESOLUTION = (
    *[f"ImageNet/MobileNetV4/MobileNetV4_{name}.yaml" for name in
      ("conv_large", "conv_medium", "conv_small", "hybrid_large", "hybrid_medium")],
    *[f"ImageNet/RegNet/RegNetX_{size}.yaml" for size in
      ("12GF", "1600MF", "16GF", "200MF", "3200MF", "32GF", "400MF", "600MF", "6400MF", "800MF", "8GF")],
    "ImageNet/RepVGG/RepVGG_D2se.yaml",
)


def test_train_test_resolution_configs_load_with_the_eval_size(image_list):
    for name in TRAIN_TEST_RESOLUTION:
        path = os.path.join(CONFIGS, name)
        cfg = load_config(path, data_overrides(image_list, path, model="resnet50"))
        train_crop = next(op["RandCropImage"]["size"] for op in cfg["DataLoader"]["Train"]["dataset"]["transform_ops"]
                          if "RandCropImage" in op)
        assert cfg["Global"]["image_shape"][1] > train_crop, name


#: PaddleClas's distillation configs that distil inner layers (refused); the other 12 distil logits.
FEATURE_DISTILLATION = ("ImageNet/Distillation/PPLCNet_x2_5_udml.yaml",
                        "ImageNet/Distillation/resnet34_distill_resnet18_afd.yaml",
                        "ImageNet/Distillation/resnet34_distill_resnet18_mgd.yaml",
                        "ImageNet/Distillation/resnet34_distill_resnet18_pefd.yaml")


def test_distillation_configs_load_unless_they_distil_features(image_list):
    paths = [p for p, _ in real_configs() if folder(p) in ("ImageNet", "quick_start")
             and "DistillationModel" in open(p, encoding="utf-8").read()]
    assert len(paths) == 16
    for path in paths:
        report = check_config(path, data_overrides(image_list, path, model="resnet50"))
        if os.path.relpath(path, CONFIGS) in FEATURE_DISTILLATION:
            assert any("feature distillation" in reason for _, reason in report.refused), (path, report.refused)
        else:
            assert report.ok, (path, report.refused)


def test_model_keys_of_real_configs_are_honoured_noted_or_refused_with_the_reason(image_list):
    """ConvNeXt's head_init_scale and layer scale, VGG's stop_grad_layers (older layout), EfficientNetV2's
    use_sync_bn; ResNet18_dbb's Diverse Branch Blocks, EfficientNetV2's progressive learning; the keys that
    define another network and GoogLeNet's three outputs."""
    def check(name, model="resnet50"):
        path = os.path.join(CONFIGS, name)
        report = check_config(path, data_overrides(image_list, path, model=model))
        return report, {key: (status, detail) for key, status, detail in report.rows}

    def under(rows, prefix):  # the first leaf row at or under prefix
        return next(row for key, row in rows.items() if key == prefix or key.startswith((prefix + ".", prefix + "[")))

    report, rows = check("ImageNet/ConvNeXt/ConvNeXt_tiny.yaml")
    assert report.ok and rows["Arch.head_init_scale"][0] == "implemented"
    assert rows["Arch.layer_scale_init_value"] == ("warned", "ConvNeXt's layer scale at its default (1e-06); "
                                                   "resnet50 has no layer scale: no effect")
    report, rows = check("ImageNet/TinyNet/TinyNet_A.yaml")
    assert report.ok and rows["Arch.override_params.batch_norm_momentum"][0] == "implemented"
    assert rows["Arch.override_params.depth_trunc"][0] == "warned"
    report, rows = check("ImageNet/MobileViTV3/MobileViTV3_S.yaml")
    assert report.ok and rows["Arch.dropout"][0] == "warned"
    report, rows = check("ImageNet/MobileViTV3/MobileViTV3_XXS.yaml", model="cct_7_7x2_224")  # transformer layers
    assert report.ok and rows["Arch.dropout"][0] == "implemented"
    report, rows = check("quick_start/kunlun/VGG16_finetune_kunlun.yaml")
    assert report.ok and rows["Arch.stop_grad_layers"][0] == "implemented"
    report, rows = check("ImageNet/EfficientNetV2/EfficientNetV2_S.yaml")
    assert rows["Arch.use_sync_bn"][0] == "warned" and "one device" in rows["Arch.use_sync_bn"][1]
    assert report.ok and rows["Global.train_mode"][0] == "warned" and "Head" in rows["Global.train_mode"][1]
    report, rows = check("ImageNet/ResNet/ResNet18_dbb.yaml", model="resnet18")  # ResNet18's DBB form, as there
    assert report.ok and rows["Arch.layer_type"][0] == rows["Arch.use_first_short_conv"][0] == "implemented"
    for name, key, words in (("ImageNet/ResNet/ResNet18_dbb.yaml", "Arch.use_first_short_conv",
                              "another architecture than resnet50"),  # a bottleneck's first block projects
                             ("ImageNet/MobileViTV3/MobileViTV3_XXS.yaml", "Arch.dropout", "transformer-layer dropout"),
                             ("ImageNet/Inception/GoogLeNet.yaml", "Loss.Train[0]", "our models have one output")):
        status, detail = under(check(name)[1], key)
        assert status == "refused" and words in detail, (name, detail)


END_TO_END = [
    "ImageNet/ResNet/ResNet50.yaml",                                        # ResNet
    "ImageNet/MobileNetV3/MobileNetV3_large_x1_0.yaml",                     # MobileNetV3 + AutoAugment
    "ImageNet/CvT/CvT_13_224.yaml",                                         # Mixup/Cutmix OpSampler, RandomErasing
    "ImageNet/PPLCNet/PPLCNet_x1_0.yaml",                                   # PPLCNet
    "quick_start/new_user/ShuffleNetV2_x0_25.yaml",                         # quick start
    "quick_start/professional/MobileNetV3_large_x1_0_CIFAR100_finetune.yaml",  # CIFAR-100 fine-tune
    "ImageNet/ResNet/ResNet50_amp_O2_ultra.yaml",  # NHWC, 4-channel float16 input (a zero channel), AMP O2
]


def train_evaluate_export_infer(config, args, run_name, capsys):
    """tools/train.py for one epoch, then eval, export and infer of ``run_name``'s best_model."""
    assert train_tool.main(["-c", config, *args, "-o", "Global.epochs=1"]) == 0, capsys.readouterr().err
    out = next(a for a in args if a.startswith("Global.output_dir=")).split("=", 1)[1]
    weights = ["-o", f"Global.pretrained_model={out}/{run_name}/best_model"]
    assert eval_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    assert export_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    capsys.readouterr()
    image_root = next(a for a in args if a.startswith("DataLoader.Train.dataset.image_root=")).split("=", 1)[1]
    assert infer_tool.main(["-c", config, *args, "--input", f"{image_root}/img1.png", "--json"]) == 0
    printed = capsys.readouterr().out
    assert '"class_ids"' in printed and "img1.png" in printed
    return f"{out}/{run_name}/best_model"


def run_args(overrides, tmp_path):
    common = [*overrides, f"Global.output_dir={tmp_path / 'out'}", f"Global.save_inference_dir={tmp_path / 'inf'}",
              "Global.device=cpu", "Global.use_visualdl=false"]
    return [x for o in common for x in ("-o", o)]


@pytest.mark.parametrize("name", END_TO_END)
def test_real_config_trains_evaluates_exports_and_infers(name, image_list, tmp_path, capsys):
    config = os.path.join(CONFIGS, name)
    args = run_args([*data_overrides(image_list, config), "Arch.pretrained=false"], tmp_path)
    train_evaluate_export_infer(config, args, "tiny_cnn", capsys)


DISTILLATION = [
    "ImageNet/Distillation/resnet34_distill_resnet18_dkd.yaml",             # GT CE + DKD, frozen teacher
    "quick_start/professional/R50_vd_distill_MV3_large_x1_0_CIFAR100.yaml",  # soft-label CE, DistillationPostProcess
]


@pytest.mark.parametrize("name", DISTILLATION)
def test_real_distillation_config_trains_and_exports_the_student(name, image_list, tmp_path, capsys):
    """Teacher tiny_cnn, Student tiny_cnn of half width: the export and inference are the Student's."""
    config = os.path.join(CONFIGS, name)
    members = ["Arch.models.0.Teacher.pretrained=false", "Arch.models.1.Student.pretrained=false",
               "Arch.models.1.Student.width=0.5"]
    args = run_args([*data_overrides(image_list, config), *members], tmp_path)
    best = train_evaluate_export_infer(config, args, "DistillationModel", capsys)

    cfg = load_config(config, args[1::2])
    model = build_model(cfg["Arch"], pretrained=False)
    load_pretrained_weights(model, best)
    model.eval()
    x = np.random.default_rng(0).standard_normal([2, *cfg["Global"]["image_shape"]]).astype("float32")
    exported = Predictor(str(tmp_path / "inf" / "inference"), device="cpu")(x)[0]
    with paddle.no_grad():
        out = model(paddle.to_tensor(x))
    np.testing.assert_allclose(exported, out["Student"].numpy(), rtol=1e-3, atol=1e-4)
    assert not np.allclose(exported, out["Teacher"].numpy(), rtol=1e-2, atol=1e-3)
    student = paddle.load(best + "_student.pdparams")  # as PaddleClas: a later stage's Student.pretrained
    assert sorted(student) == sorted(model.member("Student").state_dict())


def test_multi_scale_config_trains_one_epoch(image_list, tmp_path, capsys):
    config = os.path.join(CONFIGS, "ImageNet/PPLCNetV2/PPLCNetV2_small.yaml")
    overrides = [*data_overrides(image_list, config), f"Global.output_dir={tmp_path}", "Global.device=cpu",
                 "Global.epochs=1", "Global.seed=5"]
    assert train_tool.main(["-c", config, *[x for o in overrides for x in ("-o", o)]]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    scales = read_yaml(config)["DataLoader"]["Train"]["sampler"]["scales"]
    batches = MultiScaleSampler(list(range(8)), scales, first_bs=4, seed=5).batches  # 320, 224, 224, 320, 160
    assert len({w for w, _, _ in batches}) > 1  # (a single 160 scale would be 2 steps of 4)
    assert f"DataLoader.Train: MultiScaleDataset, 8 samples, MultiScaleSampler batches, {len(batches)} steps" in printed
    assert os.path.isfile(tmp_path / "tiny_cnn" / "best_model.pdparams")


class TrainInputSizes(paddle.callbacks.Callback):
    """``{epoch (1-based): {(H, W) of its training batches}}``."""

    def on_train_begin(self, logs=None):
        self.sizes, self.epoch = {}, 0
        self.model.network.register_forward_pre_hook(self.record)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def record(self, layer, inputs):
        if layer.training:
            self.sizes.setdefault(self.epoch, set()).add(tuple(inputs[0].shape[2:]))


def test_progressive_learning_grows_the_train_size_and_magnitude_stage_by_stage(image_list, tmp_path, capsys):
    """EfficientNetV2_S.yaml (Global.train_mode: progressive) for 4 epochs: one stage each (bounds
    int(4 * k / 4)), the crops of RandCropImage.progress_size read by 2 loader workers."""
    config = os.path.join(CONFIGS, "ImageNet/EfficientNetV2/EfficientNetV2_S.yaml")
    cfg = load_config(config, [*data_overrides(image_list, config), f"Global.output_dir={tmp_path}",
                               "Global.device=cpu", "Global.epochs=4", "Global.eval_interval=4",
                               "DataLoader.Train.loader.num_workers=2", "DataLoader.Eval.loader.num_workers=0"])
    seen = TrainInputSizes()
    train_classifier(cfg, extra_callbacks=[seen])
    assert seen.sizes == {1: {(171, 171)}, 2: {(214, 214)}, 3: {(257, 257)}, 4: {(300, 300)}}
    printed = capsys.readouterr().out
    for stage, (magnitude, size) in enumerate(((5.0, 171), (8.3333333333, 214), (11.66666666667, 257), (15.0, 300))):
        assert f"Training stage: [{stage + 1}/4] (random_aug_magnitude={magnitude}, train_image_size={size})" in printed


def test_diverse_branch_resnet18_trains_and_exports_folded(image_list, tmp_path, capsys):
    """ResNet18_dbb.yaml with our resnet18 (PaddleClas's DBB form) at 64 pixels (for time): one epoch, eval,
    export, infer; the export (every Diverse Branch Block folded into one conv) computes what the trained
    model does."""
    config = os.path.join(CONFIGS, "ImageNet/ResNet/ResNet18_dbb.yaml")
    small = ["Global.image_shape=[3, 64, 64]", "DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=64",
             *[f"{ops}.{i}.{op}={value}" for ops in ("DataLoader.Eval.dataset.transform_ops", "Infer.transforms")
               for i, op, value in ((1, "ResizeImage", "{resize_short: 72}"), (2, "CropImage", "{size: 64}"))]]
    args = run_args([*data_overrides(image_list, config, model=our_model(config)), *small], tmp_path)
    best = train_evaluate_export_infer(config, args, "resnet18", capsys)
    cfg = load_config(config, args[1::2])
    model = build_model(cfg["Arch"], pretrained=False)
    load_pretrained_weights(model, best)
    model.eval()
    assert sum(isinstance(layer, DiverseBranchBlock) for layer in model.sublayers()) == 16
    x = np.random.default_rng(0).standard_normal([2, *cfg["Global"]["image_shape"]]).astype("float32")
    exported = Predictor(str(tmp_path / "inf" / "inference"), device="cpu")(x)[0]
    with paddle.no_grad():
        out = model(paddle.to_tensor(x)).numpy()
    assert np.abs(exported - out).max() <= 1e-4 * np.abs(out).max()
