"""``paddle.Model.fit`` callbacks of the trainer; ``start_epoch`` (epochs done before a resume) keeps
epoch numbers, VisualDL steps and the shuffling order continuing where the run stopped."""

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
    """One line per epoch (after its evaluation, if any; ``eval_every`` 0: none, ``first_eval``: the
    first evaluated epoch), e.g. ``epoch 3/12: train loss 0.4211 | eval acc_top1 0.9415 | lr 0.001 | 41 s``;
    ``eval_logs``: the last evaluation's logs."""

    def __init__(self, total_epochs, start_epoch=0, eval_every=0, first_eval=0):
        super().__init__()
        self.total_epochs, self.start_epoch, self.eval_every = total_epochs, start_epoch, eval_every
        self.first_eval = first_eval
        self.epoch, self.started, self.train_logs, self.eval_logs = 0, 0.0, {}, {}

    def on_epoch_begin(self, epoch=None, logs=None):
        self.epoch, self.started = epoch, time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.train_logs = dict(logs or {})
        evaluated = self.eval_every and not epoch % self.eval_every  # fit evaluates when epoch % eval_freq == 0
        if not evaluated or self.start_epoch + epoch + 1 < self.first_eval:
            self._print(None)

    def on_eval_end(self, logs=None):
        self.eval_logs.update(logs or {})
        self._print(logs)

    def _print(self, eval_logs):
        epoch = self.start_epoch + self.epoch + 1
        parts = [f"epoch {epoch}/{self.total_epochs}: train {_format_logs(self.train_logs)}"]
        if eval_logs is not None:
            parts.append(f"eval {_format_logs(eval_logs)}")
        parts += [f"lr {current_lr(self.model):.6g}", f"{time.time() - self.started:.0f} s"]
        log(" | ".join(parts))


class VisualDLLogger(paddle.callbacks.VisualDL):
    """``paddle.callbacks.VisualDL`` plus the learning rate per step (``train/lr``), with resume offsets."""

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


class ReseedByEpoch(paddle.callbacks.Callback):
    """At each epoch set the batch sampler's epoch (a fixed order) and re-seed every generator
    (``seed_everything``) from ``(seed, epoch)``, so a resumed run draws the same order, augmentations and
    dropout as an uninterrupted one."""

    def __init__(self, batch_sampler, seed_everything, seed, start_epoch=0):
        super().__init__()
        self.batch_sampler, self.seed_everything, self.seed = batch_sampler, seed_everything, seed
        self.start_epoch = start_epoch

    def on_epoch_begin(self, epoch=None, logs=None):
        self.batch_sampler.set_epoch(self.start_epoch + epoch)
        state = np.random.SeedSequence([self.seed, self.start_epoch + epoch]).generate_state(1)[0]
        self.seed_everything(int(state))


class NaNGuard(paddle.callbacks.Callback):
    """Stop with :class:`TrainingDivergedError`, naming the step and the last good checkpoint, when a
    step's loss is NaN or infinite."""

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
    """On rank 0, write ``epoch_N`` (every ``save_interval`` epochs and the last), ``latest`` and
    ``best_model`` (highest ``metric``) under ``run_dir``, with ``meta`` in each JSON; ``resumed_meta``
    carries the best so far; ``student`` (a DistillationModel's member) is also saved alone with
    ``best_model``, as ``best_model_student.pdparams``."""

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
