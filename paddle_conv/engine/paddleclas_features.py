"""PaddleClas's training features on top of ``paddle.Model.fit``: ``EMA`` (:class:`ModelEMA`),
``Global.update_freq`` (:class:`ScaledLoss`, :class:`AccumulatedLRStep`), ``Global.start_eval_epoch``
(:class:`EvalFrom`) and ``Global.train_mode: progressive`` (:class:`ProgressiveStages`)."""

import paddle

from ..console import log
from ..errors import ConfigError


class ScaledLoss(paddle.nn.Layer):
    """``loss(*args) / k``: each of ``k`` accumulated batches contributes 1/k of the gradient."""

    def __init__(self, loss, k):
        super().__init__()
        self.loss, self.k = loss, k

    def forward(self, *args):
        return self.loss(*args) / self.k


class AccumulatedLRStep(paddle.callbacks.LRScheduler):
    """Step the optimizer's LRScheduler once every ``update_freq`` training batches (and at an
    epoch's last batch, where ``paddle.Model`` also updates)."""

    def __init__(self, update_freq, steps_per_epoch):
        super().__init__(by_step=True, by_epoch=False)
        self.update_freq, self.steps = update_freq, steps_per_epoch

    def on_train_batch_end(self, step, logs=None):
        if (step + 1) % self.update_freq == 0 or step + 1 == self.steps:
            super().on_train_batch_end(step, logs)


class ModelEMA(paddle.callbacks.Callback):
    """Exponential moving average of ``network``'s whole state, swapped in for evaluation (put it after the
    checkpoint saver, so ``best_model`` holds the average, as PaddleClas's)."""

    def __init__(self, network, decay, update_freq=1, steps_per_epoch=None):
        super().__init__()
        self.network, self.decay, self.update_freq, self.steps = network, decay, update_freq, steps_per_epoch
        self.shadow = {k: v.detach().clone() for k, v in network.state_dict().items()}
        self._raw = None

    @paddle.no_grad()
    def update(self):
        """``shadow = decay * shadow + (1 - decay) * current`` (integer buffers are copied)."""
        for name, value in self.network.state_dict().items():
            if paddle.is_floating_point(value):
                self.shadow[name].set_value(self.decay * self.shadow[name] + (1.0 - self.decay) * value)
            else:
                self.shadow[name].set_value(value)

    def on_train_batch_end(self, step, logs=None):
        if (step + 1) % self.update_freq == 0 or (self.steps is not None and step + 1 == self.steps):
            self.update()

    def on_eval_begin(self, logs=None):
        self._raw = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        self.network.set_state_dict(self.shadow)

    def on_eval_end(self, logs=None):
        if self._raw is not None:
            self.network.set_state_dict(self._raw)
            self._raw = None


class EvalFrom(paddle.callbacks.Callback):
    """No evaluation before epoch ``first`` (1-based): the gate empties the eval loader (:meth:`loader`) and
    hides those evaluations from the callbacks it wraps (:meth:`wrap`). Put it first in the list."""

    def __init__(self, first, start_epoch=0):
        super().__init__()
        self.first, self.start_epoch, self.done = first, start_epoch, start_epoch

    @property
    def closed(self):
        """Whether the evaluation after the epoch just trained is skipped."""
        return self.done < self.first

    def on_epoch_end(self, epoch, logs=None):
        self.done = self.start_epoch + epoch + 1

    def loader(self, loader):
        return _GatedLoader(loader, self)

    def wrap(self, callback):
        return _GatedCallback(callback, self)


class _GatedLoader:
    """``loader``, with no batches while ``gate`` is closed."""

    def __init__(self, loader, gate):
        self.loader, self.gate = loader, gate

    def __len__(self):
        return 0 if self.gate.closed else len(self.loader)

    def __iter__(self):
        return iter(()) if self.gate.closed else iter(self.loader)


class _GatedCallback:
    """``callback`` without the evaluation hooks (``on_eval_*``) while ``gate`` is closed."""

    def __init__(self, callback, gate):
        self.callback, self.gate = callback, gate

    def __getattr__(self, name):  # paddle.Model calls a callback's hooks by name
        if name.startswith("on_eval") and self.gate.closed:
            return _skipped
        return getattr(self.callback, name)


def _skipped(*args, **kwargs):
    return None


class ProgressiveStages(paddle.callbacks.Callback):
    """EfficientNetV2's progressive learning (PaddleClas's ``train_progressive.py``): epochs fall into ``S``
    stages bounded at ``int(epochs * k / S)``; each stage sets the ``dataset``'s crop size
    (``progress_size``) and RandAugmentV2's magnitude (``progress_magnitude``) before its epochs."""

    def __init__(self, dataset, epochs, start_epoch=0):
        super().__init__()
        while getattr(dataset, "transform", None) is None and hasattr(dataset, "dataset"):  # through a Subset
            dataset = dataset.dataset
        transforms = list(getattr(getattr(dataset, "transform", None), "transforms", None) or ())  # of a Compose
        self.crop = next((op for op in transforms if getattr(op, "progress_size", None)), None)
        self.augment = next((op for op in transforms if getattr(op, "progress_magnitude", None)), None)
        if self.crop is None or self.augment is None:
            raise ConfigError("Global.train_mode: progressive needs DataLoader.Train.dataset's transform_ops with "
                              "RandCropImage.progress_size and RandAugmentV2.progress_magnitude; this data set "
                              "has no such ops: remove Global.train_mode")
        stages = len(self.crop.progress_size)
        self.bounds = [int(epochs * (k + 1) / stages) for k in range(stages)]
        self.start_epoch, self.stage = start_epoch, None

    def stage_of(self, epoch):
        """The stage (0-based) of ``epoch`` (1-based)."""
        return sum(epoch > bound for bound in self.bounds)

    def on_epoch_begin(self, epoch=None, logs=None):
        stage = self.stage_of(self.start_epoch + epoch + 1)
        if stage == self.stage:
            return
        size, magnitude = self.crop.progress_size[stage], self.augment.progress_magnitude[stage]
        self.crop.size = (size, size)
        self.augment.set_magnitude(magnitude)
        self.stage = stage
        log(f"Training stage: [{stage + 1}/{len(self.bounds)}] (random_aug_magnitude={magnitude}, "
            f"train_image_size={size})")
