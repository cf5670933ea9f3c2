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


def _tiny_dataset(root, n):
    """``n`` 32x32 RGB images of 4 classes (class = brightness level) and a PaddleClas list file."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        label = i % 4
        pixels = np.clip(rng.normal(40 + 60 * label, 10, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, f"{i}.png"))
        lines.append(f"{i}.png {label}")
    list_file = os.path.join(root, "list.txt")
    with open(list_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    return list_file


@pytest.mark.skipif(ppcls_arch is None or not ppcls_arch.__name__.startswith("ppcls"),
                    reason="PaddleClas's engine (a PaddleClas 2.6 source checkout: ppcls/ and tools/) is not on "
                           "PYTHONPATH; the PyPI wheel has no engine")
def test_paddleclas_tools_train_trains_a_paddle_conv_model(tmp_path):
    tools_train = os.path.join(os.path.dirname(os.path.dirname(ppcls_arch.__file__)), "..", "tools", "train.py")
    tools_train = os.path.abspath(tools_train)
    if not os.path.isfile(tools_train):
        pytest.skip(f"PaddleClas's tools/train.py is not next to ppcls/ ({tools_train})")
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "paddle_conv.deploy.paddleclas", tools_train, "-c", str(config_file)],
                         capture_output=True, text=True, env=env, timeout=600)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "[Train][Epoch 1/1][Avg]" in log and "[Eval][Epoch 1][Avg]" in log
    # PaddleClas's own checkpoint holds our model's parameter names
    state = safe_paddle_load(str(tmp_path / "out" / "latest.pdparams"))
    assert set(state) == set(pc.create_model("oct_mobilenet", num_classes=4).state_dict())
