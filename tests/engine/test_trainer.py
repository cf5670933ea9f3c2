"""paddle_conv.engine.trainer: what a run leaves behind does not depend on what ran before it in the process."""

import os

import paddle

from paddle_conv.config import load_config
from paddle_conv.engine.trainer import train_classifier

QUICK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs",
                     "digits_quick.yaml")


class ParameterNames(paddle.callbacks.Callback):
    """The names of the trained network's parameters (they key the optimizer state in ``.pdopt``)."""

    def on_train_begin(self, logs=None):
        self.names = [p.name for p in self.model.network.parameters()]


def test_a_second_run_in_one_process_names_its_parameters_as_the_first(tmp_path):
    runs = []
    for out in (tmp_path / "first", tmp_path / "second"):
        seen = ParameterNames()
        cfg = load_config(QUICK, [f"Global.output_dir={out}", "Global.epochs=1", "Global.use_visualdl=false",
                                  "DataLoader.Train.dataset.max_samples=16", "DataLoader.Train.sampler.batch_size=8",
                                  "DataLoader.Eval.dataset.max_samples=16"])
        train_classifier(cfg, extra_callbacks=[seen])
        runs.append(seen.names)
    assert runs[0] == runs[1] and runs[0][0].endswith("_0.w_0")  # else a resumed .pdopt misses its state
