"""Config loading: every shipped config validates; each kind of mistake gives a precise error."""

import glob
import os

import paddle
import pytest
import yaml

from paddle_conv.config import SCHEMA, apply_override, load_config, parse_override
from paddle_conv.errors import ConfigError, UnknownNameError
from paddle_conv.losses import CELoss, build_loss
from paddle_conv.optim import build_optimizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(ROOT, "configs", "digits_quick.yaml")


def write_config(tmp_path, edit):
    """digits_quick.yaml with ``edit(cfg_dict)`` applied, written to tmp_path; returns its path."""
    with open(QUICK, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    edit(cfg)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def error_of(path, overrides=(), cls=ConfigError):
    with pytest.raises(cls) as info:
        load_config(path, overrides)
    return info.value


def classification_configs():
    """configs/*.yaml of tools/train.py: those whose sections are all in SCHEMA (other tools have their own)."""
    paths = []
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            if set(yaml.safe_load(f)) <= set(SCHEMA):
                paths.append(path)
    return paths


def test_own_configs_are_covered():
    names = {os.path.basename(p) for p in classification_configs()}
    assert {"oct_mobilenet.yaml", "oct_resnet50.yaml", "digits_quick.yaml"} <= names


@pytest.mark.parametrize("path", classification_configs())
def test_every_shipped_config_validates(path):
    cfg = load_config(path)
    assert cfg["Arch"]["num_classes"] > 0 and cfg["Global"]["epochs"] >= 1


def test_defaults_and_class_num_alias():
    cfg = load_config(QUICK)
    assert cfg["Arch"] == {"name": "oct_mobilenet", "num_classes": 10, "alpha": 0.5}
    assert cfg["DataLoader"]["Train"]["loader"]["use_shared_memory"] is False  # default filled in
    assert cfg["Global"]["checkpoints"] is None


def test_unknown_key_names_file_path_and_closest(tmp_path):
    path = write_config(tmp_path, lambda c: c["Global"].update(epcohs=3))
    err = error_of(path)
    assert str(err).startswith(f"{path}: Global.epcohs: unknown key 'epcohs'. Closest valid key: 'epochs'.")
    assert (err.source, err.key_path, err.problem) == (path, "Global.epcohs", "unknown key")


def test_unknown_section_and_builder_argument(tmp_path):
    err = error_of(write_config(tmp_path, lambda c: c.update(Optimiser={})))
    assert "Optimiser: unknown key 'Optimiser'. Closest valid key: 'Optimizer'" in str(err)
    err = error_of(write_config(tmp_path, lambda c: c["Arch"].update(alpah=0.25)))
    assert "Arch.alpah: unknown key 'alpah'. Closest valid key: 'alpha'" in str(err)
    err = error_of(QUICK, ["Loss.Train.0.CELoss.epsilom=0.1"])
    assert "Loss.Train[0].CELoss.epsilom: unknown key 'epsilom'. Closest valid key: 'epsilon'" in str(err)
    assert "-o Loss.Train.0.CELoss.epsilom=0.1" in str(err)


def test_wrong_type(tmp_path):
    err = error_of(write_config(tmp_path, lambda c: c["Global"].update(epochs="ten")))
    assert "Global.epochs: expected an integer, got str 'ten'" in str(err) and err.problem == "wrong type"
    err = error_of(QUICK, ["DataLoader.Train.sampler.shuffle=3"])
    assert "DataLoader.Train.sampler.shuffle: expected true or false, got int 3" in str(err)
    err = error_of(QUICK, ["Arch.alpha=half"])
    assert "Arch.alpha: expected a number or a list of numbers, got str 'half'" in str(err)


def test_missing_required_key(tmp_path):
    err = error_of(write_config(tmp_path, lambda c: c["Global"].pop("epochs")))
    assert "Global.epochs: missing required key 'epochs'" in str(err) and err.problem == "missing key"
    err = error_of(write_config(tmp_path, lambda c: c["DataLoader"]["Train"]["sampler"].pop("batch_size")))
    assert "DataLoader.Train.sampler.batch_size: missing required key 'batch_size'" in str(err)
    err = error_of(write_config(tmp_path, lambda c: c["Optimizer"].pop("lr")))
    assert "Optimizer.lr: missing required key 'lr'" in str(err)


def test_unknown_registered_names():
    err = error_of(QUICK, ["Arch.name=oct_mobilnet"], UnknownNameError)
    assert "Arch.name: unknown model 'oct_mobilnet'" in str(err) and "oct_mobilenet" in str(err)
    err = error_of(QUICK, ["Optimizer.name=Adma"], UnknownNameError)
    assert "Optimizer.name: unknown optimizer 'Adma'. Did you mean: Adam" in str(err)
    err = error_of(QUICK, ["DataLoader.Train.dataset.name=Digit"], UnknownNameError)
    assert "DataLoader.Train.dataset.name: unknown dataset 'Digit'. Did you mean: Digits" in str(err)
    err = error_of(QUICK, ["DataLoader.Train.dataset.transform_ops.0={ToTensr: null}"], UnknownNameError)
    assert "transform_ops[0]: unknown transform 'ToTensr'. Did you mean: ToTensor" in str(err)
    assert err.problem == "unknown name"


def test_bad_values():
    err = error_of(QUICK, ["Arch.num_classes=5"])
    assert "Arch.class_num: class_num=10 conflicts with num_classes=5" in str(err)
    err = error_of(QUICK, ["Global.epochs=0"])
    assert "Global.epochs: must be >= 1, got 0" in str(err) and err.problem == "bad value"
    err = error_of(QUICK, ["Optimizer.regularizer={name: L3, coeff: 0.1}"])
    assert "Optimizer.regularizer.name: regularizer must be 'L1' or 'L2'" in str(err)


def test_progressive_train_mode_needs_its_per_stage_sizes_and_magnitudes():
    err = error_of(QUICK, ["Global.train_mode=fixmatch"])
    assert "Global.train_mode: 'fixmatch': PaddleClas's train_epoch_fixmatch loop is not implemented" in str(err)
    err = error_of(QUICK, ["Global.train_mode=progressive"])
    assert "Global.train_mode: progressive learning takes the train image sizes of its 4 stages from " \
           "RandCropImage.progress_size: give a list of 4 integers >= 1 (got None)" in str(err)
    crop = "DataLoader.Train.dataset.transform_ops.0={RandCropImage: {size: 8, progress_size: [8, 12, 16, 20]}}"
    augment = "DataLoader.Train.dataset.transform_ops.1={RandAugmentV2: {progress_magnitude: [5, 8, 11]}}"
    err = error_of(QUICK, ["Global.train_mode=progressive", crop, augment])
    assert "transform_ops.1.RandAugmentV2.progress_magnitude: progressive learning takes the RandAugment " \
           "magnitudes of its 4 stages" in str(err) and "got [5, 8, 11]" in str(err)


def test_unreadable_file(tmp_path):
    err = error_of(str(tmp_path / "nope.yaml"))
    assert "nope.yaml: config file does not exist" in str(err) and err.problem == "unreadable file"
    bad = tmp_path / "bad.yaml"
    bad.write_text("Global: [1, 2\n", encoding="utf-8")
    assert "invalid YAML" in str(error_of(str(bad)))


def test_overrides_are_yaml_and_repeatable():
    cfg = load_config(QUICK, ["Global.epochs=3", "Global.epochs=4", "Optimizer.lr.learning_rate=1e-2",
                              "Metric.Eval.0.TopkAcc.topk=[1, 2]", "Global.pretrained_model=null",
                              "Optimizer.regularizer={name: L2, coeff: 0.0001}"])
    assert cfg["Global"]["epochs"] == 4 and cfg["Optimizer"]["lr"]["learning_rate"] == 0.01
    assert cfg["Metric"]["Eval"] == [{"TopkAcc": {"topk": [1, 2]}}]
    assert cfg["Optimizer"]["regularizer"] == {"name": "L2", "coeff": 0.0001}
    assert parse_override("A.b=[1, x]") == (["A", "b"], [1, "x"])
    assert parse_override("Arch.models[1].Student.name=x") == (["Arch", "models", "1", "Student", "name"], "x")
    assert parse_override("A.b[0][-1]=2") == (["A", "b", "0", "-1"], 2)  # --check prints list keys so
    assert load_config(QUICK, ["Metric.Eval[0].TopkAcc.topk=[1, 3]"])["Metric"]["Eval"][0]["TopkAcc"]["topk"] == [1, 3]
    assert apply_override({"A": {}}, "A.b.c=on") == {"A": {"b": {"c": True}}}


def test_bad_override_syntax():
    for text, part in [("Global.epochs", "expected KEY.PATH=VALUE"), ("Global..epochs=3", "empty part"),
                       ("Metric.Eval.7.TopkAcc.topk=1", "'7' is not an index"), ("Global.epochs=[1", "not valid YAML")]:
        with pytest.raises(ConfigError) as info:
            load_config(QUICK, [text])
        assert str(info.value).startswith(f"-o {text}: ") and part in str(info.value)
        assert info.value.problem == "bad override"


def test_fallback_null_override_and_fallback_checks():
    cfg = load_config(os.path.join(ROOT, "configs", "oct_mobilenet.yaml"), ["DataLoader.Train.dataset.fallback=null"])
    assert cfg["DataLoader"]["Train"]["dataset"]["fallback"] is None
    err = error_of(os.path.join(ROOT, "configs", "oct_mobilenet.yaml"),
                   ["DataLoader.Train.dataset.fallback.image_sise=8"])
    assert "DataLoader.Train.dataset.fallback.image_sise: unknown key" in str(err)
    assert "Closest valid key: 'image_size'" in str(err)


def test_celoss_label_smoothing_matches_formula():
    logits = paddle.to_tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    label = paddle.to_tensor([[0], [2]], dtype="int64")
    eps = 0.1
    logp = paddle.nn.functional.log_softmax(logits, axis=-1).numpy()
    target = paddle.nn.functional.one_hot(label.squeeze(-1), 3).numpy() * (1 - eps) + eps / 3
    expected = -(target * logp).sum(-1).mean()
    assert abs(float(CELoss(epsilon=eps)(logits, label)) - expected) < 1e-5
    combined = build_loss([{"CELoss": {"weight": 0.5, "epsilon": eps}}, {"CELoss": None}])
    plain = float(CELoss()(logits, label))
    assert abs(float(combined(logits, label)) - (0.5 * expected + plain)) < 1e-5


def test_optimizer_and_schedules_from_config():
    layer = paddle.nn.Linear(2, 2)
    cfg = load_config(QUICK, ["Optimizer={name: Momentum, momentum: 0.8, lr: {name: Cosine, learning_rate: 0.1, "
                              "warmup_epoch: 1, warmup_start_lr: 0.01}, regularizer: {name: L2, coeff: 0.001}}"])
    opt, lr = build_optimizer(cfg["Optimizer"], layer.parameters(), step_each_epoch=10, epochs=3)
    assert isinstance(opt, paddle.optimizer.Momentum) and isinstance(lr, paddle.optimizer.lr.LinearWarmup)
    rates = []
    for _ in range(30):
        rates.append(opt.get_lr())
        lr.step()
    assert abs(rates[0] - 0.01) < 1e-9 and abs(rates[10] - 0.1) < 1e-9 and rates[29] < 0.01
    cfg = load_config(QUICK, ["Optimizer.lr={name: Piecewise, decay_epochs: [1, 2], "
                              "values: [0.1, 0.01, 0.001]}"])
    opt, lr = build_optimizer(cfg["Optimizer"], layer.parameters(), step_each_epoch=5, epochs=3)
    assert abs(opt.get_lr() - 0.1) < 1e-12
    for _ in range(10):
        lr.step()
    assert abs(opt.get_lr() - 0.001) < 1e-12
    cfg = load_config(QUICK, ["Optimizer.name=AdamW", "Optimizer.coeff=0.05"])
    opt, _ = build_optimizer(cfg["Optimizer"], layer.parameters(), 5, 3)
    assert isinstance(opt, paddle.optimizer.AdamW)


def test_global_class_num_of_older_configs_follows_paddleclas_rule(tmp_path):
    """PaddleClas 2.6: Global.class_num becomes Arch.class_num when Arch has none, else it is ignored."""
    def moved(cfg):
        cfg["Global"]["class_num"] = 7
        cfg["Arch"].pop("class_num", None)
        cfg["Arch"].pop("num_classes", None)

    assert load_config(write_config(tmp_path, moved))["Arch"]["num_classes"] == 7
    kept = write_config(tmp_path, lambda cfg: cfg["Global"].update(class_num=7))
    assert load_config(kept)["Arch"]["num_classes"] == 10 and "class_num" not in load_config(kept)["Global"]
    for bad in ("abc", -3, True, 2.5):  # ignored or not, it must be a class count
        error = error_of(write_config(tmp_path, lambda cfg, bad=bad: cfg["Global"].update(class_num=bad)))
        assert "Global.class_num" in str(error) and "class count" in str(error)


def test_amp_use_pure_fp16_of_older_configs_is_a_note(tmp_path, capsys):
    path = write_config(tmp_path, lambda cfg: cfg.update(AMP={"use_pure_fp16": True}))
    amp = load_config(path)["AMP"]
    assert amp["level"] == "O1" and "use_pure_fp16" not in amp
    assert "AMP.use_pure_fp16" in capsys.readouterr().err
