"""``paddle.Model.fit`` callbacks of the trainer: checkpoints, NaN guard, logging with resume offsets.

Each callback takes ``start_epoch`` (epochs already done when resuming), so epoch numbers,
VisualDL steps and the shuffling order continue where the interrupted run stopped.
"""

import math
import os
import time

import numpy as np
import paddle

from ..console import log
from ..errors import PaddleConvError
from ..io import atomic_json_save, atomic_write
from .atomic_checkpoint import load_checkpoint_meta, save_checkpoint


class TrainingDivergedError(PaddleConvError):
    """The training loss became NaN or infinite."""


def current_lr(model):
    """The learning rate the optimizer of ``paddle.Model`` ``model`` uses now."""
    return float(model._optimizer.get_lr())


class ProgBar(paddle.callbacks.ProgBarLogger):
    """Paddle's progress bar, printing ``Epoch k/N`` of the whole run after a resume."""

    def __init__(self, log_freq, total_epochs, start_epoch=0, verbose=1):
        super().__init__(log_freq=log_freq, verbose=verbose)
        self.total_epochs, self.start_epoch = total_epochs, start_epoch

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.epochs = self.total_epochs

    def on_epoch_begin(self, epoch=None, logs=None):
        super().on_epoch_begin(self.start_epoch + epoch, logs)


def _format_logs(logs):
    parts = []
    for key, value in (logs or {}).items():
        if key in ("step", "batch_size"):
            continue
        value = value[0] if isinstance(value, (list, tuple)) else value
        if isinstance(value, (int, float, np.floating, np.integer)):
            parts.append(f"{key} {float(value):.4f}")
    return " ".join(parts)


class EpochSummary(paddle.callbacks.Callback):
    """One line per epoch, after its evaluation when there is one: training and evaluation
    metrics, learning rate and time, e.g.
    ``epoch 3/12: train loss 0.4211 acc_top1 0.8750 | eval loss 0.3012 acc_top1 0.9415 | lr 0.001 | 41 s``.

    Args:
        total_epochs, start_epoch: as :class:`ProgBar` (resume offsets).
        eval_every: evaluation interval in epochs (0: no evaluation), as ``fit``'s ``eval_freq``.
        first_eval: no evaluation before this epoch (1-based; ``Global.start_eval_epoch``).
    """

    def __init__(self, total_epochs, start_epoch=0, eval_every=0, first_eval=0):
        super().__init__()
        self.total_epochs, self.start_epoch, self.eval_every = total_epochs, start_epoch, eval_every
        self.first_eval = first_eval
        self.epoch, self.started, self.train_logs = 0, 0.0, {}

    def on_epoch_begin(self, epoch=None, logs=None):
        self.epoch, self.started = epoch, time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.train_logs = dict(logs or {})
        evaluated = self.eval_every and not epoch % self.eval_every  # fit evaluates when epoch % eval_freq == 0
        if not evaluated or self.start_epoch + epoch + 1 < self.first_eval:
            self._print(None)

    def on_eval_end(self, logs=None):
        self._print(logs)

    def _print(self, eval_logs):
        epoch = self.start_epoch + self.epoch + 1
        parts = [f"epoch {epoch}/{self.total_epochs}: train {_format_logs(self.train_logs)}"]
        if eval_logs is not None:
            parts.append(f"eval {_format_logs(eval_logs)}")
        parts += [f"lr {current_lr(self.model):.6g}", f"{time.time() - self.started:.0f} s"]
        log(" | ".join(parts))


class VisualDLLogger(paddle.callbacks.VisualDL):
    """``paddle.callbacks.VisualDL`` plus the learning rate (``train/lr``), with resume offsets.

    Scalars: ``train/loss``, ``train/acc_top1``, ... and ``train/lr`` per step; ``eval/loss``,
    ``eval/acc_top1``, ``eval/acc_top5`` per epoch (step = 0-based epoch).
    """

    def __init__(self, log_dir, start_epoch=0, start_step=0):
        super().__init__(log_dir)
        self.start_epoch, self.start_step = start_epoch, start_step

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.train_step = self.start_step

    def on_epoch_begin(self, epoch=None, logs=None):
        super().on_epoch_begin(self.start_epoch + epoch, logs)

    def on_train_batch_end(self, step, logs=None):
        super().on_train_batch_end(step, logs)  # runs before paddle's LRScheduler steps the rate
        if self._is_write():
            self.writer.add_scalar(tag="train/lr", step=self.train_step, value=current_lr(self.model))


class ShuffleByEpoch(paddle.callbacks.Callback):
    """Set the batch sampler's epoch, so each epoch's order is fixed (resume-proof)."""

    def __init__(self, batch_sampler, start_epoch=0):
        super().__init__()
        self.batch_sampler, self.start_epoch = batch_sampler, start_epoch

    def on_epoch_begin(self, epoch=None, logs=None):
        self.batch_sampler.set_epoch(self.start_epoch + epoch)


class ReseedByEpoch(paddle.callbacks.Callback):
    """Re-seed every random generator at the start of each epoch from ``(seed, epoch)``.

    The random augmentations and dropout of epoch ``e`` then draw the same numbers whether the
    run started at epoch 0 or resumed at ``e`` from a checkpoint (which holds no RNG state),
    so a resumed run reproduces the loss curve of an uninterrupted one.

    Args:
        seed_everything: ``f(seed)`` seeding Python's, NumPy's and Paddle's generators.
        seed: ``Global.seed``.
        start_epoch: epochs already done when resuming.
    """

    def __init__(self, seed_everything, seed, start_epoch=0):
        super().__init__()
        self.seed_everything, self.seed, self.start_epoch = seed_everything, seed, start_epoch

    def on_epoch_begin(self, epoch=None, logs=None):
        state = np.random.SeedSequence([self.seed, self.start_epoch + epoch]).generate_state(1)[0]
        self.seed_everything(int(state))


