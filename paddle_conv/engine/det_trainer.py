"""Two-stage SSD knowledge distillation (Chen et al., NeurIPS 2017) from a validated detection config.

Stages, each in ``<Global.output_dir>/<stage>/``: ``teacher`` (MultiBoxLoss), ``student_kd``
(MultiBoxLoss_KD against the teacher's ``best``) and, with ``Global.student_baseline``, ``student``.
Each epoch writes ``latest`` and the best VOC mAP's ``best``; ``Global.resume`` continues from ``latest``.
"""

import os
import time

import numpy as np
import paddle

from ..build import (
    build_detection_dataset,
    build_model,
    build_optimizer,
    detection_loader,
    stage_checkpoint,
    stage_mismatch_fix,
)
from ..config.det_schema import STAGES
from ..console import log
from ..errors import ConfigError, DataError, WeightsError
from ..io import atomic_json_save, read_json, safe_paddle_load
from ..losses import MultiBoxLoss, MultiBoxLoss_KD, kd_total
from ..metrics import evaluate_map
from ..state_dict import check_state_matches, load_pretrained, read_state_dict
from .atomic_checkpoint import load_checkpoint, save_checkpoint
from .callbacks import TrainingDivergedError
from .trainer import fresh_unique_names, seed_everything


def dataset_classes(dataset):
    """The class names of a detection data set, in label order."""
    return tuple(getattr(dataset, "classes", None) or getattr(dataset, "CLASSES", ()))


def check_classes(dataset, num_classes, data_key, arch_key):
    """ConfigError unless ``dataset`` has the ``num_classes - 1`` classes of the detector at ``arch_key``
    (``num_classes`` counts the background), so no ground truth is dropped or mislabelled."""
    classes = dataset_classes(dataset)
    if len(classes) != num_classes - 1:
        names = ", ".join(classes[:6]) + (", ..." if len(classes) > 6 else "")
        raise ConfigError(
            f"{data_key}.dataset has {len(classes)} classes ({names}) but {arch_key}.num_classes={num_classes} "
            f"is {num_classes - 1} classes + background: set {arch_key}.num_classes={len(classes) + 1}, or give "
            f"the data set the detector's classes ({data_key}.dataset.classes)"
        )


def build_datasets(cfg):
    """``(train, eval)`` data sets of a validated detection config, checked against the detectors:
    the same classes, and at least one full training batch."""
    train_set = build_detection_dataset(cfg["DataLoader"]["Train"])
    eval_set = build_detection_dataset(cfg["DataLoader"]["Eval"])
    num_classes = build_model(cfg["Teacher"]["Arch"], pretrained=False).num_classes
    for key, dataset in (("DataLoader.Train", train_set), ("DataLoader.Eval", eval_set)):
        check_classes(dataset, num_classes, key, "Teacher.Arch")
    train_cfg = cfg["DataLoader"]["Train"]
    if train_cfg["shuffle"] and len(train_set) < train_cfg["batch_size"]:  # shuffled batches drop the last one
        raise DataError(
            f"DataLoader.Train.batch_size={train_cfg['batch_size']} is more than the {len(train_set)} images of "
            f"DataLoader.Train.dataset: there is no full batch to train on; set DataLoader.Train.batch_size to "
            f"at most {len(train_set)} or add images"
        )
    return train_set, eval_set


def _writer(cfg, stage_dir):
    if not cfg["Global"]["use_visualdl"]:
        return None
    from visualdl import LogWriter

    return LogWriter(logdir=os.path.join(stage_dir, "vdl"))


def _stage_start(cfg, stage, section, model, optimizer, latest):
    """``(epochs done, best {"mAP", "mAP_11"})``: resumed from the checkpoint ``latest`` with
    ``Global.resume``, else from scratch (after loading the section's ``pretrained_model``)."""
    if cfg["Global"]["resume"] and (os.path.lexists(latest + ".json") or os.path.lexists(latest + ".commit")):
        meta = load_checkpoint(latest, model, optimizer)  # the .pdopt carries the LR schedule's state
        log(f"[{stage}] resumed from {latest} after epoch {meta['epoch']}")
        return meta["epoch"], meta["best"]
    if section["pretrained_model"]:
        load_pretrained(model, section["pretrained_model"])
    return 0, {"mAP": -1.0, "mAP_11": -1.0}


