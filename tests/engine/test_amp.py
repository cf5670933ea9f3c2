import os

from paddle_conv.config import load_config
from paddle_conv.engine.trainer import amp_configs
from paddle_conv.notes import NOTES

QUICK = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "digits_quick.yaml")


def test_use_amp_is_float16_autocast_on_gpu_and_float32_on_cpu():
    gpu = load_config(QUICK, ["Global.use_amp=true", "Global.device=gpu"])["Global"]
    assert amp_configs(gpu) == {"level": "O1", "use_dynamic_loss_scaling": True}
    cpu = load_config(QUICK, ["Global.use_amp=true"])["Global"]
    assert amp_configs(cpu) is None
    assert "mixed precision needs a GPU" in NOTES["Global.use_amp"]  # printed once on stderr as a note
    assert amp_configs(load_config(QUICK)["Global"]) is None  # off by default


def test_amp_section_sets_level_and_loss_scaling():
    cfg = load_config(QUICK, ["Global.device=gpu", "AMP={use_amp: true, level: O2, scale_loss: 128.0, "
                              "use_dynamic_loss_scaling: false, use_promote: true}"])
    assert amp_configs(cfg["Global"], cfg["AMP"]) == {"level": "O2", "use_dynamic_loss_scaling": False,
                                                      "init_loss_scaling": 128.0}
    amp = dict(cfg["AMP"], use_promote=False, use_fp16_test=True)
    amp_configs(cfg["Global"], amp)
    assert "promotes" in NOTES["AMP.use_promote"] and "float32" in NOTES["AMP.use_fp16_test"]
    off = load_config(QUICK, ["AMP={use_amp: false}"])
    assert amp_configs(off["Global"], off["AMP"]) is None
