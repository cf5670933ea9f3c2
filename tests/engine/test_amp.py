import os

from paddle_conv.config import load_config
from paddle_conv.engine.trainer import amp_configs

QUICK = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "digits_quick.yaml")


def test_use_amp_is_float16_autocast_on_gpu_and_float32_on_cpu(capsys):
    gpu = load_config(QUICK, ["Global.use_amp=true", "Global.device=gpu"])["Global"]
    assert amp_configs(gpu) == {"level": "O1", "use_dynamic_loss_scaling": True}
    cpu = load_config(QUICK, ["Global.use_amp=true"])["Global"]
    assert amp_configs(cpu) is None
    assert "mixed precision needs a GPU" in capsys.readouterr().out
    assert amp_configs(load_config(QUICK)["Global"]) is None  # off by default
