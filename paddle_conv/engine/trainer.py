"""Train and evaluate a classifier from a validated config with ``paddle.Model`` (``prepare`` + ``fit``).

Public API (used by ``tools/train.py`` and ``tools/eval.py``)::

    cfg = paddle_conv.config.load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3"])
    summary = train_classifier(cfg)   # {"run_dir", "vdl_dir", "best_metric", "eval", ...}
    result = evaluate(cfg)    # {"acc_top1", "acc_top5", "loss", ...}

Outputs of a run go to ``<Global.output_dir>/<Arch.name>/``: checkpoints ``epoch_N``, ``latest``
and ``best_model`` (see :mod:`paddle_conv.engine.checkpoint`), ``config.yaml`` (the config as
run) and the VisualDL logs in ``vdl/``.
"""

import functools
import os
import random

import numpy as np
import paddle
from paddle.static import InputSpec

from ..build import (
    build_loader,
    build_loss,
    build_metrics,
    build_model,
    build_optimizer,
    load_pretrained_weights,
    run_dir,
)
from ..config import dump_config
from ..console import log
from ..data.holdout import split_for_validation
from ..device import resolve_device, set_device  # noqa: F401 (set_device: old import path)
from ..errors import ConfigError
from ..io import RunLock
from ..models.distillation import DistillationModel
from ..notes import note_once
from ..refconv import reset_random_bases
from .callbacks import CheckpointSaver, EpochSummary, NaNGuard, ProgBar, ReseedByEpoch, ShuffleByEpoch, VisualDLLogger
from .checkpoint import atomic_write, load_checkpoint
from .member_outputs import for_paddle_model
from .paddleclas_features import AccumulatedLRStep, EvalFrom, ModelEMA, ScaledLoss
from .visualdl_extras import VisualDLExtras, hyper_parameters


def seed_everything(seed):
    """Seed Python's, NumPy's and Paddle's random generators."""
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def _float32_inputs(layer, inputs):
    """Forward pre-hook: float16 inputs (PaddleClas's ``NormalizeImage.output_fp16``) as float32."""
    return tuple(x.astype("float32") if getattr(x, "dtype", None) == paddle.float16 else x for x in inputs)


def _paddle_model(cfg, network, loss, metrics, optimizer=None, amp=None):
    """``paddle.Model`` of ``network``, prepared with ``loss``, ``metrics`` (and ``optimizer``, ``amp``);
    a DistillationModel's outputs go through it as a tuple (:mod:`.member_outputs`)."""
    channels = cfg["Global"]["image_shape"][0]
    if amp is None:  # float32 training: NormalizeImage's output_fp16 batches (AMP O2 configs on CPU) in float32
        network.register_forward_pre_hook(_float32_inputs)
    network, loss, metrics = for_paddle_model(network, loss, metrics)
    model = paddle.Model(network, inputs=[InputSpec([None, channels, None, None], "float32", "image")],
                         labels=[InputSpec([None, 1], "int64", "label")])
    model.prepare(optimizer, loss, metrics, amp_configs=amp)
    return model


def _metrics(cfg, network):
    metric_cfg = cfg["Metric"]
    return build_metrics(metric_cfg.get("Eval") or metric_cfg.get("Train") or [{"TopkAcc": {"topk": [1, 5]}}],
                         evaluated_member(network))


def evaluated_member(network):
    """The member of a DistillationModel ``network`` that plain metrics and evaluation losses measure
    (PaddleClas's ``Student``), None for another network."""
    return network.eval_member_name if isinstance(network, DistillationModel) else None


def shown_network(network):
    """The network whose graph and PR curves VisualDL shows: a DistillationModel's evaluated member
    (else the one it exports, else its first), or ``network`` itself."""
    if not isinstance(network, DistillationModel):
        return network
    return network.member(network.eval_member_name or network.infer_model_name or network.member_names[0])


