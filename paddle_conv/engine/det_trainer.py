"""Two-stage SSD knowledge distillation (Chen et al., NeurIPS 2017) from a validated
:data:`~paddle_conv.config.DET_SCHEMA` config.

Stages, each in ``<Global.output_dir>/<stage>/``: ``teacher`` (MultiBoxLoss), ``student_kd``
(MultiBoxLoss_KD against the teacher's best checkpoint, loss ``kd_total`` with ``Loss.weights``)
and, with ``Global.student_baseline``, ``student`` (the same student with MultiBoxLoss only).
Every epoch writes ``latest`` (weights, optimizer, metadata) and the best VOC mAP ``best``, via
:mod:`paddle_conv.engine.checkpoint`; ``Global.resume`` continues each stage from ``latest`` and
skips finished stages. VisualDL scalars: ``train/soft``, ``train/l2``, ``train/loss_c``,
``train/loss_l``, ``train/loss`` and ``eval/mAP`` (all-point) / ``eval/mAP_11``.
"""

import os
import time

import numpy as np
import paddle

from ..build import build_detection_dataset, build_model, build_optimizer, detection_loader
from ..config.detection import STAGES  # noqa: F401  (old import path)
from ..console import log
from ..errors import ConfigError
from ..losses import MultiBoxLoss, MultiBoxLoss_KD, kd_total
from ..metrics import evaluate_map
from .callbacks import TrainingDivergedError
from .checkpoint import atomic_json_save, load_checkpoint, load_checkpoint_meta, load_pretrained, save_checkpoint
from .trainer import seed_everything

#: Old name of :func:`paddle_conv.build.build_detection_dataset`.
build_dataset = build_detection_dataset


def _writer(cfg, stage_dir):
    if not cfg["Global"]["use_visualdl"]:
        return None
    from visualdl import LogWriter

    return LogWriter(logdir=os.path.join(stage_dir, "vdl"))


def train_stage(cfg, stage, teacher=None):
    """Train one stage; return its summary ``{"stage", "best_mAP", "best_mAP_11", "dir", "seconds"}``.

    ``teacher``: the frozen teacher network for ``student_kd``. The stage runs under a fresh
    ``unique_name`` scope, so its parameter and optimizer-state names are the same in every run
    and a resumed optimizer finds its state.
    """
    with paddle.utils.unique_name.guard():
        return _train_stage(cfg, stage, teacher)


