"""register_into_ppcls with PaddleClas's own engine (runs only where PaddleClas is importable).

Verified with a PaddleClas 2.6.0 source checkout on PYTHONPATH and Paddle 3.3.1; the PyPI wheel
``paddleclas`` has no engine, so the engine test needs the source tree (``ppcls`` + ``tools``).
"""

import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

import paddle_conv as pc
from paddle_conv.deploy.paddleclas import loss_adapter, main, model_builder, register_into_ppcls
from paddle_conv.errors import ConfigError
from paddle_conv.io import safe_paddle_load
from paddle_conv.notes import NOTES

ppcls_arch = None
for _module in ("ppcls.arch", "paddleclas.ppcls.arch"):
    try:
        ppcls_arch = __import__(_module, fromlist=["build_model"])
        break
    except ImportError:
        pass
needs_ppcls = pytest.mark.skipif(
    ppcls_arch is None,
    reason="PaddleClas is not installed: put a PaddleClas 2.6 source checkout on PYTHONPATH "
           "(or pip install paddleclas for the arch-only part) to run these tests")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@needs_ppcls
def test_registered_models_build_through_paddleclas_build_model():
    report = register_into_ppcls()
    assert set(pc.list_models(task="classification")) <= set(report["models"]) | set(report["kept_ppcls"])
    assert not set(pc.list_models(task="detection")) & set(report["models"])
    assert register_into_ppcls()["models"] == report["models"]  # idempotent
    model = ppcls_arch.build_model({"Arch": {"name": "oct_mobilenet", "class_num": 7}, "Global": {"device": "cpu"}})
    assert isinstance(model, pc.models.OctMobileNet)
    assert model(paddle.randn([2, 3, 32, 32])).shape == [2, 7]


def test_builders_take_paddleclas_common_arch_keys_and_name_unknown_ones():
    """What PaddleClas's build_model passes: Arch minus name (ResNet50.yaml: pretrained; MobileNetV4: drop_rate)."""
    net = model_builder("oct_resnet26")(class_num=3, pretrained=False, drop_rate=0.2, drop_path_rate=0.1)
    net.eval()
    assert net(paddle.randn([1, 3, 32, 32])).shape == [1, 3]
    with pytest.raises(ConfigError, match=r"Arch\.pretrained: true: oct_resnet26 has no published weights"):
        model_builder("oct_resnet26")(class_num=3, pretrained=True)
    with pytest.raises(ConfigError, match=r"Arch\.use_sync_b: unknown key 'use_sync_b' for model oct_resnet26"):
        model_builder("oct_resnet26")(class_num=3, use_sync_b=True)
    with pytest.raises(ConfigError, match=r"Arch\.drop_path_rate: oct_mobilenet has no residual blocks"):
        model_builder("oct_mobilenet")(class_num=3, drop_path_rate=0.1)


def test_builders_honour_paddleclas_model_keys():
    """ConvNeXt's head_init_scale, VGG's stop_grad_layers and another family's keys reach build_arch here too
    (use_sync_bn never does: PaddleClas's build_model pops it and converts the BN layers itself)."""
    paddle.seed(0)
    net = model_builder("tiny_cnn")(class_num=3, head_init_scale=0.0, stop_grad_layers=2, layer_scale_init_value=1e-6)
    assert not net.fc.weight.numpy().any()
    assert net.stages[1].parameters() and not any(p.trainable for p in net.stages[1].parameters())
    assert net.stages[2][0][0].weight.trainable and net.fc.weight.trainable
    with pytest.raises(ConfigError, match=r"Arch\.layer_type: 'DiverseBranchBlock' sets ResNet's"):
        model_builder("tiny_cnn")(class_num=3, layer_type="DiverseBranchBlock")


def test_builders_read_arch_as_tools_train_does(capsys):
    """PaddleClas's model keys (MobileNetV4_hybrid_*.yaml: use_fused_attn) mean what they mean in our route."""
    net = model_builder("oct_resnet26")(class_num=3, use_fused_attn=False, classifier_dropout=0.1)
    assert "note: Arch.use_fused_attn:" in capsys.readouterr().err
    def classifier_hooks(network):
        return len([layer for layer in network.sublayers() if isinstance(layer, paddle.nn.Linear)][-1]
                   ._forward_pre_hooks)

    assert classifier_hooks(net) == 1  # classifier_dropout is drop_rate's dropout
    assert classifier_hooks(model_builder("oct_resnet26")(class_num=3)) == 0
    with pytest.raises(ConfigError, match=r"Arch\.data_format: expected 'NCHW' or 'NHWC', got 'NCWH'"):
        model_builder("oct_resnet26")(class_num=3, data_format="NCWH")
    NOTES.clear()  # notes print once per process: an earlier test may have printed this one
    model_builder("oct_resnet26")(class_num=3, data_format="NHWC")  # PaddleClas's layout choice: a note
    assert "note: Arch.data_format: PaddleClas's channel-last layout" in capsys.readouterr().err
    model_builder("oct_resnet26")(class_num=3, pretrained=False, use_ssld=True)  # no SSLD weights: a note
    assert "note: Arch.use_ssld:" in capsys.readouterr().err


