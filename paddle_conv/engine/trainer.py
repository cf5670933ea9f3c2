"""Train (:func:`train_classifier`) and evaluate (:func:`evaluate`) a classifier of a validated config
with ``paddle.Model``; a run writes ``<Global.output_dir>/<Arch.name>/``: checkpoints ``epoch_N``,
``latest``, ``best_model``, the ``config.yaml`` as run and VisualDL logs in ``vdl/``."""

import functools
import os
import random
from pathlib import Path

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
from ..device import resolve_device, set_device
from ..errors import ConfigError
from ..io import RunLock, atomic_write
from ..models.distillation import DistillationModel
from ..notes import note_once
from .atomic_checkpoint import load_checkpoint
from .callbacks import CheckpointSaver, EpochSummary, NaNGuard, ProgBar, ReseedByEpoch, VisualDLLogger
from .member_outputs import for_paddle_model
from .paddleclas_features import AccumulatedLRStep, EvalFrom, ModelEMA, ProgressiveStages, ScaledLoss
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
    """``paddle.Model`` of ``network``, prepared with ``loss``, ``metrics`` (and ``optimizer``, ``amp``)."""
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
    """The member of a DistillationModel that metrics and eval losses measure (``Student``), else None."""
    return network.eval_member_name if isinstance(network, DistillationModel) else None


def shown_network(network):
    """The network VisualDL shows: a DistillationModel's evaluated (else exported, else first) member."""
    if not isinstance(network, DistillationModel):
        return network
    return network.member(network.eval_member_name or network.infer_model_name or network.member_names[0])


def amp_configs(global_cfg, amp=None, device=None):
    """``paddle.Model.prepare``'s ``amp_configs`` of ``AMP`` (or ``Global.use_amp``) on a GPU ``device``
    (default ``Global.device``); None (float32, with a note) on CPU, where autocast does nothing."""
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


def fresh_unique_names(fn):
    """Run ``fn`` in a fresh ``unique_name`` scope: optimizer-state names (``conv2d_0.w_0_velocity_0``)
    key ``.pdopt`` and would differ in a second run in the same process."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paddle.utils.unique_name.guard():
            return fn(*args, **kwargs)

    return wrapper


def _start_network(cfg):
    """The network of ``Arch``, with ``Global.pretrained_model``'s weights unless resuming."""
    g = cfg["Global"]
    network = build_model(cfg["Arch"])
    if g["pretrained_model"] and not g["checkpoints"]:
        load_pretrained_weights(network, g["pretrained_model"])
        for layer in network.sublayers():  # e.g. Arch.refocus.basis random_*: the trained kernels are not the basis
            if hasattr(layer, "reset_random_basis"):
                layer.reset_random_basis()
    return network


def _train_loaders(cfg):
    """``(train loader, its data set entry, eval loader or None)``; with ``DataLoader.validation_split``
    the eval loader reads a held-out part of Train (Eval, the test set, is run at the end)."""
    g, data = cfg["Global"], cfg["DataLoader"]
    num_classes = cfg["Arch"].get("num_classes")
    fraction = data.get("validation_split")
    eval_loader = None
    if fraction:
        train_set, val_set, used = split_for_validation(data["Train"], data.get("Eval"), fraction, g["seed"],
                                                        num_classes)
        train_loader, train_entry = build_loader(data["Train"], num_classes, "DataLoader.Train", True,
                                                 built=(train_set, used), seed=g["seed"])
        if g["eval_during_train"]:
            eval_loader, _ = build_loader(data.get("Eval") or data["Train"], num_classes,
                                          "DataLoader.validation_split", False, built=(val_set, used))
    else:
        train_loader, train_entry = build_loader(data["Train"], num_classes, "DataLoader.Train", True,
                                                 seed=g["seed"])
        if g["eval_during_train"] and data.get("Eval"):
            eval_loader, _ = build_loader(data["Eval"], num_classes, "DataLoader.Eval", False)
    return train_loader, train_entry, eval_loader


def _resume(g, network, optimizer):
    """``(epochs done, checkpoint metadata)`` after loading ``Global.checkpoints``; ``(0, {})`` without."""
    if not g["checkpoints"]:
        return 0, {}
    resumed = load_checkpoint(g["checkpoints"], network, optimizer)
    start_epoch = int(resumed.get("epoch", 0))
    log(f"resumed from {g['checkpoints']}: {start_epoch} of {g['epochs']} epochs done, "
        f"learning rate {float(optimizer.get_lr()):.6g}")
    return start_epoch, resumed