def _batch_loss(stage, model, criterion, teacher, batch, weights):
    """``(loss, {term: value})`` of one ``(images [B, 3, S, S], targets [B, M, 5])`` batch; for
    ``student_kd`` against the frozen ``teacher``'s outputs, the terms summed with ``weights``."""
    images, targets = batch
    out = model(images)
    if stage == "student_kd":
        with paddle.no_grad():
            teacher_out = teacher(images)
        terms = criterion(out, teacher_out[:2], targets)
        return kd_total(terms, weights), dict(zip(("soft", "l2", "loss_c", "loss_l"), terms))
    loss_l, loss_c = criterion(out, targets)
    return loss_l + loss_c, {"loss_c": loss_c, "loss_l": loss_l}


@fresh_unique_names  # so a resumed optimizer finds its state
def train_stage(cfg, stage, data, teacher=None):
    """Train one stage on ``data`` (:func:`build_datasets`'s; ``teacher``: frozen, for ``student_kd``); its summary."""
    section = cfg["Teacher"] if stage == "teacher" else cfg["Student"]
    stage_dir = os.path.join(cfg["Global"]["output_dir"], stage)
    seed_everything(cfg["Global"]["seed"])
    model = build_model(section["Arch"])
    train_set, eval_set = data
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
    latest = os.path.join(stage_dir, "latest")
    start_epoch, best = _stage_start(cfg, stage, section, model, optimizer, latest)
    writer = _writer(cfg, stage_dir)
    step, started = start_epoch * len(loader), time.time()
    for epoch in range(start_epoch, epochs):
        model.train()
        for batch in loader:
            loss, named = _batch_loss(stage, model, criterion, teacher, batch, cfg["Loss"]["weights"])
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
        log(f"[{stage}] epoch {epoch + 1}/{epochs}: mAP {result['mAP']:.4f} (11-point {result['mAP_11']:.4f}), "
            f"{time.time() - started:.0f} s")
        if result["mAP"] > best["mAP"]:
            best = {"mAP": result["mAP"], "mAP_11": result["mAP_11"]}
            save_checkpoint(os.path.join(stage_dir, "best"), model, meta={"epoch": epoch + 1, **best})
        save_checkpoint(latest, model, optimizer, meta={"epoch": epoch + 1, "step": step, "best": best})
    if writer is not None:
        writer.close()
    return {"stage": stage, "best_mAP": best["mAP"], "best_mAP_11": best["mAP_11"], "dir": stage_dir,
            "seconds": round(time.time() - started, 1)}


def load_teacher(cfg):
    """The teacher network with its ``best`` weights, frozen."""
    teacher = build_model(cfg["Teacher"]["Arch"])
    load_checkpoint(stage_checkpoint(cfg, "teacher"), teacher, fix=stage_mismatch_fix("teacher"))
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
    """Check everything the run reads, run every stage, write ``summary.json``; ``{stage: summary}``."""
    check_compatible(cfg)
    data = build_datasets(cfg)
    stages = STAGES if cfg["Global"]["student_baseline"] else STAGES[:2]
    check_run_state(cfg, stages)
    results = {"teacher": train_stage(cfg, "teacher", data)}
    results["student_kd"] = train_stage(cfg, "student_kd", data, teacher=load_teacher(cfg))
    if "student" in stages:
        results["student"] = train_stage(cfg, "student", data)
    for r in results.values():
        log(f"{r['stage']:<11} best mAP {r['best_mAP']:.4f} (11-point {r['best_mAP_11']:.4f}), {r['seconds']} s")
    atomic_json_save(results, os.path.join(cfg["Global"]["output_dir"], "summary.json"))
    return results


#: The advice of every refusal of a stage's resume state.
_RESUME_FIX = "delete the stage folder to train that stage again, or run without Global.resume"


def _read_meta(path):
    """The ``latest.json`` of a stage, checked: ``{"epoch": int >= 0, "step": int >= 0, "best": {"mAP", "mAP_11"}}``."""
    fix = f"it is damaged: {_RESUME_FIX}"
    meta = read_json(path, lambda exc: f"cannot read resume state {path!r} ({type(exc).__name__}: {exc}); {fix}",
                     "resume state")

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)

    best = meta.get("best") if isinstance(meta, dict) else None
    checks = {
        "epoch": isinstance(meta, dict) and count(meta.get("epoch")),
        "step": isinstance(meta, dict) and count(meta.get("step")),
        "best": isinstance(best, dict) and all(number(best.get(k)) for k in ("mAP", "mAP_11")),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise WeightsError(f"resume state {path!r}: {', '.join(bad)} missing or of the wrong type "
                           f"(expected epoch and step counts and best {{mAP, mAP_11}} numbers); {fix}")
    return meta


def _check_commit(path):
    """WeightsError unless the intent file ``path`` of an interrupted save is a list of file name pairs."""
    try:
        renames = read_json(path, str, "intent file")
    except WeightsError as exc:
        renames = exc
    ok = isinstance(renames, list) and all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(n, str) and n == os.path.basename(n) for n in r)
        for r in renames
    )
    if not ok:
        raise WeightsError(f"{path} is damaged (the intent file of an interrupted checkpoint save, it must list "
                           "file renames): delete it to resume from the checkpoint files as they are, or run "
                           "without Global.resume")