def test_loss_adapter_returns_paddleclas_loss_dict():
    class Mean(paddle.nn.Layer):
        def forward(self, logits, label):
            return logits.mean() + 0 * label.astype("float32").sum()

    if "_test_mean" not in pc.losses.LOSSES.names():
        pc.losses.LOSSES.register(Mean, name="_test_mean")
    loss = loss_adapter("_test_mean")()
    logits, label = paddle.ones([2, 3]), paddle.zeros([2, 1], "int64")
    out = loss({"logits": logits}, label)
    assert list(out) == ["_test_mean"] and float(out["_test_mean"]) == 1.0
    assert float(loss(logits * 2, label)["_test_mean"]) == 2.0


def test_launcher_rejects_a_non_script():
    assert main(["not_a_script"]) == 2


def _tiny_dataset(root, n, size=32, name="list.txt"):
    """``n`` ``size``x``size`` RGB PNGs of 4 classes (class = brightness level) and a PaddleClas list file."""
    rng = np.random.default_rng(len(name) + n)
    lines = []
    for i in range(n):
        label = i % 4
        pixels = np.clip(rng.normal(40 + 60 * label, 10, (size, size, 3)), 0, 255).astype(np.uint8)
        image = f"{os.path.splitext(name)[0]}_{i}.png"
        Image.fromarray(pixels).save(os.path.join(root, image))
        lines.append(f"{image} {label}")
    list_file = os.path.join(root, name)
    with open(list_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    return list_file


needs_ppcls_engine = pytest.mark.skipif(
    ppcls_arch is None or not ppcls_arch.__name__.startswith("ppcls"),
    reason="PaddleClas's engine (a PaddleClas 2.6 source checkout: ppcls/ and tools/) is not on "
           "PYTHONPATH; the PyPI wheel has no engine")


def _ppcls_file(*parts):
    """A file of the PaddleClas checkout (the folder above ``ppcls/``); skips when it is not there."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(ppcls_arch.__file__))))
    path = os.path.join(checkout, *parts)
    if not os.path.isfile(path):
        pytest.skip(f"the PaddleClas checkout has no {os.path.join(*parts)} ({path})")
    return path


def _run_ppcls(script, config_file, overrides):
    """``python -m paddle_conv.deploy.paddleclas PaddleClas/tools/<script> -c CONFIG -o ...``: (rc, log)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "paddle_conv.deploy.paddleclas", _ppcls_file("tools", script),
               "-c", str(config_file)]
    for override in overrides:
        command += ["-o", override]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return run.returncode, run.stdout + run.stderr


@needs_ppcls_engine
def test_paddleclas_tools_train_trains_a_paddle_conv_model(tmp_path):
    list_file = _tiny_dataset(str(tmp_path), 16)
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False}},
           {"NormalizeImage": {"scale": "1.0/255.0", "mean": [0.5] * 3, "std": [0.5] * 3, "order": ""}}]
    split = {"dataset": {"name": "ImageNetDataset", "image_root": str(tmp_path), "cls_label_path": list_file,
                         "transform_ops": ops},
             "sampler": {"name": "DistributedBatchSampler", "batch_size": 8, "drop_last": False, "shuffle": False},
             "loader": {"num_workers": 0, "use_shared_memory": False}}
    config = {
        "Global": {"checkpoints": None, "pretrained_model": None, "output_dir": str(tmp_path / "out"),
                   "device": "cpu", "save_interval": 1, "eval_during_train": True, "eval_interval": 1,
                   "epochs": 1, "print_batch_step": 1, "use_visualdl": False, "image_shape": [3, 32, 32]},
        "Arch": {"name": "oct_mobilenet", "class_num": 4},
        "Loss": {"Train": [{"CELoss": {"weight": 1.0}}], "Eval": [{"CELoss": {"weight": 1.0}}]},
        "Optimizer": {"name": "Adam", "lr": {"name": "Constant", "learning_rate": 0.001}},
        "DataLoader": {"Train": split, "Eval": split},
        "Metric": {"Train": [{"TopkAcc": {"topk": [1, 2]}}], "Eval": [{"TopkAcc": {"topk": [1, 2]}}]},
    }
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump(config))
    rc, log = _run_ppcls("train.py", config_file, [])
    assert rc == 0, log[-3000:]
    assert "[Train][Epoch 1/1][Avg]" in log and "[Eval][Epoch 1][Avg]" in log
    # PaddleClas's own checkpoint holds our model's parameter names
    state = safe_paddle_load(str(tmp_path / "out" / "latest.pdparams"))
    assert set(state) == set(pc.create_model("oct_mobilenet", num_classes=4).state_dict())