def amp_configs(global_cfg, amp=None, device=None):
    """``paddle.Model.prepare``'s ``amp_configs`` for the ``AMP`` section (or ``Global.use_amp``):
    float16 autocast at ``AMP.level`` with its loss scaling on a GPU; None (float32) otherwise.
    Paddle's autocast has no effect on CPU, so there a note says so. ``device``: the device the
    run uses (default: ``Global.device``, ``auto`` resolved)."""
    if not (amp["use_amp"] if amp else global_cfg["use_amp"]):
        return None
    key = "AMP.use_amp" if amp else "Global.use_amp"
    device = device or global_cfg["device"]
    if not (resolve_device(device) if device == "auto" else device).startswith("gpu"):
        note_once(key, "mixed precision needs a GPU (float16 autocast); training in float32 on CPU")
        return None
    if not amp:
        return {"level": "O1", "use_dynamic_loss_scaling": True}
    if not amp["use_promote"]:
        note_once("AMP.use_promote", "paddle.Model's autocast always promotes ops with float32 inputs to float32")
    if amp["use_fp16_test"]:
        note_once("AMP.use_fp16_test", "paddle.Model evaluates in float32; only training runs under autocast")
    return {"level": amp["level"], "use_dynamic_loss_scaling": amp["use_dynamic_loss_scaling"],
            "init_loss_scaling": amp["scale_loss"]}


