"""Build the parts of a run (model, loss, optimizer, metrics, loaders) from validated config sections."""

import os
from typing import Any, Dict, Optional, Tuple

import paddle

from .arch import build_arch
from .console import log
from .data import DATASETS, build_batch_sampler, build_dataset, detection_loader
from .data.batch_ops import BatchCollate, build_batch_transforms
from .data.guarded_loader import GuardedDataLoader
from .errors import ConfigError, DataError, WeightsError
from .losses import build_loss
from .metrics import build_metrics
from .models.distillation import DISTILLATION_MODEL, DistillationModel
from .optim import build_optimizer
from .registry import ARCH_TRANSFORMS
from .state_dict import format_load_report, load_pretrained

__all__ = ["build_detection_dataset", "build_distillation_model", "build_loader", "build_loss", "build_metrics",
           "build_model", "build_optimizer", "detection_loader", "load_pretrained_weights", "run_dir",
           "stage_checkpoint", "stage_mismatch_fix"]


def run_dir(cfg: Dict[str, Any]) -> str:
    """``<Global.output_dir>/<Arch.name>``: where checkpoints and logs of ``cfg`` go."""
    return os.path.join(cfg["Global"]["output_dir"], cfg["Arch"]["name"])


def stage_checkpoint(cfg, stage, weights=None):
    """The checkpoint prefix a detection tool loads for ``stage``: ``weights`` or ``<output_dir>/<stage>/best``."""
    if weights:
        prefix = weights[: -len(".pdparams")] if weights.endswith(".pdparams") else weights
        if not os.path.lexists(prefix + ".pdparams"):  # other non-files: refused by the reader
            raise WeightsError(f"--weights {weights}: {prefix}.pdparams does not exist; pass the prefix of a "
                               f"checkpoint written by tools/train_det.py (<Global.output_dir>/{stage}/best)")
        return prefix
    prefix = os.path.join(cfg["Global"]["output_dir"], stage, "best")
    if not os.path.isfile(prefix + ".pdparams"):
        raise WeightsError(
            f"the {stage} stage has no checkpoint {prefix}.pdparams: train it first with tools/train_det.py "
            f"-c CONFIG (Global.output_dir={cfg['Global']['output_dir']}), or pass --weights PREFIX"
        )
    return prefix


def stage_mismatch_fix(stage):
    """The advice of a stage checkpoint that does not fit the stage's architecture."""
    section = "Teacher" if stage == "teacher" else "Student"
    return (f"it was saved with another {section}.Arch: set {section}.Arch to the one the {stage} stage was "
            "trained with, or pass --weights of a checkpoint of this architecture")


def load_pretrained_weights(network: paddle.nn.Layer, path: str) -> None:
    """Load the weights of ``path`` that fit ``network`` and print which did not."""
    report = load_pretrained(network, path)
    log(f"pretrained weights {path}: " + "; ".join(format_load_report(report)))


def _colour_channels(layer, inputs):
    """Forward pre-hook: the first 3 channels of a ``[N, 4, H, W]`` input whose 4th is PaddleClas's zero padding."""
    return (inputs[0][:, :3], *inputs[1:])


def build_model(arch: Dict[str, Any], pretrained: bool = True) -> paddle.nn.Layer:
    """The network of a validated ``Arch`` section, then transformed by its :data:`ARCH_TRANSFORMS` keys.

    ``pretrained=False``: ``Arch.pretrained`` is not loaded (tools that load trained weights right after).
    """
    if arch["name"] == DISTILLATION_MODEL:
        return build_distillation_model(arch, pretrained)
    transforms = ARCH_TRANSFORMS.names()
    network = build_arch({k: v for k, v in arch.items() if k not in ("input_image_channel", *transforms)
                          and (pretrained or k != "pretrained")})
    if arch.get("input_image_channel") == 4:  # PaddleClas's zero 4th channel (NormalizeImage channel_num: 4)
        network.register_forward_pre_hook(_colour_channels)
    for key in (k for k in transforms if arch.get(k)):
        try:
            ARCH_TRANSFORMS.get(key)(network, **arch[key])
        except ValueError as exc:
            raise ConfigError(f"Arch.{key}: {exc}") from exc
    return network


def build_distillation_model(arch: Dict[str, Any], pretrained: bool = True) -> DistillationModel:
    """The DistillationModel of a validated ``Arch`` (PaddleClas's keys; each member an ``Arch`` of its own)."""
    models = arch["models"]
    weights = arch.get("pretrained_list") or [None] * len(models)
    freeze = arch.get("freeze_params_list") or [False] * len(models)
    members, frozen = [], []
    for entry, member_weights, member_frozen in zip(models, weights, freeze):
        (name, member), = entry.items()
        if member_weights is not None:
            member = {**member, "pretrained": member_weights}
        members.append((name, build_model(member, pretrained)))
        if member_frozen:
            frozen.append(name)
    return DistillationModel(members, frozen, arch.get("infer_model_name"))


def build_loader(split: Dict[str, Any], num_classes: Optional[int], key: str, train: bool,
                 built: Optional[Tuple[Any, Dict[str, Any]]] = None,
                 seed: int = 0) -> Tuple[paddle.io.DataLoader, Dict[str, Any]]:
    """``(loader, used dataset entry)`` of a validated ``DataLoader.Train``/``Eval`` section.

    ``built``: ``(dataset, entry)`` already built (a validation split); ``seed``: the sampler's.
    """
    dataset, entry = built or build_dataset(split["dataset"], num_classes, key=f"{key}.dataset")
    sampler_cfg = split["sampler"]
    batch_size = entry.get("batch_size", sampler_cfg.get("batch_size"))
    drop_last = sampler_cfg.get("drop_last", False) and train
    if len(dataset) == 0 or (drop_last and len(dataset) < batch_size):
        raise DataError(f"{key}: the data set has {len(dataset)} samples, fewer than one batch of {batch_size} "
                        f"with drop_last; lower {key}.sampler.batch_size or set drop_last: false")
    sampler = build_batch_sampler(dataset, sampler_cfg, train, seed, entry.get("batch_size"))
    loader_cfg = split["loader"]
    batch_ops = split["dataset"].get("batch_transform_ops") if train else None
    collate = BatchCollate(build_batch_transforms(batch_ops, num_classes), num_classes) if batch_ops else None
    loader = GuardedDataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                               num_workers=entry.get("num_workers", loader_cfg["num_workers"]),
                               use_shared_memory=loader_cfg["use_shared_memory"])
    batches = f"batch {batch_size}" if batch_size is not None else f"{sampler_cfg['name']} batches"
    log(f"{key}: {entry['name']}, {len(dataset)} samples, {batches}, {len(loader)} steps")
    return loader, entry


def build_detection_dataset(split: Dict[str, Any]) -> paddle.io.Dataset:
    """The data set of a validated detection ``DataLoader.Train``/``Eval`` section."""
    return DATASETS.build(split["dataset"]["name"], **{k: v for k, v in split["dataset"].items() if k != "name"})

