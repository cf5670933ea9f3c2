"""create_model(name, pretrained=...) through the model cards, offline: files placed where the error says."""

import re
from pathlib import Path

import numpy as np
import paddle
import pytest
import torch

import paddle_conv as pc
from paddle_conv.errors import WeightsError
from paddle_conv.factory import weights_table
from weights_bridge import create_reference

ROOT = Path(__file__).resolve().parents[2]



def _place_where_the_error_says(name, pretrained, file_bytes_from):
    with pytest.raises(WeightsError) as info:
        pc.create_model(name, pretrained=pretrained)
    where = Path(re.search(r"put it at (\S+) ", str(info.value)).group(1))
    where.parent.mkdir(parents=True, exist_ok=True)
    file_bytes_from(where)
    return where


def _same_logits(model, reference, size):
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype("float32")
    model.eval()
    with paddle.no_grad():
        ours = model(paddle.to_tensor(x)).numpy()
    with torch.no_grad():
        theirs = reference(torch.from_numpy(x)).numpy()
    # relative to the output's scale: random deep nets give large logits (float32 rounding grows with them)
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def test_oct_resnet50_d_li14_file_gives_d_li14_logits(offline):
    torch.manual_seed(0)
    reference = create_reference("oct_resnet50").eval()

    def write(path):  # the layout of d-li14's files: PyTorch's ImageNet script, DataParallel keys
        torch.save({"epoch": 120, "arch": "oct_resnet50", "best_acc1": torch.tensor(77.64),
                    "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)

    where = _place_where_the_error_says("oct_resnet50", True, write)
    assert re.fullmatch(r"oct_resnet50_imagenet_cosine_dli14-[0-9a-f]{16}\.pth", where.name)
    model = pc.create_model("oct_resnet50", pretrained=True)
    _same_logits(model, reference, 64)
    assert len(list((offline / "converted").glob("oct_resnet50-imagenet_cosine-*.pdparams"))) == 1


def test_named_weights_set_the_class_count(offline):
    torch.manual_seed(1)
    reference = create_reference("cct_7_3x1_32", num_classes=100).eval()
    _place_where_the_error_says("cct_7_3x1_32", "cifar100_300ep", lambda p: torch.save(reference.state_dict(), p))
    model = pc.create_model("cct_7_3x1_32", pretrained="cifar100_300ep")
    _same_logits(model, reference, 32)
    rows = {(r["model"], r["name"]): r for r in pc.list_pretrained("cct_7_3x1_32")}
    assert rows["cct_7_3x1_32", "cifar100_300ep"]["cached"] and not rows["cct_7_3x1_32", "cifar10_300ep"]["cached"]


def test_models_without_weights_say_so(offline):
    with pytest.raises(WeightsError, match="has no published weights"):
        pc.create_model("tiny_cnn", pretrained=True)
    assert "tiny_cnn" not in pc.list_models(pretrained=True)
    assert "oct_resnet50" in pc.list_models(pretrained=True)


def test_every_entry_names_a_registered_model_once():
    seen = set()
    for row in pc.list_pretrained():
        assert (row["model"], row["name"]) not in seen
        seen.add((row["model"], row["name"]))
        card = pc.model_card(row["model"])
        assert card.task == "classification" or row["model"].startswith("ssd")


@pytest.mark.parametrize("doc", ["docs/pretrained.md"])  # README.md points there (it stays under 10,000 characters)
def test_weights_table_in_docs_is_generated_from_the_cards(doc):
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert weights_table() in text, f"regenerate the table in {doc} with: python -c \"from paddle_conv.factory " \
                                    "import weights_table; print(weights_table())\""


@pytest.mark.parametrize("name", pc.list_models(task="classification"))
def test_card_classifier_is_the_layer_that_has_the_class_count(name):
    """The classifier swap of pretrained weights relies on it."""
    with paddle.LazyGuard():
        model = pc.create_model(name, num_classes=7)
    prefix = pc.model_card(name).classifier + "."
    head = {k: list(v.shape) for k, v in model.state_dict().items() if k.startswith(prefix)}
    assert head and all(shape[-1] == 7 for shape in head.values()), head