def _claim_run_dir(cfg, out):
    """Lock the run folder ``out`` and write the config into it on rank 0 (the lock, else None)."""
    lock = RunLock(out).acquire() if paddle.distributed.ParallelEnv().local_rank == 0 else None
    if lock is not None:
        text = dump_config(cfg)
        atomic_write(os.path.join(out, "config.yaml"), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    log(f"checkpoints: {out}/{{epoch_N,latest,best_model}}.pdparams")
    if cfg["Global"]["use_visualdl"]:
        vdl_dir = os.path.join(out, "vdl")
        log(f"VisualDL logs: {vdl_dir}\nview them with: visualdl --logdir {vdl_dir} --port 8040")
    return lock


def static_training_forward(network):
    """``Global.to_static``: train-mode forward through ``paddle.jit.to_static`` (``forward.static``), eval
    eager (a static eval program keeps Paddle's slow kernels and retraces per batch size)."""
    eager, static = network.forward, paddle.jit.to_static(network.forward, full_graph=True)

    def forward(*inputs, **kwargs):
        return (static if network.training else eager)(*inputs, **kwargs)

    forward.static = static
    network.forward = forward


def _training_model(cfg, network, optimizer, device):
    """The ``paddle.Model`` that trains ``network`` with ``optimizer`` on ``device``."""
    g = cfg["Global"]
    if g["to_static"]:
        static_training_forward(network)
        log("Global.to_static: training through paddle.jit.to_static (static graph), evaluating in dygraph")
    loss = build_loss(cfg["Loss"]["Train"])
    if g["update_freq"] > 1:
        loss = ScaledLoss(loss, g["update_freq"])
    return _paddle_model(cfg, network, loss, _metrics(cfg, network), optimizer, amp_configs(g, cfg.get("AMP"), device))


def _callbacks(cfg, network, train_loader, eval_loader, start_epoch, out, saver):
    """The trainer's ``paddle.Model.fit`` callbacks, in order, around ``saver``."""
    g = cfg["Global"]
    steps = len(train_loader)
    callbacks = [ProgBar(g["print_batch_step"], g["epochs"], start_epoch),
                 ReseedByEpoch(train_loader.batch_sampler, seed_everything, g["seed"], start_epoch),
                 NaNGuard(steps, start_epoch, checkpoint=os.path.join(out, "latest")),
                 saver,
                 EpochSummary(g["epochs"], start_epoch, g["eval_interval"] if eval_loader is not None else 0,
                              g["start_eval_epoch"])]
    if g["use_visualdl"]:
        logger = VisualDLLogger(os.path.join(out, "vdl"), start_epoch, start_epoch * steps)
        # the extras share the logger's writer, which the logger closes at the end: extras first
        extras = VisualDLExtras(logger, shown_network(network), g["image_shape"], hyper_parameters(cfg), eval_loader,
                                start_epoch=start_epoch)
        callbacks[1:1] = [extras, logger]
    callbacks.append(AccumulatedLRStep(g["update_freq"], steps))
    if g["train_mode"] == "progressive":  # before the epoch's batches are drawn (the loader iterates after)
        callbacks.insert(0, ProgressiveStages(train_loader.dataset, g["epochs"], start_epoch))
    if cfg.get("EMA"):
        callbacks.append(ModelEMA(network, cfg["EMA"]["decay"], g["update_freq"], steps))
    return callbacks


def _test_best_model(cfg, model, network, out):
    """As Keras: the best validation checkpoint on ``DataLoader.Eval`` (the test set); its logs as floats."""
    load_pretrained_weights(network, os.path.join(out, "best_model.pdparams"))
    test_loader, _ = build_loader(cfg["DataLoader"]["Eval"], cfg["Arch"].get("num_classes"), "DataLoader.Eval", False)
    logs = model.evaluate(test_loader, log_freq=cfg["Global"]["print_batch_step"], verbose=1)
    test = {k: float(v[0] if isinstance(v, (list, tuple)) else v) for k, v in logs.items()}
    log(f"best_model on DataLoader.Eval: {test}")
    return test


def _evaluate_from(first, start_epoch, eval_loader, callbacks):
    """``(eval_loader, callbacks, fit's verbose)`` gated by :class:`EvalFrom` before epoch ``first``."""
    if eval_loader is None or first <= start_epoch + 1:
        return eval_loader, callbacks, 1
    gate = EvalFrom(first, start_epoch)
    callbacks = [gate] + [c if isinstance(c, paddle.callbacks.LRScheduler) else gate.wrap(c) for c in callbacks]
    return gate.loader(eval_loader), callbacks, 0  # 0: the wrapped ProgBar prints (fit would add its own)


@fresh_unique_names
def train_classifier(cfg, extra_callbacks=()):
    """Train the model of a validated ``cfg``, resuming from ``Global.checkpoints`` if set; return
    ``{run_dir, vdl_dir, epochs_run, best_metric, best_epoch, eval, ...}``. ``extra_callbacks`` run
    after the trainer's own. Raises TrainingDivergedError on a NaN/Inf loss."""
    g = cfg["Global"]
    device = set_device(g["device"])
    seed_everything(g["seed"])
    out = run_dir(cfg)
    vdl_dir = os.path.join(out, "vdl")
    network = _start_network(cfg)  # first: weights that cannot be had stop the run before any data work
    train_loader, train_entry, eval_loader = _train_loaders(cfg)
    updates = -(-len(train_loader) // g["update_freq"])  # optimizer steps per epoch
    optimizer, _ = build_optimizer(cfg["Optimizer"], network, updates, g["epochs"])
    start_epoch, resumed = _resume(g, network, optimizer)
    if start_epoch >= g["epochs"]:
        log(f"nothing to do: {start_epoch} epochs done, Global.epochs is {g['epochs']}")
        return {"run_dir": out, "vdl_dir": vdl_dir, "epochs_run": 0, "best_metric": resumed.get("best_metric"),
                "best_epoch": resumed.get("best_epoch"), "eval": {}}

    lock = _claim_run_dir(cfg, out)  # everything is checked: from here on the run folder is this run's
    model = _training_model(cfg, network, optimizer, device)
    student = evaluated_member(network)
    best_by = _metrics(cfg, network)[0].name()  # best_model's: the first eval metric's first name, as PaddleClas
    saver = CheckpointSaver(out, network, optimizer, g["epochs"], g["save_interval"],
                            best_by[0] if isinstance(best_by, list) else best_by, start_epoch=start_epoch,
                            resumed_meta=resumed, meta={"arch": cfg["Arch"]["name"]},
                            student=network.member(student) if student else None)
    callbacks = _callbacks(cfg, network, train_loader, eval_loader, start_epoch, out, saver)
    epoch_summary = next(c for c in callbacks if isinstance(c, EpochSummary))
    eval_loader, callbacks, verbose = _evaluate_from(g["start_eval_epoch"], start_epoch, eval_loader,
                                                     callbacks + list(extra_callbacks))
    try:
        model.fit(train_loader, eval_loader, epochs=g["epochs"] - start_epoch, eval_freq=g["eval_interval"],
                  accumulate_grad_batches=g["update_freq"], log_freq=g["print_batch_step"], verbose=verbose,
                  callbacks=callbacks)
    finally:
        if lock is not None:
            lock.release()
    summary = {"run_dir": out, "vdl_dir": vdl_dir, "epochs_run": g["epochs"] - start_epoch,
               "best_metric": saver.best, "best_epoch": saver.best_epoch, "eval": epoch_summary.eval_logs,
               "train_dataset": train_entry["name"]}
    if saver.best is not None:
        log(f"best {saver.metric} {saver.best:.4f} at epoch {saver.best_epoch}; weights: {out}/best_model.pdparams")
        if cfg["DataLoader"].get("validation_split") and cfg["DataLoader"].get("Eval"):
            summary["test"] = _test_best_model(cfg, model, network, out)
    return summary


def evaluate(cfg):
    """Evaluate ``Global.pretrained_model`` (or ``checkpoints``) on ``DataLoader.Eval`` with ``Loss.Eval``
    (else ``Loss.Train``); ``{"loss", "acc_top1", ..., "dataset"}`` as floats."""
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

