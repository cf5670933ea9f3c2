"""Value checks of a classification config that the schema's types cannot express (a batch size of 0, top-5 of a
2-class model, an image shape the transforms do not make, ...): a ConfigError naming the key, at load time."""

import math
import os

from ..errors import abbreviate, config_error
from ..losses import LOSSES
from ..metrics import MEMBER_METRICS
from ..models.distillation import DISTILLATION_MODEL, EVAL_MEMBER
from ..notes import note_once
from .schema import FLOAT, INT

_MAX_SEED = 2**32 - 1
#: PaddleClas's transforms whose ``size: [w, h]`` lists the width first (the others: ``[h, w]``).
_WH_OPS = ("RandCropImage", "CropImage", "ResizeImage")
#: Transforms whose ``size`` fixes the output size (``Resize`` too when its size is ``[H, W]``).
_SIZE_OPS = ("CenterCrop", "RandomCrop", "RandomResizedCrop", "RandCropImage", "CropImage", "ResizeImage")


def _fail(source, key, text):
    return config_error(source, key, "bad value", text)


def _check_range(source, key, value, low, high=None, low_open=False, high_open=False, hint=""):
    if not FLOAT.check(value):
        return
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or (isinstance(value, float) and not math.isfinite(value)):
        lo, hi = ("(" if low_open else "[") + str(low), (str(high) + (")" if high_open else "]")) if high else "inf)"
        raise _fail(source, key, f"must be in {lo}, {hi}, got {abbreviate(value, 40)}{hint}")


def check_output_dir(source, path, key="Global.output_dir"):
    """``path`` is a folder that exists and is writable, or can be created (nearest existing parent)."""
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise _fail(source, key, f"{path!r} is a file, not a folder; choose another Global.output_dir")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise _fail(source, key, f"{existing!r} is a file, so {path!r} cannot be created; choose another "
                                 "Global.output_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _fail(source, key, f"{existing!r} is not writable (read-only or no permission); choose a "
                                 "writable Global.output_dir")


def _entries(named_list):
    """``(index, name, kwargs)`` of a config list of ``{Name: {kwargs}}``."""
    for i, item in enumerate(named_list or ()):
        if isinstance(item, dict) and len(item) == 1:
            (name, kwargs), = item.items()
            yield i, name, kwargs or {}


def _loader_values(source, cfg):
    for key, split in ((f"DataLoader.{name}", split) for name, split in cfg["DataLoader"].items()
                       if isinstance(split, dict)):  # not validation_split
        _check_range(source, f"{key}.sampler.batch_size", split["sampler"].get("batch_size"), 1)
        _check_range(source, f"{key}.loader.num_workers", split.get("loader", {}).get("num_workers", 0), 0,
                     hint="; 0 reads the data in the main process")
        fallback = split["dataset"].get("fallback") or {}
        _check_range(source, f"{key}.dataset.fallback.batch_size", fallback.get("batch_size", 1), 1)
        _check_range(source, f"{key}.dataset.fallback.num_workers", fallback.get("num_workers", 0), 0)
        for i, name, kwargs in _entries(split["dataset"].get("transform_ops")):
            if name == "Normalize" and "std" in kwargs:
                std = kwargs["std"] if isinstance(kwargs["std"], list) else [kwargs["std"]]
                if any(FLOAT.check(s) and (s == 0 or not math.isfinite(s)) for s in std):
                    raise _fail(source, f"{key}.dataset.transform_ops.{i}.Normalize.std",
                                f"must be finite and non-zero (it divides), got {abbreviate(kwargs['std'], 60)}")


def _output_size(ops, dataset=None):
    """``(H, W, "<i>.<Op>.size" or "image_size")`` the last size-fixing op of ``ops`` (or ``image_size``) gives."""
    size, where = None, None
    if dataset is not None and FLOAT.check(dataset.get("image_size")):
        size, where = dataset["image_size"], "image_size"
    for i, name, kwargs in _entries(ops):
        if "size" in kwargs and (name in _SIZE_OPS or name == "Resize" and isinstance(kwargs["size"], list)):
            size, where = kwargs["size"], f"{i}.{name}.size"
    if INT.check(size):
        return size, size, where
    if isinstance(size, list) and len(size) == 2 and all(FLOAT.check(s) for s in size):
        wh = where != "image_size" and where.split(".")[1] in _WH_OPS
        return (size[1], size[0], where) if wh else (size[0], size[1], where)
    return None


def _inference_pipelines(cfg):
    """``[(key, ops, dataset)]`` of the inputs ``Global.image_shape`` describes, first the one it must match
    (``DataLoader.Eval``, else ``Infer.transforms``, else ``DataLoader.Train``)."""
    loaders, infer_ops = cfg["DataLoader"], (cfg.get("Infer") or {}).get("transforms")
    out = [(f"DataLoader.{name}.dataset", loaders[name]["dataset"].get("transform_ops"), loaders[name]["dataset"])
           for name in ("Eval", "Train") if isinstance(loaders.get(name), dict)]
    out.insert(1 if "Eval" in loaders else 0, ("Infer.transforms", infer_ops, None))
    return [(key, ops, dataset) for key, ops, dataset in out
            if (ops or dataset) and (dataset or {}).get("name") != "MultiScaleDataset"]  # its sizes: per batch


