import os

import paddle
import pytest

from paddle_conv.config import load_config
from paddle_conv.device import available_device, resolve_device, set_device
from paddle_conv.engine import trainer
from paddle_conv.errors import ConfigError

QUICK = os.path.join(os.path.dirname(__file__), "..", "configs", "digits_quick.yaml")


@pytest.fixture
def fake_gpus(monkeypatch):
    """A Paddle build compiled with CUDA that sees ``n`` GPUs; paddle.set_device records its argument."""
    chosen = []

    def install(n):
        monkeypatch.setattr(paddle.device, "is_compiled_with_cuda", lambda: True)
        monkeypatch.setattr(paddle.device.cuda, "device_count", lambda: n)
        monkeypatch.setattr(paddle, "set_device", chosen.append)
        return chosen
    return install


def _strip_device(path, tmp_path):
    text = "".join(line for line in open(path) if not line.strip().startswith("device:"))
    out = tmp_path / "no_device.yaml"
    out.write_text(text)
    return str(out)


def test_config_without_device_runs_on_the_gpu_when_paddle_sees_one(fake_gpus, tmp_path, capsys):
    chosen = fake_gpus(1)
    g = load_config(_strip_device(QUICK, tmp_path))["Global"]
    assert g["device"] == "auto"
    assert set_device(g["device"]) == "gpu:0"
    assert chosen == ["gpu:0"]
    assert "device: gpu:0 (Global.device: auto)" in capsys.readouterr().out
    assert available_device() == "gpu"
    assert trainer.amp_configs({"use_amp": True, "device": "auto"}) == {"level": "O1",
                                                                        "use_dynamic_loss_scaling": True}


def test_gpu_index_beyond_the_visible_gpus_is_a_clear_error(fake_gpus):
    fake_gpus(1)
    assert resolve_device("gpu") == resolve_device("gpu:0") == "gpu:0"
    with pytest.raises(ConfigError, match=r"Global\.device: cannot use 'gpu:1': this machine has 1 GPU\(s\), "
                                          r"gpu:0\.\.gpu:0; use -o Global\.device=gpu:0 or auto"):
        resolve_device("gpu:1")
    fake_gpus(2)
    assert resolve_device("gpu:1") == "gpu:1"


def test_auto_is_the_cpu_without_cuda_and_gpu_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(paddle.device, "is_compiled_with_cuda", lambda: False)
    assert resolve_device("auto") == resolve_device("cpu") == "cpu"
    assert set_device("auto") == "cpu"
    assert "device: cpu (Global.device: auto)" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"cannot use 'gpu' with this Paddle build.*Global\.device=auto"):
        resolve_device("gpu")


@pytest.mark.parametrize("bad", ["tpu", "gpu:-1", "gpu:x", "cuda:0"])
def test_malformed_device_is_refused_by_the_schema(bad):
    with pytest.raises(ConfigError, match=r"Global\.device.*'auto', 'cpu', 'gpu' or 'gpu:N'"):
        load_config(QUICK, [f"Global.device={bad}"])
    with pytest.raises(ConfigError, match="use auto, cpu, gpu or gpu:N"):
        resolve_device(bad)