class NaNGuard(paddle.callbacks.Callback):
    """Stop with :class:`TrainingDivergedError` when a step's loss is NaN or infinite.

    The error names the epoch, the step and the learning rate, and the last good checkpoint
    (``latest`` is only written at the end of an epoch whose losses were all finite).
    """

    def __init__(self, steps_per_epoch, start_epoch=0, checkpoint=None):
        super().__init__()
        self.steps_per_epoch, self.start_epoch, self.checkpoint = steps_per_epoch, start_epoch, checkpoint
        self.epoch = start_epoch

    def on_epoch_begin(self, epoch=None, logs=None):
        self.epoch = self.start_epoch + epoch

    def on_train_batch_end(self, step, logs=None):
        loss = (logs or {}).get("loss")
        value = float(loss[0] if isinstance(loss, (list, tuple)) else loss)
        if math.isfinite(value):
            return
        global_step = self.epoch * self.steps_per_epoch + step + 1
        good = self.checkpoint if self.checkpoint and os.path.exists(self.checkpoint + ".json") else None
        keep = (f"the last good checkpoint is {good} (resume: -o Global.checkpoints={good})" if good
                else "no checkpoint was written yet")
        raise TrainingDivergedError(
            f"training loss is {value} at epoch {self.epoch + 1}, step {step + 1} (global step {global_step}) "
            f"with learning rate {current_lr(self.model):.6g}; training stopped and {keep}. "
            "Lower Optimizer.lr.learning_rate (e.g. -o Optimizer.lr.learning_rate=...), add warmup_epoch, "
            "or check the data for NaN/Inf")


class CheckpointSaver(paddle.callbacks.Callback):
    """Write ``epoch_N`` (every ``save_interval`` epochs), ``latest`` and ``best_model`` atomically.

    Each is ``<run_dir>/<tag>.pdparams``/``.pdopt``/``.json``; the JSON holds ``epoch`` (epochs
    completed), the best eval metric so far and, for ``best_model``, its metric. Only rank 0 writes.

    Args:
        run_dir: folder of the checkpoints.
        network: the ``paddle.nn.Layer`` being trained (not the DataParallel wrapper).
        optimizer: its optimizer (learning-rate scheduler state included).
        total_epochs: epochs of the whole run.
        save_interval: write ``epoch_N`` when ``N % save_interval == 0`` (and at the last epoch).
        metric: eval log key that ranks ``best_model`` (higher is better).
        start_epoch: epochs done before this run (resume).
        resumed_meta: the JSON of the checkpoint resumed from (carries the best metric so far).
        meta: extra JSON fields for every checkpoint (e.g. the architecture name).
        student: a DistillationModel's Student member: ``best_model`` also writes its weights alone to
            ``best_model_student.pdparams`` (as PaddleClas; a later stage's member ``pretrained``).
    """

    def __init__(self, run_dir, network, optimizer, total_epochs, save_interval=1, metric="acc_top1",
                 start_epoch=0, resumed_meta=None, meta=None, student=None):
        super().__init__()
        self.run_dir, self.network, self.optimizer, self.student = run_dir, network, optimizer, student
        self.total_epochs, self.save_interval, self.metric = total_epochs, save_interval, metric
        self.start_epoch, self.meta = start_epoch, dict(meta or {})
        resumed_meta = resumed_meta or {}
        self.best, self.best_epoch = resumed_meta.get("best_metric"), resumed_meta.get("best_epoch")
        self.done = start_epoch

    def path(self, tag):
        return os.path.join(self.run_dir, tag)

    def _meta(self, **extra):
        return {**self.meta, "epoch": self.done, "epochs": self.total_epochs, "metric": self.metric,
                "best_metric": self.best, "best_epoch": self.best_epoch, **extra}

    def _is_writer(self):
        return paddle.distributed.ParallelEnv().local_rank == 0

    def on_epoch_end(self, epoch, logs=None):
        self.done = self.start_epoch + epoch + 1
        if not self._is_writer():
            return
        loss = (logs or {}).get("loss")
        meta = self._meta(train_loss=float(loss[0]) if isinstance(loss, (list, tuple)) else loss)
        if self.done % self.save_interval == 0 or self.done == self.total_epochs:
            save_checkpoint(self.path(f"epoch_{self.done}"), self.network, self.optimizer, meta)
        save_checkpoint(self.path("latest"), self.network, self.optimizer, meta)

    def on_eval_end(self, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None or not self._is_writer():
            return
        value = float(value[0] if isinstance(value, (list, tuple)) else value)
        if self.best is None or value > self.best:
            self.best, self.best_epoch = value, self.done
            save_checkpoint(self.path("best_model"), self.network, self.optimizer, self._meta())
            if self.student is not None:
                atomic_write(self.path("best_model_student.pdparams"),
                             lambda tmp: paddle.save(self.student.state_dict(), tmp))
        latest = load_checkpoint_meta(self.path("latest"))
        latest.update(best_metric=self.best, best_epoch=self.best_epoch, eval={self.metric: value})
        atomic_json_save(latest, self.path("latest") + ".json")