def _input_channels(source, cfg):
    """``Arch.input_image_channel: 4`` (a zero 4th channel) goes with ``Global.image_shape: [4, H, W]``."""
    if cfg["Arch"].get("input_image_channel") == 4 and cfg["Global"]["image_shape"][0] != 4:
        raise _fail(source, "Global.image_shape", f"{cfg['Global']['image_shape']}: Arch.input_image_channel is 4 "
                                                  "(NormalizeImage channel_num: 4); make image_shape [4, H, W]")


def _image_shape(source, cfg):
    """``Global.image_shape`` is the size the evaluation transforms make (other ``Infer.transforms``: a note)."""
    shape = cfg["Global"]["image_shape"]
    for n, (key, ops, dataset) in enumerate(_inference_pipelines(cfg)):
        produced = _output_size(ops, dataset)
        if not produced or (produced[0], produced[1]) == tuple(shape[1:]):
            continue
        where = f"{key}.{produced[2]}" if produced[2] == "image_size" or dataset is None else \
            f"{key}.transform_ops.{produced[2]}"
        if n > 0 and key == "Infer.transforms":
            note_once(where, f"makes {produced[0]}x{produced[1]} images, Global.image_shape {shape}: tools/infer.py "
                             "uses these transforms, evaluation and export Global.image_shape")
        elif n == 0:
            raise _fail(source, "Global.image_shape",
                        f"{shape} disagrees with {where}, which makes {produced[0]}x{produced[1]} images for "
                        f"evaluation and inference; set Global.image_shape to [{shape[0]}, {produced[0]}, "
                        f"{produced[1]}] or change the transform")


def _loss_and_metric_values(source, cfg):
    for split, losses in cfg["Loss"].items():
        for i, name, kwargs in _entries(losses):
            _check_range(source, f"Loss.{split}.{i}.{name}.epsilon", kwargs.get("epsilon", 0.0), 0, 1, high_open=True,
                         hint=" (label smoothing: 0 is none, 0.1 is usual)")
    classes = cfg["Arch"].get("num_classes", cfg["Arch"].get("class_num"))
    for split, metrics in (cfg.get("Metric") or {}).items():
        for i, name, kwargs in _entries(metrics):
            topk = kwargs.get("topk")
            for k in topk if isinstance(topk, list) else [topk] if topk is not None else []:
                _check_range(source, f"Metric.{split}.{i}.{name}.topk", k, 1)
                if FLOAT.check(classes) and FLOAT.check(k) and k > classes:
                    raise _fail(source, f"Metric.{split}.{i}.{name}.topk",
                                f"top-{k} accuracy of a {classes}-class model is always 1.0; use values up to "
                                f"{classes}, e.g. topk: [1, {min(5, classes)}]")


def _optimizer_values(source, cfg):
    lr = cfg["Optimizer"].get("lr") or {}
    for key in ("learning_rate", "warmup_start_lr", "eta_min", "end_lr"):
        _check_range(source, f"Optimizer.lr.{key}", lr.get(key, 1.0), 0, low_open=key == "learning_rate",
                     hint="; a learning rate is positive (e.g. 0.1 for SGD, 0.001 for Adam)")


#: Distillation losses that read each sample's class from the label (not with Mixup/CutMix targets).
CLASS_LABEL_LOSSES = ("DistillationDKDLoss", "DistillationSKDLoss", "DistillationWSLLoss")


def _reads_members(kind, name):
    """Whether loss / metric ``name`` picks DistillationModel members by name itself."""
    if kind == "Loss":
        return getattr(LOSSES.get(name), "reads_members", False)
    return name in MEMBER_METRICS


def _named_members(kwargs):
    """The member names a distillation loss or metric entry refers to."""
    names = list(kwargs.get("model_names") or []) + [n for pair in kwargs.get("model_name_pairs") or [] for n in pair]
    return names + ([kwargs["model_key"]] if "model_key" in kwargs else [])


