import inspect

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.errors import ConfigError
from paddle_conv.layers import sinusoidal_embedding
from paddle_conv.models.cct import cct_config

# Trainable parameter counts of SHI-Labs/Compact-Transformers' models, 10 classes.
UPSTREAM_COUNTS = [
    ("cct_2_3x2_32", "learnable", 283_723),
    ("cct_4_3x2_32", "learnable", 482_123),
    ("cct_6_3x1_32", "learnable", 3_233_803),
    ("cct_7_3x1_32", "learnable", 3_760_139),
    ("cct_7_3x1_32", "none", 3_694_603),
    ("cct_7_3x2_32", "learnable", 3_853_259),
]


def trainable(model):
    return sum(int(p.numel()) for p in model.parameters() if not p.stop_gradient)


@pytest.mark.parametrize("name,embedding,count", UPSTREAM_COUNTS)
def test_parameter_counts_equal_upstream(name, embedding, count):
    model = pc.create_model(name, num_classes=10, positional_embedding=embedding)
    assert trainable(model) == count


def test_the_family_is_registered():
    names = set(pc.list_models("cct_*")) - {"cct_keras_cifar"}
    assert len(names) == 18 and {f"{n}_sine" for n in names if not n.endswith("_sine")} <= names
    assert "7 transformer layers" in pc.registry.MODELS.get("cct_7_3x1_32").__doc__
    for name in names:  # the name says the configuration; the card says the class count the builder takes
        config = cct_config(name)
        assert name.startswith(f"cct_{config['num_layers']}_{config['kernel_size']}x{config['n_conv_layers']}_"
                               f"{config['img_size']}")
        card, builder = pc.model_card(name), pc.registry.MODELS.get(name)
        assert card.input_size[1] == config["img_size"]
        assert inspect.signature(builder).parameters["num_classes"].default == card.num_classes


def test_sine_embedding_is_fixed_and_not_trained():
    model = pc.create_model("cct_7_3x1_32_sine", num_classes=10)
    assert trainable(model) == 3_760_139 - 256 * 256  # no 16x16 grid of 256-d tokens to train
    assert all("positional" not in name for name, _ in model.named_parameters())
    state = model.state_dict()
    assert state["classifier.positional_emb"].shape == [1, 256, 256]  # kept in the upstream layout
    np.testing.assert_array_equal(state["classifier.positional_emb"].numpy(),
                                  sinusoidal_embedding(256, 256).numpy())
    before = model.classifier.positional_emb.numpy().copy()
    opt = paddle.optimizer.AdamW(learning_rate=0.1, parameters=model.parameters())
    loss = model(paddle.randn([2, 3, 32, 32])).mean()
    loss.backward()
    opt.step()
    np.testing.assert_array_equal(model.classifier.positional_emb.numpy(), before)


@pytest.mark.parametrize("name", ["cct_2_3x2_32", "cct_2_3x2_32_sine"])
def test_other_image_size_on_the_fly_equals_resized_once(name):
    paddle.seed(0)
    model = pc.create_model(name, num_classes=10)
    model.eval()
    count = trainable(model)
    x = paddle.randn([2, 3, 48, 48])
    on_the_fly = model(x).numpy()
    model.resize_pos_embed(48)
    assert model.classifier.positional_emb.shape == [1, 12 * 12, 128]  # was 8 x 8
    np.testing.assert_allclose(model(x).numpy(), on_the_fly, rtol=1e-5, atol=1e-6)
    if name.endswith("_sine"):
        np.testing.assert_array_equal(model.classifier.positional_emb.numpy(),
                                      sinusoidal_embedding(144, 128).numpy())
        assert trainable(model) == count
    else:
        assert trainable(model) == count + (144 - 64) * 128


def test_on_the_fly_resize_trains_the_stored_embedding():
    model = pc.create_model("cct_2_3x2_32", num_classes=3)
    model(paddle.randn([1, 3, 48, 48])).sum().backward()
    grad = model.classifier.positional_emb.grad
    assert grad is not None and grad.shape == [1, 64, 128] and float(grad.abs().sum()) > 0


def test_224_model_runs_at_224_and_160():
    model = pc.create_model("cct_7_7x2_224")
    model.eval()
    with paddle.no_grad():
        assert model(paddle.randn([1, 3, 224, 224])).shape == [1, 102]
        at_160 = model(paddle.randn([1, 3, 160, 160]))
    assert at_160.shape == [1, 102] and bool(paddle.isfinite(at_160).all())
    assert model.classifier.position_embedding((10, 10)).shape == [1, 100, 256]


@pytest.mark.parametrize("name,size", [("cct_14_7x2_224", 224), ("cct_14_7x2_384", 384)])
def test_imagenet_models_run_at_their_size(name, size):
    model = pc.create_model(name, num_classes=5)
    model.eval()
    assert model.classifier.positional_emb.shape == [1, (size // 16) ** 2, 384]
    with paddle.no_grad():
        assert model(paddle.randn([1, 3, size, size])).shape == [1, 5]


def test_no_position_embedding_runs_on_any_size_and_bad_input_is_explained():
    model = pc.create_model("cct_2_3x2_32", positional_embedding="none")
    assert model(paddle.randn([1, 3, 20, 28])).shape == [1, 10]
    with pytest.raises(ConfigError, match="positional_embedding"):
        pc.create_model("cct_2_3x2_32", positional_embedding="sin")
    with pytest.raises(ValueError, match="no tokens"):
        pc.models.CCT(img_size=2, kernel_size=3, stride=1, padding=0, num_layers=1)


def test_exports_for_a_fixed_image_size_and_explains_dynamic_ones(tmp_path):
    from paddle_conv.deploy.inference import Predictor, export_model

    model = pc.create_model("cct_2_3x2_32")
    model.eval()
    export_model(model, str(tmp_path / "cct"), (None, 3, 48, 48))  # resized embedding baked in
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 48)).astype("float32")
    out = Predictor(str(tmp_path / "cct"))(x)
    out = out[0] if isinstance(out, (list, tuple)) else out
    np.testing.assert_allclose(np.asarray(out), model(paddle.to_tensor(x)).numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="fixed ones"):
        export_model(model, str(tmp_path / "dynamic"), (None, 3, None, None))


def test_initialisation_follows_upstream():
    paddle.seed(0)
    model = pc.create_model("cct_4_3x2_32")
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    assert state["classifier.blocks.0.self_attn.qkv.weight"].std() == pytest.approx(0.02, rel=0.05)
    assert state["classifier.fc.weight"].std() == pytest.approx(0.02, rel=0.2)
    assert not state["classifier.blocks.3.linear2.bias"].any()
    assert state["classifier.positional_emb"].std() == pytest.approx(0.2, rel=0.05)
    assert (state["classifier.blocks.1.norm1.weight"] == 1).all()
    conv = state["tokenizer.conv_layers.1.0.weight"]  # Kaiming normal: std sqrt(2 / fan_in)
    assert conv.std() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