def _train_stage(cfg, stage, teacher):
    section = cfg["Teacher"] if stage == "teacher" else cfg["Student"]
    stage_dir = os.path.join(cfg["Global"]["output_dir"], stage)
    seed_everything(cfg["Global"]["seed"])
    model = build_model(section["Arch"])
    train_set = build_detection_dataset(cfg["DataLoader"]["Train"])
    eval_set = build_detection_dataset(cfg["DataLoader"]["Eval"])
    train_cfg = cfg["DataLoader"]["Train"]
    loader = detection_loader(train_set, train_cfg["batch_size"], train_cfg["shuffle"])
    epochs = section["epochs"]
    optimizer, lr = build_optimizer(section["Optimizer"], model.parameters(), len(loader), epochs)
    loss_cfg = cfg["Loss"]
    if stage == "student_kd":
        criterion = MultiBoxLoss_KD(model.num_classes, **loss_cfg["MultiBoxLoss"], **loss_cfg["MultiBoxLoss_KD"])
        teacher.eval()
    else:
        criterion = MultiBoxLoss(model.num_classes, **loss_cfg["MultiBoxLoss"])

    start_epoch, best = 0, {"mAP": -1.0, "mAP_11": -1.0}
    latest = os.path.join(stage_dir, "latest")
    if cfg["Global"]["resume"] and os.path.exists(latest + ".json"):
        meta = load_checkpoint(latest, model, optimizer)
        start_epoch, best = meta["epoch"], meta["best"]  # the .pdopt carries the LR schedule's state
        log(f"[{stage}] resumed from {latest} after epoch {start_epoch}")
    elif section["pretrained_model"]:
        load_pretrained(model, section["pretrained_model"])
    writer = _writer(cfg, stage_dir)
    step, started = start_epoch * len(loader), time.time()
    for epoch in range(start_epoch, epochs):
        model.train()
        for images, targets in loader:
            out = model(images)
            if stage == "student_kd":
                with paddle.no_grad():
                    teacher_out = teacher(images)
                terms = criterion(out, teacher_out[:2], targets)
                loss = kd_total(terms, loss_cfg["weights"])
                named = dict(zip(("soft", "l2", "loss_c", "loss_l"), terms))
            else:
                loss_l, loss_c = criterion(out, targets)
                loss = loss_l + loss_c
                named = {"loss_c": loss_c, "loss_l": loss_l}
            if not np.isfinite(float(loss)):
                raise TrainingDivergedError(f"[{stage}] loss is {float(loss)} at step {step}: lower the learning rate")
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            if isinstance(lr, paddle.optimizer.lr.LRScheduler):
                lr.step()
            step += 1
            if writer is not None:
                for k, v in {**named, "loss": loss}.items():
                    writer.add_scalar(f"train/{k}", float(v), step)
            if step % cfg["Global"]["print_batch_step"] == 0:
                parts = ", ".join(f"{k} {float(v):.4f}" for k, v in named.items())
                log(f"[{stage}] epoch {epoch + 1}/{epochs} step {step}: loss {float(loss):.4f} ({parts})")
        result = evaluate_map(model, eval_set, cfg["Eval"], cfg["DataLoader"]["Eval"]["batch_size"])
        if writer is not None:
            writer.add_scalar("eval/mAP", result["mAP"], epoch + 1)
            writer.add_scalar("eval/mAP_11", result["mAP_11"], epoch + 1)
        log(
            f"[{stage}] epoch {epoch + 1}/{epochs}: mAP {result['mAP']:.4f} (11-point {result['mAP_11']:.4f}), "
            f"{time.time() - started:.0f} s"
        )
        if result["mAP"] > best["mAP"]:
            best = {"mAP": result["mAP"], "mAP_11": result["mAP_11"]}
            save_checkpoint(os.path.join(stage_dir, "best"), model, meta={"epoch": epoch + 1, **best})
        save_checkpoint(latest, model, optimizer, meta={"epoch": epoch + 1, "step": step, "best": best})
    if writer is not None:
        writer.close()
    return {
        "stage": stage,
        "best_mAP": best["mAP"],
        "best_mAP_11": best["mAP_11"],
        "dir": stage_dir,
        "seconds": round(time.time() - started, 1),
    }


def load_teacher(cfg):
    """The teacher network with its ``best`` weights, frozen."""
    teacher = build_model(cfg["Teacher"]["Arch"])
    load_checkpoint(os.path.join(cfg["Global"]["output_dir"], "teacher", "best"), teacher)
    for p in teacher.parameters():
        p.stop_gradient = True
    teacher.eval()
    return teacher


def check_compatible(cfg):
    """Teacher and student must predict on the same priors and classes (the KD loss compares them)."""
    t, s = build_model(cfg["Teacher"]["Arch"]), build_model(cfg["Student"]["Arch"])
    if (
        t.num_classes != s.num_classes
        or t.priors.shape != s.priors.shape
        or not bool(paddle.allclose(t.priors, s.priors))
    ):
        raise ConfigError(
            "Teacher.Arch and Student.Arch give different priors or classes: give them the same "
            "num_classes, input_size, strides, number of extra_channels, aspect_ratios and ratios"
        )


def train_distillation(cfg):
    """Run every stage; print one line per stage, write ``<Global.output_dir>/summary.json`` and
    return ``{stage: summary}``."""
    check_compatible(cfg)
    results = {"teacher": train_stage(cfg, "teacher")}
    results["student_kd"] = train_stage(cfg, "student_kd", teacher=load_teacher(cfg))
    if cfg["Global"]["student_baseline"]:
        results["student"] = train_stage(cfg, "student")
    for r in results.values():
        log(f"{r['stage']:<11} best mAP {r['best_mAP']:.4f} (11-point {r['best_mAP_11']:.4f}), {r['seconds']} s")
    atomic_json_save(results, os.path.join(cfg["Global"]["output_dir"], "summary.json"))
    return results


def stage_meta(cfg, stage):
    """Metadata of a stage's best checkpoint ({} if it has none)."""
    return load_checkpoint_meta(os.path.join(cfg["Global"]["output_dir"], stage, "best"))