def _distillation_values(source, cfg):
    """Losses, metrics and Infer.PostProcess against the Arch: the distillation ones need a DistillationModel
    and name its members; on one, the training losses read members by name."""
    arch = cfg["Arch"]
    distillation = arch["name"] == DISTILLATION_MODEL
    members = [next(iter(m)) for m in arch["models"]] if distillation else []
    post = (cfg.get("Infer") or {}).get("PostProcess") or {}
    sections = [("Loss", split, entries) for split, entries in cfg["Loss"].items()]
    sections += [("Metric", split, entries) for split, entries in (cfg.get("Metric") or {}).items()]
    for kind, split, entries in sections:
        for i, name, kwargs in _entries(entries):
            where = f"{kind}.{split}.{i}.{name}"
            if not distillation:
                if _reads_members(kind, name):
                    raise _fail(source, where, f"reads the models of a DistillationModel by name, but Arch.name is "
                                               f"{arch['name']}; use it with Arch.name: DistillationModel")
                continue
            if not _reads_members(kind, name):
                if kind == "Loss" and split == "Train":
                    raise _fail(source, where, "a DistillationModel's training loss must name the models it "
                                               "applies to: use DistillationGTCELoss (model_names: [Student]) "
                                               "for the ground truth")
                if EVAL_MEMBER not in members:
                    raise _fail(source, where, f"on a DistillationModel, {name} measures the model named "
                                               f"{EVAL_MEMBER} (PaddleClas's evaluation), and there is none among "
                                               f"{', '.join(members)}; name the student {EVAL_MEMBER} or use "
                                               f"the Distillation{'GTCELoss' if kind == 'Loss' else 'TopkAcc'}")
            for member in _named_members(kwargs):
                if member not in members:
                    raise _fail(source, where, f"names the model {member!r}, which Arch.models does not have "
                                               f"({', '.join(members)})")
    mixed = cfg["DataLoader"]["Train"]["dataset"].get("batch_transform_ops")
    for i, name, kwargs in _entries(cfg["Loss"]["Train"]) if mixed else ():
        if name in CLASS_LABEL_LOSSES and not kwargs.get("use_target_as_gt"):
            raise _fail(source, f"Loss.Train.{i}.{name}", "reads each sample's class, but the batch_transform_ops "
                                                          "(Mixup/CutMix) mix the labels; remove them, or set "
                                                          "use_target_as_gt: true where the loss takes it")
    if post.get("name") == "DistillationPostProcess":
        if not distillation:
            raise _fail(source, "Infer.PostProcess.name", "DistillationPostProcess needs Arch.name: "
                                                          "DistillationModel; use Topk")
        if arch["infer_model_name"] is None:
            raise _fail(source, "Arch.infer_model_name", f"not set, but Infer.PostProcess is a DistillationPostProcess "
                                                         f"of {post['model_name']!r}: set it to {post['model_name']!r}")
        if post["model_name"] != arch["infer_model_name"]:
            raise _fail(source, "Infer.PostProcess.model_name",
                        f"{post['model_name']!r}: the export holds the model Arch.infer_model_name = "
                        f"{arch['infer_model_name']!r} only; make them the same")


#: ``Global.train_mode: progressive``'s stages, and the per-stage lists it reads (PaddleClas's train_progressive.py).
PROGRESSIVE_STAGES = 4
_PROGRESSIVE_OPS = {"RandCropImage": ("progress_size", "train image sizes", "integers >= 1",
                                      lambda v: INT.check(v) and v >= 1),
                    "RandAugmentV2": ("progress_magnitude", "RandAugment magnitudes", "numbers >= 0",
                                      lambda v: FLOAT.check(v) and 0 <= v < math.inf)}


def _progressive_values(source, cfg):
    """``Global.train_mode: progressive`` needs the Train ops' per-stage sizes and magnitudes (4 each)."""
    if cfg["Global"]["train_mode"] != "progressive":
        return
    dataset = cfg["DataLoader"]["Train"]["dataset"]
    key = "DataLoader.Train.dataset"
    if dataset.get("name") == "MultiScaleDataset":
        raise _fail(source, "Global.train_mode", "progressive sets the train image size per stage, which "
                    f"{key}.name MultiScaleDataset draws per batch; use one of them")
    ops = {name: (i, kwargs) for i, name, kwargs in reversed(list(_entries(dataset.get("transform_ops"))))}
    for op, (arg, what, kind, fits) in _PROGRESSIVE_OPS.items():
        i, kwargs = ops.get(op, (None, {}))
        values = kwargs.get(arg)
        if not (isinstance(values, list) and len(values) == PROGRESSIVE_STAGES
                and all(fits(v) for v in values)):
            where = f"{key}.transform_ops.{i}.{op}.{arg}" if i is not None else "Global.train_mode"
            raise _fail(source, where, f"progressive learning takes the {what} of its {PROGRESSIVE_STAGES} stages from "
                        f"{op}.{arg}: give a list of {PROGRESSIVE_STAGES} {kind} (got "
                        f"{abbreviate(values, 60)}), or remove Global.train_mode")
    note_once("Global.train_mode", f"PaddleClas's progressive learning also steps the dropout of EfficientNetV2's "
              f"Head (its own per-stage rates); {cfg['Arch']['name']} has no such head: its dropout stays, as there "
              "for any other model")


def check_values(source, cfg):
    """Raise ConfigError naming the key of the first unusable value of a validated classification ``cfg``."""
    g = cfg["Global"]
    _check_range(source, "Global.seed", g["seed"], 0, _MAX_SEED)
    _check_range(source, "Arch.alpha", cfg["Arch"].get("alpha"), 0, 1, hint=" (the share of low-frequency channels)")
    _loader_values(source, cfg)
    _image_shape(source, cfg)
    _input_channels(source, cfg)
    _loss_and_metric_values(source, cfg)
    _distillation_values(source, cfg)
    _optimizer_values(source, cfg)
    _progressive_values(source, cfg)
    check_output_dir(source, g["output_dir"])