def environment_notes(cfg):
    """Notes for settings this machine cannot honour as written (no GPU, AMP on CPU)."""
    g = cfg["Global"]
    if g["device"].startswith("gpu") and not paddle.device.is_compiled_with_cuda():
        note_once("Global.device", "this Paddle build has no GPU; train with -o Global.device=cpu")
    amp_configs(g, cfg.get("AMP"))


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _fresh_unique_names(fn):
    """Run ``fn`` in a fresh ``paddle.utils.unique_name`` scope.

    Parameter and optimizer-accumulator names (``conv2d_0.w_0_velocity_0``) key the optimizer
    state in ``.pdopt``; Paddle numbers them process-wide, so without this a second run in the
    same process (a notebook, a test) names them differently and cannot resume a checkpoint.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paddle.utils.unique_name.guard():
            return fn(*args, **kwargs)

    return wrapper


@_fresh_unique_names
def _evaluate_from(first, start_epoch, eval_loader, callbacks):
    """``(eval_loader, callbacks, fit's verbose)`` with no evaluation before epoch ``first`` (1-based,
    ``Global.start_eval_epoch``) when it comes after the epoch this run starts at (:class:`EvalFrom`)."""
    if eval_loader is None or first <= start_epoch + 1:
        return eval_loader, callbacks, 1
    gate = EvalFrom(first, start_epoch)
    callbacks = [gate] + [c if isinstance(c, paddle.callbacks.LRScheduler) else gate.wrap(c) for c in callbacks]
    return gate.loader(eval_loader), callbacks, 0  # 0: the wrapped ProgBar prints (fit would add its own)


def train_classifier(cfg, extra_callbacks=()):
    """Train the model of ``cfg`` (validated by :func:`paddle_conv.config.load_config`).

    Resumes from ``Global.checkpoints`` (weights, optimizer and LR state, epoch), or starts
    from ``Global.pretrained_model`` weights. Returns a summary dict: ``run_dir``, ``vdl_dir``,
    ``epochs_run``, ``best_metric``, ``best_epoch`` and the last ``eval`` logs.
    ``extra_callbacks``: ``paddle.callbacks.Callback`` objects run after the trainer's own
    (e.g. a profiler; ``benchmarks/soak.py`` samples memory with one).

    Raises:
        TrainingDivergedError: the loss became NaN/Inf (the last good checkpoint is kept).
        ConfigError, DataError, WeightsError: bad config, data or checkpoint.
    """
    g = cfg["Global"]
    device = set_device(g["device"])
    seed_everything(g["seed"])
    out = run_dir(cfg)
    vdl_dir = os.path.join(out, "vdl")
    class_num = cfg["Arch"].get("num_classes")

    network = build_model(cfg["Arch"])  # first: weights that cannot be had stop the run before any data work
    if g["pretrained_model"] and not g["checkpoints"]:
        load_pretrained_weights(network, g["pretrained_model"])
        reset_random_bases(network)  # Arch.refocus.basis random_*: the trained kernels are not the basis

    data = cfg["DataLoader"]
    fraction = data.get("validation_split")
    if fraction:  # best_model is chosen on a held-out part of Train; Eval (the test set) is run at the end
        train_set, val_set, used = split_for_validation(data["Train"], data.get("Eval"), fraction, g["seed"],
                                                        class_num)
        train_loader, train_entry = build_loader(data["Train"], class_num, "DataLoader.Train", True,
                                                 built=(train_set, used), seed=g["seed"])
        eval_loader = None
        if g["eval_during_train"]:
            eval_loader, _ = build_loader(data.get("Eval") or data["Train"], class_num,
                                          "DataLoader.validation_split", False, built=(val_set, used))
    else:
        train_loader, train_entry = build_loader(data["Train"], class_num, "DataLoader.Train", True,
                                                 seed=g["seed"])
        eval_loader = None
        if g["eval_during_train"] and data.get("Eval"):
            eval_loader, _ = build_loader(data["Eval"], class_num, "DataLoader.Eval", False)
    steps = len(train_loader)
    updates = -(-steps // g["update_freq"])  # optimizer steps per epoch
    optimizer, _ = build_optimizer(cfg["Optimizer"], network, updates, g["epochs"])

    start_epoch, resumed = 0, {}
    if g["checkpoints"]:
        resumed = load_checkpoint(g["checkpoints"], network, optimizer)
        start_epoch = int(resumed.get("epoch", 0))
        log(f"resumed from {g['checkpoints']}: {start_epoch} of {g['epochs']} epochs done, "
            f"learning rate {float(optimizer.get_lr()):.6g}")
    if start_epoch >= g["epochs"]:
        log(f"nothing to do: {start_epoch} epochs done, Global.epochs is {g['epochs']}")
        return {"run_dir": out, "vdl_dir": vdl_dir, "epochs_run": 0, "best_metric": resumed.get("best_metric"),
                "best_epoch": resumed.get("best_epoch"), "eval": {}}

    # everything is checked: from here on the run folder is this run's
    lock = RunLock(out).acquire() if paddle.distributed.ParallelEnv().local_rank == 0 else None
    if lock is not None:
        atomic_write(os.path.join(out, "config.yaml"), lambda tmp: _write_text(tmp, dump_config(cfg)))
    log(f"checkpoints: {out}/{{epoch_N,latest,best_model}}.pdparams")
    if g["use_visualdl"]:
        log(f"VisualDL logs: {vdl_dir}\nview them with: visualdl --logdir {vdl_dir} --port 8040")

    if g["to_static"]:
        network.forward = paddle.jit.to_static(network.forward, full_graph=True)
        log("Global.to_static: training through paddle.jit.to_static (static graph)")
    loss = build_loss(cfg["Loss"]["Train"])
    if g["update_freq"] > 1:
        loss = ScaledLoss(loss, g["update_freq"])
    metrics = _metrics(cfg, network)
    model = _paddle_model(cfg, network, loss, metrics, optimizer, amp_configs(g, cfg.get("AMP"), device))
    student = evaluated_member(network)
    best_by = metrics[0].name()[0] if isinstance(metrics[0].name(), list) else metrics[0].name()
    saver = CheckpointSaver(out, network, optimizer, g["epochs"], g["save_interval"], best_by, start_epoch=start_epoch,
                            resumed_meta=resumed, meta={"arch": cfg["Arch"]["name"]},
                            student=network.member(student) if student else None)
    eval_logs = {}

    class _KeepEval(paddle.callbacks.Callback):
        def on_eval_end(self, logs=None):
            eval_logs.update(logs or {})

    callbacks = [ProgBar(g["print_batch_step"], g["epochs"], start_epoch),
                 ShuffleByEpoch(train_loader.batch_sampler, start_epoch),
                 ReseedByEpoch(seed_everything, g["seed"], start_epoch),
                 NaNGuard(steps, start_epoch, checkpoint=os.path.join(out, "latest")),
                 saver, _KeepEval(),
                 EpochSummary(g["epochs"], start_epoch, g["eval_interval"] if eval_loader is not None else 0,
                              g["start_eval_epoch"])]
    if g["use_visualdl"]:
        logger = VisualDLLogger(vdl_dir, start_epoch, start_epoch * steps)
        # the extras share the logger's writer, which the logger closes at the end: extras first
        extras = VisualDLExtras(logger, shown_network(network), g["image_shape"], hyper_parameters(cfg), eval_loader,
                                start_epoch=start_epoch)
        callbacks[1:1] = [extras, logger]
    callbacks.append(AccumulatedLRStep(g["update_freq"], steps))
    if cfg.get("EMA"):
        callbacks.append(ModelEMA(network, cfg["EMA"]["decay"], g["update_freq"], steps))
    callbacks += list(extra_callbacks)
    eval_loader, callbacks, verbose = _evaluate_from(g["start_eval_epoch"], start_epoch, eval_loader, callbacks)
    try:
        model.fit(train_loader, eval_loader, epochs=g["epochs"] - start_epoch, eval_freq=g["eval_interval"],
                  accumulate_grad_batches=g["update_freq"], log_freq=g["print_batch_step"], verbose=verbose,
                  callbacks=callbacks)
    finally:
        if lock is not None:
            lock.release()
    summary = {"run_dir": out, "vdl_dir": vdl_dir, "epochs_run": g["epochs"] - start_epoch,
               "best_metric": saver.best, "best_epoch": saver.best_epoch, "eval": eval_logs,
               "train_dataset": train_entry["name"]}
    if saver.best is not None:
        log(f"best {saver.metric} {saver.best:.4f} at epoch {saver.best_epoch}; weights: {out}/best_model.pdparams")
        if fraction and data.get("Eval"):  # as Keras: the best validation checkpoint on the test set
            load_pretrained_weights(network, os.path.join(out, "best_model.pdparams"))
            test_loader, _ = build_loader(data["Eval"], class_num, "DataLoader.Eval", False)
            logs = model.evaluate(test_loader, log_freq=g["print_batch_step"], verbose=1)
            summary["test"] = {k: float(v[0] if isinstance(v, (list, tuple)) else v) for k, v in logs.items()}
            log(f"best_model on DataLoader.Eval: {summary['test']}")
    return summary


def evaluate(cfg):
    """Evaluate ``Global.pretrained_model`` (or ``Global.checkpoints``) on ``DataLoader.Eval``.

    Uses ``Loss.Eval`` (``Loss.Train`` if absent). Returns paddle's eval logs as floats:
    ``{"loss": ..., "acc_top1": ..., "acc_top5": ..., "dataset": name}``.
    """
    g = cfg["Global"]
    set_device(g["device"])
    weights = g["pretrained_model"] or g["checkpoints"]
    if not weights:
        raise ConfigError("Global.pretrained_model: nothing to evaluate; pass -o Global.pretrained_model=PATH "
                          "(a .pdparams file or its prefix, e.g. output/oct_mobilenet/best_model)")
    if not cfg["DataLoader"].get("Eval"):
        raise ConfigError("DataLoader.Eval: the config has no eval split to evaluate on")
    loader, entry = build_loader(cfg["DataLoader"]["Eval"], cfg["Arch"].get("num_classes"), "DataLoader.Eval",
                                 False)
    network = build_model(cfg["Arch"], pretrained=False)
    load_pretrained_weights(network, weights)
    loss = build_loss(cfg["Loss"].get("Eval") or cfg["Loss"]["Train"], member=evaluated_member(network))
    model = _paddle_model(cfg, network, loss, _metrics(cfg, network))
    logs = model.evaluate(loader, log_freq=g["print_batch_step"], verbose=1)
    result = {k: float(v[0] if isinstance(v, (list, tuple)) else v) for k, v in logs.items()}
    result["dataset"] = entry["name"]
    return result


#: Old name of :func:`train_classifier` (``paddle_conv.engine.train`` dispatches on the task).
train = train_classifier
