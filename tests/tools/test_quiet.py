"""The tools' start: Paddle's known noise kept back, our own warnings never; one line per epoch."""

import types
import warnings

import pytest

from paddle_conv.engine.callbacks import EpochSummary
from tools.quiet import PADDLE_NOISE, quiet_unless_verbose


def _warn(message, module):
    warnings.warn_explicit(message, UserWarning, filename=f"{module.replace('.', '/')}.py", lineno=1, module=module)


@pytest.mark.parametrize("argv, shown", [(["train.py", "-c", "x.yaml"], 1), (["train.py", "--verbose"], 3)])
def test_known_paddle_warnings_are_filtered_unless_verbose(argv, shown, monkeypatch):
    monkeypatch.delenv("GLOG_minloglevel", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_unless_verbose(argv)
        _warn("When training, we now always track global mean and variance.", "paddle.nn.layer.norm")
        _warn("No ccache found. Please be aware ...", "paddle.utils.cpp_extension.extension_utils")
        _warn("When training, we now always track global mean and variance.", "paddle_conv.layers.octconv")
    assert len(caught) == shown  # the same text from our own module is never hidden
    assert all(module.startswith(r"paddle\.") for _, module in PADDLE_NOISE)


def test_one_summary_line_per_epoch_after_its_evaluation(capsys):
    summary = EpochSummary(total_epochs=12, start_epoch=2, eval_every=2)
    summary.set_model(types.SimpleNamespace(_optimizer=types.SimpleNamespace(get_lr=lambda: 0.001)))
    summary.on_epoch_begin(0)
    summary.on_epoch_end(0, {"loss": [0.5], "acc_top1": 0.75, "step": 3})
    assert capsys.readouterr().out == ""  # fit evaluates after epoch 0: the line waits for it
    summary.on_eval_end({"loss": [0.25], "acc_top1": 0.875})
    summary.on_epoch_begin(1)
    summary.on_epoch_end(1, {"loss": [0.4]})  # no evaluation after this one
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("epoch 3/12: train loss 0.5000 acc_top1 0.7500 | "
                            "eval loss 0.2500 acc_top1 0.8750 | lr 0.001 | ")
    assert second.startswith("epoch 4/12: train loss 0.4000 | lr 0.001 | ")