def _check_optimizer_state(path, model):
    """WeightsError unless every accumulator in the ``.pdopt`` at ``path`` fits a parameter of ``model``
    (a ``.pdopt`` of another stage or architecture would fail only at the first step)."""
    try:
        state = safe_paddle_load(path)
    except Exception as exc:  # truncated, foreign or unsafe: all refused the same way
        raise WeightsError(f"cannot read optimizer state {path!r} ({type(exc).__name__}: {exc}); {_RESUME_FIX}") \
            from None
    shapes = {p.name: list(p.shape) for p in model.parameters()}
    bad = "it is not a dict" if not isinstance(state, dict) else None
    for key, value in state.items() if bad is None else ():
        if not hasattr(value, "shape"):
            continue  # LR scheduler state, master weights
        owner = max((n for n in shapes if key.startswith(n + "_")), key=len, default=None)
        if owner is None or list(value.shape) not in (shapes[owner], [1], []):
            bad = f"{key} {list(value.shape)} fits no parameter of the model"
            break
    if bad:
        raise WeightsError(f"optimizer state {path!r} is not this stage's ({bad}); it was saved by another stage "
                           f"or architecture: {_RESUME_FIX}")


def _check_latest(stage, section_key, arch, latest):
    """WeightsError unless the ``latest`` checkpoint of ``stage`` (if any) is whole and fits ``arch``."""
    if os.path.lexists(latest + ".commit"):
        _check_commit(latest + ".commit")
    if not os.path.lexists(latest + ".json"):
        parts = [latest + ext for ext in (".pdparams", ".pdopt") if os.path.lexists(latest + ext)]
        if parts and not os.path.lexists(latest + ".commit"):  # with one: loading rolls it forward, then checks
            raise WeightsError(f"resume state of the {stage} stage is incomplete: {latest}.json is missing (it "
                               f"records the epochs done) but {' and '.join(parts)} are there; {_RESUME_FIX}")
        return
    _read_meta(latest + ".json")
    with paddle.utils.unique_name.guard():  # the parameter names of the stage's own run
        model = build_model(arch, pretrained=False)
    for path in (latest + ".pdparams", latest + ".pdopt"):
        if not os.path.lexists(path):
            raise WeightsError(f"resume state of the {stage} stage is incomplete: {path} is missing; {_RESUME_FIX}")
        if path.endswith(".pdparams"):
            check_state_matches(read_state_dict(path, "resume checkpoint"), model, path, fix=(
                f"it was saved with another {section_key}.Arch: set {section_key}.Arch back, {_RESUME_FIX}"))
    _check_optimizer_state(latest + ".pdopt", model)


def check_run_state(cfg, stages):
    """ConfigError/WeightsError, before any training, unless every stage folder can be written, every
    ``pretrained_model`` loads and, with ``Global.resume``, every ``latest`` is whole and fits its stage."""
    output_dir = cfg["Global"]["output_dir"]
    for folder in [output_dir] + [os.path.join(output_dir, s) for s in stages]:
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ConfigError(f"{folder} is a file, but the run writes its checkpoints in a folder there: move "
                              "the file away or set Global.output_dir to another folder")
    existing = os.path.abspath(output_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"Global.output_dir={output_dir} cannot be created: {existing} is "
                          f"{'a file' if not os.path.isdir(existing) else 'not writable'}; set Global.output_dir "
                          "to a writable folder")
    for stage in stages:
        section_key = "Teacher" if stage == "teacher" else "Student"
        section = cfg[section_key]
        weights = section["pretrained_model"]
        if weights:
            params = weights if weights.endswith(".pdparams") else f"{weights}.pdparams"
            if not os.path.lexists(params):
                raise WeightsError(f"{section_key}.pretrained_model: {params} does not exist; check the path "
                                   "(a .pdparams file or its prefix) or set it to null")
            try:
                load_pretrained(build_model(section["Arch"], pretrained=False), weights)
            except WeightsError as exc:
                raise WeightsError(f"{section_key}.pretrained_model: {exc}") from None
        if cfg["Global"]["resume"]:
            _check_latest(stage, section_key, section["Arch"], os.path.join(output_dir, stage, "latest"))
