"""configs/refconv_finetune.yaml through the training engine, then tools/reparameterize.py."""

import numpy as np
import paddle

from paddle_conv.build import build_model
from paddle_conv.config import load_config
from paddle_conv.engine import train
from paddle_conv.factory import create_model
from paddle_conv.io import safe_paddle_load
from paddle_conv.layers import RefConv2D
from tools.reparameterize import main as reparameterize_main
from tools.reparameterize import reparameterize_checkpoint

DIGITS = "{name: Digits, mode: %s, image_size: 16, max_samples: 64, transform_ops: [ToTensor: null]}"


def quick_config(tmp_path, pretrained):
    return load_config("configs/refconv_finetune.yaml", [
        "Global.epochs=1", f"Global.output_dir={tmp_path}/out", f"Arch.pretrained={pretrained}",
        "Global.image_shape=[3, 16, 16]", "Global.use_visualdl=false", "Global.print_batch_step=1",
        f"DataLoader.Train.dataset={DIGITS % 'train'}", f"DataLoader.Eval.dataset={DIGITS % 'test'}",
        "DataLoader.Train.sampler.batch_size=32", "DataLoader.Eval.sampler.batch_size=32",
        "DataLoader.Train.loader={num_workers: 0, use_shared_memory: false}",
        "DataLoader.Eval.loader={num_workers: 0, use_shared_memory: false}",
        "Optimizer.lr.warmup_epoch=0", "Optimizer.lr.learning_rate=0.05", "Arch.refocus.init=zero",
    ])


def test_refocus_finetune_trains_only_the_transforms_then_folds_exactly(tmp_path):
    paddle.seed(3)
    plain = create_model("oct_mobilenet", num_classes=10, alpha=0.5)
    paddle.save(plain.state_dict(), str(tmp_path / "plain.pdparams"))
    before = {k: v.numpy() for k, v in plain.state_dict().items()}
    cfg = quick_config(tmp_path, tmp_path / "plain")

    refocused = build_model(cfg["Arch"])
    bases = {f"{name}.weight" for name, layer in refocused.named_sublayers() if isinstance(layer, RefConv2D)}
    assert len(bases) > 10 and all(k in before for k in bases)

    train(cfg)
    after = {k: v.numpy() for k, v in safe_paddle_load(str(tmp_path / "out/oct_mobilenet/latest.pdparams")).items()}
    for key in bases:  # frozen bases: bit-identical to the trained kernels they came from
        assert np.array_equal(after[key], before[key]), key
        assert np.abs(after[key.replace(".weight", ".convmap.weight")]).max() > 0, key  # transforms learned
    others = [k for k in before if k not in bases and not k.endswith(("_mean", "_variance"))]
    assert others and all(np.array_equal(after[k], before[k]) for k in others)  # only_transforms: true

    result = reparameterize_checkpoint(cfg, str(tmp_path / "out/oct_mobilenet/latest"), str(tmp_path / "folded"))
    assert result["relative_diff"] <= 1e-5
    folded = create_model("oct_mobilenet", num_classes=10, alpha=0.5)
    state = safe_paddle_load(result["path"])
    assert {k: list(v.shape) for k, v in state.items()} == {k: list(v.shape) for k, v in folded.state_dict().items()}


def test_recipe_is_the_seeds():
    cfg = load_config("configs/refconv_finetune.yaml")
    assert cfg["Arch"]["refocus"] == {"min_kernel": 3, "map_k": 3, "only_transforms": True, "init": "xavier",
                                      "basis": "frozen"}
    ops = [next(iter(op)) for op in cfg["DataLoader"]["Train"]["dataset"]["transform_ops"]]
    assert ops[:2] == ["RandomResizedCrop", "RandomHorizontalFlip"]


def test_reparameterize_tool_rejects_a_config_without_refocus(tmp_path, capsys):
    paddle.save(create_model("oct_mobilenet", num_classes=10).state_dict(), str(tmp_path / "x.pdparams"))
    code = reparameterize_main(["-c", "configs/digits_quick.yaml", "--weights", str(tmp_path / "x"),
                                "--output", str(tmp_path / "y")])
    assert code == 2 and "Arch.refocus is not set" in capsys.readouterr().err
