import dataclasses

import pytest

import paddle_conv as pc
from paddle_conv.errors import PaddleConvError, UnknownNameError
from paddle_conv.registry import Registry
from tests.registry_cases import family_cases


def test_register_and_build():
    reg = Registry("widget")

    @reg.register
    def small(width=1):
        return ("small", width)

    reg.register(lambda: "big", name="big")
    assert reg.build("small", width=3) == ("small", 3)
    assert reg.build("big") == "big"
    assert reg.names() == ["big", "small"]
    assert reg.names("sm*") == ["small"]
    assert "small" in reg and len(reg) == 2


def test_unknown_name_lists_closest():
    reg = Registry("widget")
    reg.register(lambda: 1, name="oct_resnet50")
    reg.register(lambda: 1, name="oct_resnet101")
    with pytest.raises(UnknownNameError) as info:
        reg.get("oct_resnet05")
    msg = str(info.value)
    assert "unknown widget 'oct_resnet05'" in msg and "Did you mean: oct_resnet50" in msg
    assert isinstance(info.value, PaddleConvError)


def test_duplicate_registration_is_an_error():
    reg = Registry("widget")
    reg.register(lambda: 1, name="a")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(lambda: 2, name="a")


def test_create_model_unknown_name():
    with pytest.raises(UnknownNameError, match="unknown model 'no_such_model'"):
        pc.create_model("no_such_model")


# --------------------------------------------------------------------------------- model cards
#: One cheap model per family module; every registered model's module must be among them.
CASES = family_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.family for case in CASES])
def test_the_card_describes_the_model(case):
    import paddle

    card = pc.model_card(case.name)
    assert card.task in pc.cards.TASKS and len(card.mean) == len(card.std) == card.input_size[0]
    model = pc.create_model(case.name, num_classes=3, **case.kwargs)
    model.eval()
    with paddle.no_grad():
        out = model(paddle.randn([1, *case.shape[1:]]))
    if card.task == "detection":
        assert card.classifier is None and len(out) == 3  # loc, conf, priors
    else:
        layer = dict(model.named_sublayers())[card.classifier]
        assert isinstance(layer, paddle.nn.Linear) and layer.weight.shape[1] == 3 and out.shape == [1, 3]


def test_list_models_filters_on_the_card():
    detectors = pc.list_models(task="detection")
    assert "ssd_lite" in detectors and "oct_resnet50" not in detectors
    assert set(detectors) | set(pc.list_models(task="classification")) == set(pc.list_models())
    assert pc.list_models(pretrained=True) == [n for n in pc.list_models() if pc.model_card(n).weights]
    untrained = [n for n in pc.list_models("oct_*") if not pc.model_card(n).weights]
    assert pc.list_models("oct_*", task="classification", pretrained=False) == untrained
    with pytest.raises(UnknownNameError, match="unknown task 'segmentation'"):
        pc.list_models(task="segmentation")


def test_register_model_takes_a_card_and_defaults_to_a_classifier():
    reg = pc.registry.ModelRegistry()
    reg.register(lambda num_classes=1000: None, name="plain")
    reg.register(lambda num_classes=21: None, name="det", card=pc.ModelCard(task="detection", classifier=None))
    assert reg.card("plain") == pc.ModelCard()
    assert reg.filter(task="detection") == ["det"]
    with pytest.raises(UnknownNameError, match="Did you mean: plain"):
        reg.card("plan")
    with pytest.raises(ValueError, match="task must be one of"):
        pc.ModelCard(task="segmentation")


def test_a_weight_entry_carries_what_a_download_needs():
    entry = pc.WeightEntry(
        model="tiny_cnn", name="demo", urls=("https://example.invalid/tiny.pdparams",), file_name="tiny.pdparams",
        file_format="paddle", converter="paddle", license="Apache-2.0", upstream="paddle_conv", dataset="digits",
        metrics={"top1": 90.0}, num_classes=10, input_size=(3, 32, 32), mean=(0.5,) * 3, std=(0.5,) * 3)
    assert entry.sha256 is None  # unknown until pinned
    reg = pc.registry.ModelRegistry()
    reg.register(lambda num_classes=1000: None, name="plain", card=pc.ModelCard(input_size=(3, 32, 32)))
    assert reg.filter(pretrained=True) == []
    reg.register(lambda num_classes=1000: None, name="tiny_cnn", card=pc.ModelCard(weights=(entry,)))
    card = reg.card("tiny_cnn")
    assert card.pretrained and reg.filter(pretrained=True) == ["tiny_cnn"]
    assert card.to_dict()["weights"][0]["urls"] == ["https://example.invalid/tiny.pdparams"]
    assert "demo" in pc.cards.format_card("tiny_cnn", card)
    with pytest.raises(ValueError, match="fit model 'oct_resnet50', not 'other'"):
        reg.register(lambda: None, name="other", card=pc.ModelCard(weights=(dataclasses.replace(entry,
                                                                                               model="oct_resnet50"),)))
