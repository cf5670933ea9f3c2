"""Global.update_freq (gradient accumulation), EMA and Global.to_static in training (tiny Digits runs);
Global.train_mode: progressive's stages (trained on a real config in tests/tools/test_paddleclas_real_configs.py)."""

import os
from types import SimpleNamespace

import numpy as np
import paddle
import pytest
from paddle.vision.transforms import Compose

from paddle_conv.config import load_config
from paddle_conv.data.augment import RandAugmentV2
from paddle_conv.data.paddleclas_ops import RandCropImage
from paddle_conv.engine import evaluate, train
from paddle_conv.engine.paddleclas_features import ProgressiveStages
from paddle_conv.engine.trainer import train_classifier
from paddle_conv.errors import ConfigError
from paddle_conv.state_dict import read_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(ROOT, "configs", "digits_quick.yaml")


def config(out, *extra, samples=64):
    return load_config(QUICK, [f"Global.output_dir={out}", "Global.epochs=1", "Global.use_visualdl=false",
                               f"DataLoader.Train.dataset.max_samples={samples}",
                               "DataLoader.Train.sampler.batch_size=16", "DataLoader.Eval.dataset.max_samples=32",
                               *extra])


class Snapshots(paddle.callbacks.Callback):
    """The network's trainable parameters before training and after every training batch."""

    def __init__(self):
        super().__init__()
        self.after, self.losses = [], []

    def _weights(self):
        return [p.numpy().copy() for p in self.model.network.parameters() if not p.stop_gradient]

    def on_train_batch_end(self, step, logs=None):
        self.after.append(self._weights())
        self.losses.append(float(np.ravel(logs["loss"])[0]))

    def on_train_begin(self, logs=None):
        self.static = getattr(self.model.network.forward, "static", None)  # after the VisualDL graph is written
        self.before = self._weights()


def changed(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(a, b))


def test_update_freq_steps_the_optimizer_every_k_batches(tmp_path):
    snaps = Snapshots()
    train(config(tmp_path, "Global.update_freq=2", "Global.eval_during_train=false"), extra_callbacks=[snaps])
    states = [snaps.before, *snaps.after]
    moved = [changed(states[i], states[i + 1]) for i in range(4)]
    assert moved == [False, True, False, True]


def test_ema_evaluates_and_saves_best_model_on_the_average(tmp_path):
    summary = train(config(tmp_path, "EMA.decay=0.5"))
    run = summary["run_dir"]
    best = read_state_dict(os.path.join(run, "best_model.pdparams"), "best")
    latest = read_state_dict(os.path.join(run, "latest.pdparams"), "latest")
    assert any(not np.array_equal(np.asarray(best[k]), np.asarray(latest[k])) for k in latest)
    again = evaluate(config(tmp_path, f"Global.pretrained_model={run}/best_model"))
    assert again["acc_top1"] == pytest.approx(summary["eval"]["acc_top1"], abs=1e-6)


def test_to_static_trains_through_a_static_graph_like_dygraph(tmp_path):
    static, dygraph = Snapshots(), Snapshots()
    args = ("DataLoader.Train.sampler.shuffle=false",)
    # VisualDL on: its graph, written at train begin, must not replace the trainer's full-graph forward
    train(config(tmp_path / "static", "Global.to_static=true", "Global.use_visualdl=true", *args, samples=32),
          extra_callbacks=[static])
    assert type(static.static).__name__ == "ASTStaticFunction"
    assert len(static.static.program_cache) == 1  # the training program only: evaluation ran eager
    train(config(tmp_path / "dygraph", *args, samples=32), extra_callbacks=[dygraph])
    assert dygraph.static is None
    np.testing.assert_allclose(static.losses, dygraph.losses, rtol=1e-4)  # same math, same steps


class Evaluations(paddle.callbacks.Callback):
    """The epochs (1-based) after which the trainer's callbacks saw an evaluation."""

    def __init__(self):
        super().__init__()
        self.epoch, self.evaluated = 0, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_eval_end(self, logs=None):
        self.evaluated.append(self.epoch)


def test_start_eval_epoch_skips_earlier_evaluations_and_best_model(tmp_path):
    """PaddleClas's Global.start_eval_epoch: evaluations (and best_model) from that epoch on only."""
    seen = Evaluations()
    cfg = config(tmp_path, "Global.epochs=3", "Global.start_eval_epoch=3", samples=32)
    summary = train_classifier(cfg, extra_callbacks=[seen])
    assert seen.evaluated == [3] and summary["best_epoch"] == 3
    seen = Evaluations()
    train_classifier(config(tmp_path / "from1", "Global.epochs=2", "Global.start_eval_epoch=1", samples=32),
                     extra_callbacks=[seen])
    assert seen.evaluated == [1, 2]


def test_progressive_stages_are_paddleclas_s_and_a_resumed_run_starts_in_its_stage():
    crop = RandCropImage(171, progress_size=[171, 214, 257, 300])
    augment = RandAugmentV2(magnitude=5, progress_magnitude=[5.0, 8.0, 11.0, 15.0])
    assert crop.size == (171, 171) and augment.level == 0.5  # the plain loop: size and magnitude
    dataset = SimpleNamespace(transform=Compose([crop, augment]))
    stages = ProgressiveStages(dataset, epochs=350)
    assert stages.bounds == [87, 175, 262, 350]  # int(350 * k / 4), as train_progressive.py
    assert [stages.stage_of(e) for e in (1, 87, 88, 175, 176, 262, 263, 350)] == [0, 0, 1, 1, 2, 2, 3, 3]
    ProgressiveStages(dataset, epochs=350, start_epoch=200).on_epoch_begin(0)  # epoch 201
    assert crop.size == (257, 257) and augment.level == pytest.approx(1.1)
    with pytest.raises(ConfigError, match="RandCropImage.progress_size and RandAugmentV2.progress_magnitude"):
        ProgressiveStages(SimpleNamespace(transform=Compose([augment])), epochs=4)