#: Real PaddleClas configs and ``-o`` overrides that shrink their images to 32x32 (index = position in
#: transform_ops): ResNet50.yaml (Momentum, Piecewise, pretrained: True) and MobileNetV4_hybrid_medium.yaml
#: (drop_rate, drop_path_rate, use_fused_attn, AMP, EMA, AdamW + Cosine warm-up, TimmAutoAugment,
#: RandomErasing, Mixup/CutMix).
REAL_CONFIGS = {
    "ResNet/ResNet50.yaml": ["DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32"],
    "MobileNetV4/MobileNetV4_hybrid_medium.yaml": ["DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
                                                "DataLoader.Train.dataset.transform_ops.3.TimmAutoAugment.img_size=32"],
}


def _real_config_overrides(tmp_path, config):
    """The model, 4 classes, a generated 64x64 image list, batch 8, one epoch on the CPU, 32x32 crops."""
    train_list = _tiny_dataset(str(tmp_path), 32, size=64, name="train.txt")
    val_list = _tiny_dataset(str(tmp_path), 16, size=64, name="val.txt")
    overrides = ["Arch.name=oct_resnet26", "Arch.class_num=4", "Arch.pretrained=False", "Global.device=cpu",
                 "Global.epochs=1", f"Global.output_dir={tmp_path / 'out'}", "Global.image_shape=[3,32,32]",
                 f"Global.save_inference_dir={tmp_path / 'inference'}",
                 "DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=36",
                 "DataLoader.Eval.dataset.transform_ops.2.CropImage.size=32", *REAL_CONFIGS[config]]
    for split, list_file in (("Train", train_list), ("Eval", val_list)):
        overrides += [f"DataLoader.{split}.dataset.image_root={tmp_path}",
                      f"DataLoader.{split}.dataset.cls_label_path={list_file}",
                      f"DataLoader.{split}.sampler.batch_size=8", f"DataLoader.{split}.loader.num_workers=0"]
    return overrides


@needs_ppcls_engine
@pytest.mark.parametrize("config", sorted(REAL_CONFIGS))
def test_paddleclas_engine_trains_evaluates_and_exports_oct_resnet26_on_a_real_config(tmp_path, config):
    """PaddleClas's own train.py, eval.py and export_model.py on a real config, through our launcher."""
    config_file = _ppcls_file("ppcls", "configs", "ImageNet", *config.split("/"))
    overrides = _real_config_overrides(tmp_path, config)
    rc, log = _run_ppcls("train.py", config_file, overrides)
    assert rc == 0, log[-3000:]
    assert "[Train][Epoch 1/1][Avg]" in log and "[Eval][Epoch 1][Avg]" in log
    best = tmp_path / "out" / "best_model"  # PaddleClas 2.6 saves in Global.output_dir itself
    net = pc.create_model("oct_resnet26", num_classes=4)
    state = safe_paddle_load(f"{best}.pdparams")
    assert set(state) == set(net.state_dict())
    net.set_state_dict(state)

    rc, log = _run_ppcls("eval.py", config_file, [*overrides, f"Global.pretrained_model={best}"])
    assert rc == 0, log[-3000:]
    assert "[Eval][Epoch 0][Avg]" in log and "top1:" in log

    rc, log = _run_ppcls("export_model.py", config_file, [*overrides, f"Global.pretrained_model={best}"])
    assert rc == 0, log[-3000:]
    exported = paddle.jit.load(str(tmp_path / "inference" / "inference"))
    exported.eval()
    net.eval()
    images = paddle.randn([2, 3, 32, 32])
    np.testing.assert_allclose(exported(images).numpy(), paddle.nn.functional.softmax(net(images)).numpy(),
                               rtol=1e-4, atol=1e-5)


@needs_ppcls_engine
def test_paddleclas_engine_names_arch_pretrained_true_of_a_model_without_weights(tmp_path):
    """ResNet50.yaml says ``pretrained: True``; oct_resnet26 has no published weights: one error line, status 2."""
    overrides = [o for o in _real_config_overrides(tmp_path, "ResNet/ResNet50.yaml") if o != "Arch.pretrained=False"]
    rc, log = _run_ppcls("train.py", _ppcls_file("ppcls", "configs", "ImageNet", "ResNet", "ResNet50.yaml"),
                         overrides)
    assert rc == 2, log[-3000:]
    assert "Traceback" not in log
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: PaddleClas config: Arch.pretrained: true: oct_resnet26 has no published weights"), log[-3000:]
