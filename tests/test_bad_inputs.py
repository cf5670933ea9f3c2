"""A catalogue of bad inputs: each is refused with a message naming the problem AND the fix,
and leaves every user file exactly as it was (hashed before and after).

Every case is a function that writes the user's files into ``tmp`` and returns the action that
must fail; it is registered with the error type, a pattern of the problem and one of the fix.
"""

import contextlib
import copy
import hashlib
import io
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import paddle
import pytest
import torch
import yaml

from paddle_conv.cli import run_cli
from paddle_conv.config import load_config, parse_override
from paddle_conv.data import ImageFolder, ImageNetDataset, build_dataset
from paddle_conv.engine import load_checkpoint, save_checkpoint
from paddle_conv.errors import ConfigError, DataError, UnknownNameError, WeightsError
from paddle_conv.factory import create_model
from paddle_conv.layers import Conv_BN, OctaveConv
from paddle_conv.state_dict import load_pretrained
from tools import convert_weights as convert_tool
from tools import eval as eval_tool
from tools import train as train_tool
from weights_bridge import torch_to_paddle
from weights_bridge.references import create_reference

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "configs" / "digits_quick.yaml"
BASE = yaml.safe_load(QUICK.read_text(encoding="utf-8"))

CASES = []


def case(error, problem, fix):
    """Register the decorated ``setup(tmp) -> action``: ``action()`` must raise ``error`` with a
    message matching the regexes ``problem`` and ``fix`` (case-insensitive)."""

    def register(setup):
        CASES.append(pytest.param(setup, error, problem, fix, id=setup.__name__))
        return setup

    return register


def _snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.mark.parametrize("setup, error, problem, fix", CASES)
def test_bad_input_names_problem_and_fix_and_changes_no_file(tmp_path, setup, error, problem, fix):
    action = setup(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    assert re.search(problem, message, re.I | re.S), f"the problem is not named: {message}"
    assert re.search(fix, message, re.I | re.S), f"the fix is not named: {message}"
    assert _snapshot(tmp_path) == before, "a user file was created, changed or removed"


def test_the_catalogue_has_at_least_40_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


# ------------------------------------------------------------------------------- config
class ToolFailed(Exception):
    """A tool's exit status 2, with what it printed on stderr."""


def _run_tool(main, argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = run_cli(main, argv)
    if status == 2:
        raise ToolFailed(err.getvalue())
    raise AssertionError(f"exit status {status}, stderr: {err.getvalue()}")


def _config_file(tmp, edit=None, text=None):
    """A copy of the Digits config (outputs under ``tmp/out``), changed by ``edit(cfg)``, or ``text``."""
    cfg = copy.deepcopy(BASE)
    cfg["Global"]["output_dir"] = str(tmp / "out")
    if edit:
        edit(cfg)
    path = tmp / "config.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _loads(tmp, edit=None, overrides=(), text=None):
    path = _config_file(tmp, edit, text)
    return lambda: load_config(path, list(overrides))


def _set(section_path, value):
    """An ``edit`` setting ``cfg[a][b]... = value`` for ``"a.b..."``."""

    def edit(cfg):
        *parents, last = section_path.split(".")
        node = cfg
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return edit


def _delete(section_path):
    def edit(cfg):
        *parents, last = section_path.split(".")
        node = cfg
        for part in parents:
            node = node[part]
        del node[last]

    return edit


@case(ConfigError, r"Global\.epoch: unknown key 'epoch'", r"closest valid key: 'epochs'")
def unknown_key_typo_in_global(tmp):
    return _loads(tmp, _set("Global.epoch", 3))


@case(ConfigError, r"unknown key 'Optimiser'", r"closest valid key: 'Optimizer'")
def unknown_top_level_section(tmp):
    return _loads(tmp, lambda cfg: cfg.update(Optimiser=cfg.pop("Optimizer")))


@case(ConfigError, r"Arch\.alpah: unknown key", r"closest valid key: 'alpha'")
def unknown_model_argument(tmp):
    return _loads(tmp, _set("Arch.alpah", 0.25))


@case(ConfigError, r"CELoss\.epsilom: unknown key", r"closest valid key: 'epsilon'")
def unknown_loss_argument(tmp):
    return _loads(tmp, _set("Loss.Train.0.CELoss.epsilom", 0.1))


@case(ConfigError, r"sampler\.batchsize: unknown key", r"closest valid key: 'batch_size'")
def unknown_sampler_key(tmp):
    return _loads(tmp, _set("DataLoader.Train.sampler.batchsize", 8))


@case(ConfigError, r"Global\.epochs: expected an integer, got str 'three'", r"expected an integer")
def wrong_type_string_for_integer(tmp):
    return _loads(tmp, _set("Global.epochs", "three"))


@case(ConfigError, r"Global\.use_visualdl: .*got str 'yes please'", r"expected true or false")
def wrong_type_string_for_bool(tmp):
    return _loads(tmp, _set("Global.use_visualdl", "yes please"))


@case(ConfigError, r"Arch\.alpha: .*got str 'half'", r"expected a number")
def wrong_type_string_for_model_number(tmp):
    return _loads(tmp, _set("Arch.alpha", "half"))


@case(ConfigError, r"sampler\.batch_size: .*got float 6\.5", r"expected an integer")
def wrong_type_float_batch_size(tmp):
    return _loads(tmp, _set("DataLoader.Train.sampler.batch_size", 6.5))


@case(ConfigError, r"Global\.image_shape: .*got", r"expected a list of integers")
def wrong_type_image_shape(tmp):
    return _loads(tmp, _set("Global.image_shape", "3x16x16"))


@case(ConfigError, r"Global\.epochs: missing required key 'epochs'", r"add it to the config")
def missing_required_epochs(tmp):
    return _loads(tmp, _delete("Global.epochs"))


@case(ConfigError, r"sampler\.batch_size: missing required key", r"add it to the config")
def missing_required_batch_size(tmp):
    return _loads(tmp, _delete("DataLoader.Train.sampler.batch_size"))


@case(ConfigError, r"Arch\.name: missing required key 'name'", r"one of: .*oct_mobilenet")
def missing_model_name(tmp):
    return _loads(tmp, _delete("Arch.name"))


@case(ConfigError, r"Optimizer\.lr: missing required key 'lr'", r"e\.g\. \{name: Constant, learning_rate")
def missing_learning_rate_section(tmp):
    return _loads(tmp, _delete("Optimizer.lr"))


@case(ConfigError, r"missing required key 'DataLoader'", r"add it to the config")
def missing_section(tmp):
    return _loads(tmp, _delete("DataLoader"))


@case(UnknownNameError, r"Arch\.name: unknown model 'oct_mobilenett'", r"did you mean: oct_mobilenet")
def unknown_model_name(tmp):
    return _loads(tmp, _set("Arch.name", "oct_mobilenett"))


@case(UnknownNameError, r"unknown loss 'CrossEntropyLoss'", r"registered losses: CELoss")
def unknown_loss_name(tmp):
    return _loads(tmp, _set("Loss.Train", [{"CrossEntropyLoss": None}]))


@case(UnknownNameError, r"Optimizer\.name: unknown optimizer 'SGD'", r"registered optimizers: Adam, AdamW, Momentum")
def unknown_optimizer_name(tmp):
    return _loads(tmp, _set("Optimizer.name", "SGD"))


@case(UnknownNameError, r"unknown lr scheduler 'CosineWarmup'", r"did you mean: Cosine")
def unknown_lr_scheduler_name(tmp):
    return _loads(tmp, _set("Optimizer.lr.name", "CosineWarmup"))


@case(UnknownNameError, r"dataset\.name: unknown dataset 'Cifar100'", r"did you mean: Cifar10")
def unknown_dataset_name(tmp):
    return _loads(tmp, _set("DataLoader.Train.dataset.name", "Cifar100"))


@case(UnknownNameError, r"unknown transform 'RandomFlip'", r"did you mean: .*RandomHorizontalFlip|RandomVerticalFlip")
def unknown_transform_name(tmp):
    return _loads(tmp, _set("DataLoader.Train.dataset.transform_ops", [{"RandomFlip": None}, "ToTensor"]))


@case(UnknownNameError, r"unknown metric 'Top1Acc'", r"did you mean: TopkAcc")
def unknown_metric_name(tmp):
    return _loads(tmp, _set("Metric.Eval", [{"Top1Acc": None}]))


@case(ConfigError, r"-o Global\.epochs 3: .*expected KEY\.PATH=VALUE", r"e\.g\. -o Global\.epochs=3")
def override_without_equals(tmp):
    return _loads(tmp, overrides=["Global.epochs 3"])


@case(ConfigError, r"empty part in key path 'Global\.\.epochs'", r"write e\.g\. Global\.epochs")
def override_with_empty_key_part(tmp):
    return _loads(tmp, overrides=["Global..epochs=3"])


@case(ConfigError, r"value '\[0\.5' is not valid YAML", r"quote it or fix it")
def override_value_not_yaml(tmp):
    return _loads(tmp, overrides=["Arch.alpha=[0.5"])


@case(ConfigError, r"the list has 1 items; '5' is not an index", r"Loss\.Train\.5")
def override_list_index_out_of_range(tmp):
    return _loads(tmp, overrides=["Loss.Train.5.CELoss.epsilon=0.1"])


@case(ConfigError, r"with -o Global\.epochs=abc.*Global\.epochs: expected an integer, got str 'abc'",
      r"expected an integer")
def override_with_wrong_type(tmp):
    return _loads(tmp, overrides=["Global.epochs=abc"])


@case(ConfigError, r"Global\.epcohs: unknown key", r"closest valid key: 'epochs'")
def override_of_unknown_key(tmp):
    return _loads(tmp, overrides=["Global.epcohs=3"])


@case(ConfigError, r"is not a mapping; cannot set 'x'", r"Global\.epochs")
def override_into_a_scalar(tmp):
    return _loads(tmp, overrides=["Global.epochs.x=1"])


@case(ConfigError, r"config\.yaml: invalid YAML: .*line 3", r"fix the file at the position shown")
def yaml_syntax_error(tmp):
    return _loads(tmp, text="Global:\n  epochs: 3\n   seed: 1\n")


@case(ConfigError, r"key 'epochs' is given twice", r"keep one")
def yaml_duplicate_key(tmp):
    return _loads(tmp, text="Global:\n  epochs: 3\n  epochs: 30\n")


@case(ConfigError, r"not UTF-8 text", r"fix the file")
def yaml_not_utf8(tmp):
    path = _config_file(tmp)
    path.write_bytes(path.read_bytes().replace(b"Digits", b"D\xefgits"))
    return lambda: load_config(path)


@case(ConfigError, r"could not determine a constructor for the tag .*python/object", r"fix the file")
def yaml_with_python_object_tag(tmp):
    return _loads(tmp, text="Global: !!python/object/apply:os.system ['touch pwned']\n")


@case(ConfigError, r"expected a mapping of sections .*got list", r"start from a file in configs/")
def yaml_top_level_list(tmp):
    return _loads(tmp, text="- Global\n- Arch\n")


@case(ConfigError, r"missing\.yaml: config file does not exist", r"check the -c argument")
def config_file_missing(tmp):
    return lambda: load_config(tmp / "missing.yaml")


@case(ConfigError, r"Global\.epochs: must be >= 1, got 0", r">= 1")
def epochs_zero(tmp):
    return _loads(tmp, _set("Global.epochs", 0))


@case(ConfigError, r"Global\.device: expected 'auto', 'cpu', 'gpu' or 'gpu:N', got 'tpu'", r"'gpu:N'")
def unknown_device(tmp):
    return _loads(tmp, _set("Global.device", "tpu"))


@case(ConfigError, r"class_num=10 conflicts with num_classes=5", r"keep one")
def class_num_conflict(tmp):
    return _loads(tmp, _set("Arch.num_classes", 5))


@case(ConfigError, r"regularizer must be 'L1' or 'L2', got 'L3'", r"'L1' or 'L2'")
def unknown_regularizer(tmp):
    return _loads(tmp, _set("Optimizer.regularizer", {"name": "L3", "coeff": 1e-4}))


@case(ToolFailed, r"error: .*Global\.epochs: expected an integer, got str 'many'", r"expected an integer")
def train_tool_reports_config_error(tmp):
    """tools/train.py prints the message and exits 2 (no traceback, no output folder)."""
    path = _config_file(tmp, _set("Global.epochs", "many"))
    return lambda: _run_tool(train_tool.main, ["-c", str(path)])


# ------------------------------------------------------------------------------ weights
class Small(paddle.nn.Layer):
    """A two-layer network standing in for a model (checkpoint code is model-agnostic)."""

    def __init__(self, classes=10, hidden=8):
        super().__init__()
        self.body = paddle.nn.Linear(4, hidden)
        self.fc = paddle.nn.Linear(hidden, classes)


class Other(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 4, 3)


def _checkpoint(tmp, model, name="latest", optimizer=True):
    opt = paddle.optimizer.Momentum(parameters=model.parameters()) if optimizer else None
    save_checkpoint(str(tmp / name), model, opt, {"epoch": 1})
    return str(tmp / name)


def _resume_into(prefix, model):
    return lambda: load_checkpoint(prefix, model, paddle.optimizer.Momentum(parameters=model.parameters()))


def _truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])


@case(WeightsError, r"cannot read checkpoint .*latest\.pdparams", r"truncated .*write it again")
def truncated_pdparams(tmp):
    prefix = _checkpoint(tmp, Small())
    _truncate(prefix + ".pdparams")
    return _resume_into(prefix, Small())


@case(WeightsError, r"cannot read optimizer state .*latest\.pdopt.*truncated", r"resume from another checkpoint")
def truncated_pdopt(tmp):
    prefix = _checkpoint(tmp, Small())
    _truncate(prefix + ".pdopt")
    return _resume_into(prefix, Small())


@case(WeightsError, r"does not fit the model .*missing in file: conv\.weight.*unexpected in file: body\.weight",
      r"set Arch to the one it was trained with")
def resume_with_weights_of_another_model(tmp):
    return _resume_into(_checkpoint(tmp, Small()), Other())


@case(WeightsError, r"mis-shaped: fc\.weight: model \[8, 5\] vs file \[8, 10\]", r"set Arch to the one")
def resume_with_shape_mismatch(tmp):
    return _resume_into(_checkpoint(tmp, Small(classes=10)), Small(classes=5))


@case(WeightsError, r"is not a state dict of tensors \(found list\)", r"save model\.state_dict\(\)")
def pdparams_pickle_of_a_list(tmp):
    prefix = _checkpoint(tmp, Small())
    with open(prefix + ".pdparams", "wb") as f:
        pickle.dump([1, 2, 3], f)
    return _resume_into(prefix, Small())


@case(WeightsError, r"not a state dict of tensors \(found entry 'fc\.weight' of type str\)",
      r"save model\.state_dict\(\)")
def pdparams_dict_of_non_tensors(tmp):
    prefix = _checkpoint(tmp, Small())
    with open(prefix + ".pdparams", "wb") as f:
        pickle.dump({"fc.weight": "not a tensor"}, f)
    return _resume_into(prefix, Small())


class RunsCode:
    """Unpickling this runs ``os.system`` (what a crafted checkpoint can do)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@case(WeightsError, r"refusing to load checkpoint .*: it refers to (posix|os)\.system.*could run code",
      r"use weights from a source you trust")
def pdparams_pickle_that_runs_code(tmp):
    prefix = _checkpoint(tmp, Small())
    with open(prefix + ".pdparams", "wb") as f:
        pickle.dump({"fc.weight": RunsCode(f"touch {tmp / 'pwned'}")}, f)  # the snapshot sees the file if it runs
    return _resume_into(prefix, Small())


@case(WeightsError, r"checkpoint .*nothing\.pdparams' does not exist", r"check Global\.checkpoints")
def resume_from_missing_checkpoint(tmp):
    return _resume_into(str(tmp / "nothing"), Small())


@case(WeightsError, r"optimizer state .*latest\.pdopt' is missing", r"use Global\.pretrained_model")
def resume_without_optimizer_state(tmp):
    return _resume_into(_checkpoint(tmp, Small(), optimizer=False), Small())


@case(WeightsError, r"pretrained weights .* share no parameter", r"another architecture")
def pretrained_weights_of_another_model(tmp):
    prefix = _checkpoint(tmp, Small())
    return lambda: load_pretrained(Other(), prefix)


@case(WeightsError, r"cannot read pretrained weights .*truncated", r"write it again")
def pretrained_weights_truncated(tmp):
    prefix = _checkpoint(tmp, Small())
    _truncate(prefix + ".pdparams")
    return lambda: load_pretrained(Small(), prefix)


@case(WeightsError, r"pretrained weights .* is not a state dict of tensors \(found int\)", r"save model\.state_dict")
def pretrained_weights_not_a_state_dict(tmp):
    paddle.save(42, str(tmp / "w.pdparams"))
    return lambda: load_pretrained(Small(), tmp / "w.pdparams")


def _torch_oct_mobilenet_state(num_classes=10):
    torch.manual_seed(0)
    return create_reference("oct_mobilenet", num_classes=num_classes).state_dict()


@case(WeightsError, r"shape mismatch .*fc\.weight \(checkpoint \[10, 1024\], model \[1000, 1024\]\)",
      r"pass num_classes \(CLI: --num-classes\)")
def convert_with_shape_mismatch(tmp):
    state = _torch_oct_mobilenet_state(num_classes=10)
    return lambda: torch_to_paddle(state, "oct_mobilenet")


@case(WeightsError, r"not a state dict: it is a dict with keys epoch, optimizer", r"none of state_dict")
def convert_a_pickle_that_is_not_a_state_dict(tmp):
    return lambda: torch_to_paddle({"epoch": 3, "optimizer": {"lr": 0.1}}, "oct_mobilenet", num_classes=10)


def _convert(tmp, src, model="oct_mobilenet"):
    """tools/convert_weights.py on ``src`` (output ``tmp/out.*`` must not appear)."""
    dst = tmp / ("out.pdparams" if str(src).endswith((".pth", ".pt")) else "out.pth")
    return lambda: _run_tool(convert_tool.main, ["--model", model, "--src", str(src), "--dst", str(dst),
                                                 "--num-classes", "10"])


@case(ToolFailed, r"cannot read checkpoint '.*model\.pth' .*it is truncated, corrupt", r"download it again")
def convert_truncated_pth(tmp):
    torch.save(_torch_oct_mobilenet_state(), tmp / "model.pth")
    _truncate(tmp / "model.pth")
    return _convert(tmp, tmp / "model.pth")


@case(ToolFailed, r"refusing to load checkpoint '.*model\.pth': it refers to torch\.nn\.modules\.linear\.Linear",
      r"torch\.save\(model\.state_dict\(\), path\)")
def convert_pth_of_a_pickled_module(tmp):
    torch.save(torch.nn.Linear(2, 2), tmp / "model.pth")  # the whole module: needs full unpickling
    return _convert(tmp, tmp / "model.pth")


@case(ToolFailed, r"refusing to load checkpoint '.*model\.pdparams': it refers to (posix|os)\.system",
      r"source you trust")
def convert_pdparams_that_runs_code(tmp):
    with open(tmp / "model.pdparams", "wb") as f:
        pickle.dump({"fc.weight": RunsCode(f"touch {tmp / 'pwned'}")}, f)
    return _convert(tmp, tmp / "model.pdparams")


@case(ToolFailed, r"the torch checkpoint does not fit model 'oct_resnet26'", r"pass --model oct_mobilenet")
def convert_cli_weights_of_another_model(tmp):
    torch.save(_torch_oct_mobilenet_state(), tmp / "model.pth")
    return _convert(tmp, tmp / "model.pth", model="oct_resnet26")


# --------------------------------------------------------------------------------- data
def _folder_dataset(tmp, classes=("cat", "dog"), per_class=1):
    for name in classes:
        (tmp / "images" / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            paddle.vision.image.Image.fromarray(np.zeros((4, 4, 3), "uint8")).save(tmp / "images" / name / f"{i}.png")
    return tmp / "images"


@case(DataError, r"image folder '.*no_such_dir' does not exist", r"check the path or mount the data")
def image_folder_root_missing(tmp):
    return lambda: ImageFolder(str(tmp / "no_such_dir"))


@case(DataError, r"image root '.*missing_root' does not exist", r"check the path or mount the data")
def list_dataset_root_missing(tmp):
    (tmp / "list.txt").write_text("a.png 0\n")
    return lambda: ImageNetDataset(str(tmp / "missing_root"), str(tmp / "list.txt"))


@case(DataError, r"DataLoader\.Train\.dataset \(ImageFolder\): image folder .* does not exist",
      r"check the path or mount the data")
def config_dataset_missing_without_fallback(tmp):
    entry = {"name": "ImageFolder", "root": str(tmp / "gone")}
    return lambda: build_dataset(entry, 10)


@case(DataError, r"cannot read image '.*broken\.png' \(listed at .*list\.txt:1\)", r"remove it from the data set")
def unreadable_image(tmp):
    (tmp / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp / "list.txt").write_text("broken.png 0\n")
    dataset = ImageNetDataset(str(tmp), str(tmp / "list.txt"), num_classes=10)
    return lambda: dataset[0]


@case(DataError, r"label 12 at .*list\.txt:2 is outside \[0, 10\)", r"fix the label or raise Arch\.class_num")
def label_out_of_range(tmp):
    (tmp / "list.txt").write_text("a.png 1\nb.png 12\n")
    return lambda: ImageNetDataset(str(tmp), str(tmp / "list.txt"), num_classes=10)


@case(DataError, r"label -1 at .*list\.txt:1 is outside", r"fix the label")
def negative_label(tmp):
    (tmp / "list.txt").write_text("a.png -1\n")
    return lambda: ImageNetDataset(str(tmp), str(tmp / "list.txt"), num_classes=10)


@case(DataError, r"list\.txt:1: expected 'relative/path\.jpg <integer label>', got a label that is not an integer",
      r"relative/path\.jpg <integer label>")
def malformed_list_line(tmp):
    (tmp / "list.txt").write_text("a.png cat\n")
    return lambda: ImageNetDataset(str(tmp), str(tmp / "list.txt"), num_classes=10)


@case(DataError, r"the label list has no entries", r"add lines|cls_label_path")
def empty_list_file(tmp):
    (tmp / "list.txt").write_text("\n\n")
    return lambda: ImageNetDataset(str(tmp), str(tmp / "list.txt"), num_classes=10)


@case(DataError, r"class folder 'c' .* is outside \[0, 2\)", r"raise Arch\.class_num")
def more_class_folders_than_classes(tmp):
    root = _folder_dataset(tmp, classes=("a", "b", "c"))
    return lambda: ImageFolder(str(root), num_classes=2)


# ------------------------------------------------------------------------------- layers
X = paddle.zeros([1, 8, 8, 8])


@case(ValueError, r"alpha_in=1\.5 is outside \[0, 1\]", r"use 0 for a plain .*input/output.* and e\.g\. 0\.5")
def alpha_above_one(tmp):  # the seed's range is [0, 1]: 1.0 is all low-frequency
    return lambda: OctaveConv(8, 8, 3, alpha_in=1.5)


@case(ValueError, r"alpha_out=-0\.25 is outside \[0, 1\]", r"use 0 for a plain")
def alpha_negative(tmp):
    return lambda: OctaveConv(8, 8, 3, alpha_out=-0.25)


@case(ValueError, r"alpha_out=2\.0 is outside \[0, 1\]", r"e\.g\. 0\.5")
def model_alpha_two(tmp):
    return lambda: create_model("oct_mobilenet", num_classes=10, alpha=2.0)


@case(ValueError, r"in_channels=8 and out_channels=9 must both be divisible by groups=3",
      r"multiples of groups")
def channels_not_divisible_by_groups(tmp):
    return lambda: OctaveConv(8, 9, 3, groups=3)


@case(ValueError, r"stride=3 is not supported", r"use 1 or 2")
def unsupported_stride(tmp):
    return lambda: OctaveConv(8, 8, 3, stride=3)


@case(ValueError, r"OctMobileNet expects one tensor \[N, 3, H, W\], got a tuple of 2 items", r"pass the batch itself")
def tuple_input_to_a_model(tmp):
    model = create_model("oct_mobilenet", num_classes=10)
    return lambda: model((paddle.zeros([1, 3, 16, 16]), paddle.zeros([1, 3, 8, 8])))


@case(ValueError, r"OctaveConv takes a tensor or a \(x_h, x_l\) pair, got a tuple of 3 items",
      r"pass \(x_h, x_l\)")
def three_tuple_to_an_octave_layer(tmp):
    return lambda: Conv_BN(16, 16, 3, padding=1)((X, X, X))


@case(ValueError, r"OctaveConv\(alpha_in=0\.5\) needs a \(x_h, x_l\) tuple", r"use alpha_in=0")
def tensor_to_a_layer_expecting_a_pair(tmp):
    return lambda: OctaveConv(16, 16, 3, padding=1)(X)


@case(ValueError, r"OctaveConv\(alpha_in=0\) got a low-frequency input", r"set alpha_in")
def pair_to_a_layer_expecting_a_tensor(tmp):
    return lambda: OctaveConv(8, 8, 3, alpha_in=0, padding=1)((X, X))


@case(ValueError, r"expects a 4-D tensor \[N, 3, H, W\], got shape \[3, 16, 16\]", r"x\.unsqueeze\(0\)")
def image_without_batch_axis(tmp):
    model = create_model("oct_mobilenet", num_classes=10)
    return lambda: model(paddle.zeros([3, 16, 16]))


@case(ValueError, r"expects 3 channels, got 1", r"pass a \[N, 3, H, W\] tensor")
def grey_image_to_a_colour_model(tmp):
    model = create_model("oct_mobilenet", num_classes=10)
    return lambda: model(paddle.zeros([1, 1, 16, 16]))


@case(ValueError, r"x_h expects a paddle Tensor .*got ndarray", r"paddle\.to_tensor")
def numpy_array_to_a_layer(tmp):
    return lambda: OctaveConv(8, 8, 3, alpha_in=0, padding=1)(np.zeros((1, 8, 8, 8), "float32"))


def test_override_parser_alone_reports_bad_items():
    """``parse_override`` (used by every tool) refuses the same items without a config file."""
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        parse_override("Global.epochs")


# ======================================================================= the command line
# Each case writes the user's files into ``tmp`` and returns ``(tool main, argv, problem regex)``:
# the tool must exit 2 with exactly one ``error:`` line matching ``problem``, no traceback, a
# short message, no run folder (``tmp/out``) created, and every user file unchanged.
CLI_CASES = []


def cli_case(problem, at_run_time=False):
    """``at_run_time``: the bad input is found while training (a bad image), after the run folder exists."""
    def register(setup):
        CLI_CASES.append(pytest.param(setup, problem, at_run_time, id=setup.__name__))
        return setup

    return register


def _train(tmp, *overrides, edit=None, text=None):
    args = ["-c", str(_config_file(tmp, edit, text))]
    for o in overrides:
        args += ["-o", o]
    return train_tool.main, args


@pytest.mark.parametrize("setup, problem, at_run_time", CLI_CASES)
def test_cli_bad_input_exits_2_with_one_short_error_line_and_touches_nothing(tmp_path, capsys, setup, problem,
                                                                             at_run_time):
    main, argv = setup(tmp_path)[:2]
    before = _snapshot(tmp_path)
    status = run_cli(main, argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1, err
    assert "Traceback" not in err and len(err) < 3000, err[:3000]
    assert re.search(problem, errors[0], re.I), errors[0]
    if at_run_time:
        assert not list((tmp_path / "out").rglob("*.pdparams")) and not list(tmp_path.rglob("*.tmp"))
        assert not (tmp_path / "out" / "oct_mobilenet" / ".lock").exists(), "the run folder's lock was kept"
    else:
        assert not (tmp_path / "out").exists(), "the run folder was created before the input was checked"
    assert {k: v for k, v in _snapshot(tmp_path).items() if not k.startswith("out")} == before, \
        "a user file was created, changed or removed"
    assert not (tmp_path / "PWNED").exists()


@cli_case(r"DataLoader\.Train\.sampler\.batch_size: must be in \[1")
def batch_size_zero(tmp):
    return _train(tmp, "DataLoader.Train.sampler.batch_size=0")


@cli_case(r"DataLoader\.Eval\.sampler\.batch_size: must be in \[1")
def batch_size_negative(tmp):
    return _train(tmp, "DataLoader.Eval.sampler.batch_size=-1")


@cli_case(r"Global\.seed: must be in \[0, 4294967295\], got -1")
def seed_negative(tmp):
    return _train(tmp, "Global.seed=-1")


@cli_case(r"Global\.seed: must be in \[0, 4294967295\]")
def seed_too_large(tmp):
    return _train(tmp, f"Global.seed={2**64 + 1}")


@cli_case(r"num_workers: must be in \[0, .*main process")
def num_workers_negative(tmp):
    return _train(tmp, "DataLoader.Train.loader.num_workers=-1")


@cli_case(r"Arch\.alpha: must be a finite number, got nan")
def alpha_nan(tmp):
    return _train(tmp, "Arch.alpha=.nan")


@cli_case(r"Arch\.alpha: must be in \[0, 1\], got 2\.0")
def alpha_two_in_the_config(tmp):
    return _train(tmp, "Arch.alpha=2.0")


@cli_case(r"Loss\.Train\.0\.CELoss\.epsilon: must be in \[0, 1\), got 2\.0")
def label_smoothing_epsilon_two(tmp):
    return _train(tmp, "Loss.Train.0.CELoss.epsilon=2.0")


@cli_case(r"Global\.output_dir: .* is a file, not a folder")
def output_dir_is_a_file(tmp):
    (tmp / "taken").write_text("mine")
    return _train(tmp, f"Global.output_dir={tmp / 'taken'}")


@cli_case(r"Global\.output_dir: .*taken' is a file, so .* cannot be created")
def output_dir_under_a_file(tmp):
    (tmp / "taken").write_text("mine")
    return _train(tmp, f"Global.output_dir={tmp / 'taken' / 'runs'}")


@cli_case(r"Metric\.Eval\.0\.TopkAcc\.topk: top-100 accuracy of a 10-class model is always 1\.0")
def topk_larger_than_the_class_count(tmp):
    return _train(tmp, edit=lambda c: c.setdefault("Metric", {}).update({"Eval": [{"TopkAcc": {"topk": [1, 100]}}]}))


@cli_case(r"Global\.image_shape: \[3, 32, 32\] disagrees with DataLoader\.Train\.dataset\.image_size")
def image_shape_disagrees_with_the_data(tmp):
    return _train(tmp, "Global.image_shape=[3, 32, 32]")


@cli_case(r"Normalize\.std: must be finite and non-zero")
def normalize_with_std_zero(tmp):
    return _train(tmp, "DataLoader.Train.dataset.transform_ops.1.Normalize.std=[0.5, 0, 0.5]")


@cli_case(r"Optimizer\.lr\.learning_rate: must be in \(0, inf\), got -0\.1")
def negative_learning_rate(tmp):
    return _train(tmp, "Optimizer.lr.learning_rate=-0.1")


@cli_case(r"Global\.epochs: expected an integer, got list \[\[1, 1, .*\.\.\. \(list of 8 items\)")
def yaml_alias_bomb_as_a_value(tmp):
    levels = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    text = yaml.safe_dump(BASE, sort_keys=False).replace("epochs: 2", f"epochs: [{', '.join(levels)}]")
    assert len(text) - len(yaml.safe_dump(BASE)) < 700  # 9**8 = 43 million ones once expanded
    path = tmp / "bomb.yaml"
    path.write_text(text)
    return train_tool.main, ["-c", str(path), "-o", f"Global.output_dir={tmp / 'out'}"]


@cli_case(r"config\.yaml'?: .*is a directory, not a config file")
def config_path_is_a_directory(tmp):
    (tmp / "config.yaml").mkdir()
    return train_tool.main, ["-c", str(tmp / "config.yaml")]


def _list_data(tmp, list_text=None, list_bytes=None):
    from PIL import Image

    (tmp / "images").mkdir()
    for i in range(2):
        Image.new("RGB", (16, 16), (i * 90, 0, 0)).save(tmp / "images" / f"{i}.png")
    if list_bytes is not None:
        (tmp / "list.txt").write_bytes(list_bytes)
    elif list_text is not None:
        (tmp / "list.txt").write_text(list_text)

    def edit(cfg):
        cfg["DataLoader"]["Train"]["dataset"] = {
            "name": "ImageNetDataset", "image_root": str(tmp / "images"), "cls_label_path": str(tmp / "list.txt"),
            "transform_ops": [{"ToTensor": None}]}
        cfg["DataLoader"]["Train"]["sampler"]["batch_size"] = 2
        cfg["Global"]["eval_during_train"] = False
        del cfg["DataLoader"]["Eval"]

    return edit


@cli_case(r"list\.txt:1: expected 'relative/path\.jpg <integer label>', got a label that is not an integer")
def list_label_with_two_minus_signs(tmp):
    return _train(tmp, edit=_list_data(tmp, "0.png --1\n1.png 0\n"))


@cli_case(r"label list .*list\.txt' \(config key dataset\.cls_label_path\) is a directory")
def list_file_is_a_directory(tmp):
    edit = _list_data(tmp)
    (tmp / "list.txt").mkdir()
    return _train(tmp, edit=edit)


@cli_case(r"label list .*list\.txt' .* is not a UTF-8 text file")
def list_file_not_utf8(tmp):
    return _train(tmp, edit=_list_data(tmp, list_bytes=b"0.png 0\n\xff\xfe.png 1\n"))


def _png_claiming(width, height):
    """A 1x1 PNG whose header claims ``width`` x ``height`` pixels (what a decompression bomb looks like)."""
    import struct
    import zlib

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@cli_case(r"image .*bomb\.png' \(listed at .*list\.txt:2\) is 10000x10000 pixels, more than the limit",
          at_run_time=True)
def decompression_bomb_in_an_image_list(tmp):
    edit = _list_data(tmp, "0.png 0\nbomb.png 1\n")
    (tmp / "images" / "bomb.png").write_bytes(_png_claiming(10000, 10000))
    return _train(tmp, "Global.epochs=1", edit=edit)


@cli_case(r"cannot read image .*empty\.png' \(listed at .*list\.txt:1\)", at_run_time=True)
def empty_image_in_an_image_list(tmp):
    edit = _list_data(tmp, "empty.png 0\n1.png 1\n")
    (tmp / "images" / "empty.png").write_bytes(b"")
    return _train(tmp, "Global.epochs=1", edit=edit)


@cli_case(r"image .*gone\.png' \(listed at .*list\.txt:2\) does not exist", at_run_time=True)
def image_list_names_a_missing_file(tmp):
    return _train(tmp, "Global.epochs=1", edit=_list_data(tmp, "0.png 0\ngone.png 1\n"))


def _resume_files(tmp, commit=None, meta=None, optimizer="Adam"):
    """``tmp/run/latest.*`` of the digits model (``optimizer``), then ``commit``/``meta`` overwritten."""
    run = tmp / "run"
    model = create_model("oct_mobilenet", num_classes=10, alpha=0.5)
    opt = getattr(paddle.optimizer, optimizer)(parameters=model.parameters(), learning_rate=0.001)
    save_checkpoint(run / "latest", model, opt, {"epoch": 1})
    if commit is not None:
        (run / "latest.commit").write_text(commit)
    if meta is not None:
        (run / "latest.json").write_text(meta)
    return _train(tmp, f"Global.checkpoints={run / 'latest'}")


@cli_case(r"refusing commit file .*latest\.commit.*\.\./victim\.txt.*nothing was moved")
def commit_file_renames_outside_the_run_folder(tmp):
    (tmp / "victim.txt").write_text("precious")
    (tmp / "run").mkdir()
    (tmp / "run" / "payload.txt").write_text("evil")
    return _resume_files(tmp, commit='[["payload.txt", "../victim.txt"]]')


@cli_case(r"refusing commit file .*latest\.commit.*nothing was moved")
def commit_file_with_an_absolute_path(tmp):
    (tmp / "victim.txt").write_text("precious")
    (tmp / "run").mkdir()
    (tmp / "run" / "payload.txt").write_text("evil")
    return _resume_files(tmp, commit=json.dumps([["payload.txt", str(tmp / "victim.txt")]]))


@cli_case(r"refusing commit file .*\.latest\.pdparams\.1\.x\.tmp' is a symbolic link.*nothing was moved")
def commit_file_naming_a_symlink_out_of_the_folder(tmp):
    (tmp / "victim.txt").write_text("precious")
    (tmp / "run").mkdir()
    os.symlink(tmp / "victim.txt", tmp / "run" / ".latest.pdparams.1.x.tmp")
    return _resume_files(tmp, commit='[[".latest.pdparams.1.x.tmp", "latest.pdparams"]]')


@cli_case(r"commit file .*latest\.commit' is unreadable \(JSONDecodeError\); delete")
def commit_file_corrupt(tmp):
    return _resume_files(tmp, commit="[[\x00garbage")


@cli_case(r"commit file .*latest\.commit' is not a list of \[temporary, final\] names")
def commit_file_of_the_wrong_shape(tmp):
    return _resume_files(tmp, commit='{"a": 1}')


@cli_case(r"checkpoint metadata .*latest\.json' is unreadable \(JSONDecodeError\)")
def latest_json_corrupt(tmp):
    return _resume_files(tmp, meta="{")


@cli_case(r"checkpoint metadata .*latest\.json' is not what save_checkpoint writes")
def latest_json_with_wrong_types(tmp):
    return _resume_files(tmp, meta='{"epoch": "one"}')


@cli_case(r"was trained with the Momentum optimizer, the config uses Adam: set Optimizer\.name")
def resume_with_another_optimizer(tmp):
    return _resume_files(tmp, optimizer="Momentum")


@cli_case(r"another run \(process \d+\) is writing into .*wait for it to finish")
def second_run_into_a_locked_run_folder(tmp):
    (tmp / "busy" / "oct_mobilenet").mkdir(parents=True)
    (tmp / "busy" / "oct_mobilenet" / ".lock").write_text(str(os.getppid()))  # a living process
    return _train(tmp, f"Global.output_dir={tmp / 'busy'}")


@cli_case(r"pretrained weights .*nan\.pdparams' holds NaN or infinite values")
def eval_of_weights_with_nan(tmp):
    model = create_model("oct_mobilenet", num_classes=10, alpha=0.5)
    state = model.state_dict()
    first = next(k for k, v in state.items() if "float" in str(v.dtype))
    state[first] = paddle.full(state[first].shape, float("nan"))
    paddle.save(state, str(tmp / "nan.pdparams"))
    return eval_tool.main, ["-c", str(_config_file(tmp)), "-o", f"Global.pretrained_model={tmp / 'nan'}"]


@cli_case(r"refusing to load checkpoint .*evil\.pdparams': it refers to (posix|os)\.system")
def resume_from_a_protocol_0_pickle(tmp):
    (tmp / "run").mkdir()
    with open(tmp / "run" / "evil.pdparams", "wb") as f:
        pickle.dump({"fc.weight": RunsCode(f"touch {tmp / 'PWNED'}")}, f, protocol=0)
    (tmp / "run" / "evil.json").write_text('{"epoch": 1}')  # the run folder is whole but for the pickle
    return _train(tmp, f"Global.checkpoints={tmp / 'run' / 'evil'}")


@cli_case(r"m\.pth' (is empty \(0 bytes\)|is: it is neither a torch checkpoint)")
def convert_a_zero_byte_pth(tmp):
    (tmp / "m.pth").write_bytes(b"")
    return convert_tool.main, ["--model", "oct_mobilenet", "--num-classes", "10", "--src", str(tmp / "m.pth"),
                               "--dst", str(tmp / "o.pdparams")]


@cli_case(r"o\.pdparams':? (it )?is a directory")
def convert_to_a_directory(tmp):
    torch.save(_torch_oct_mobilenet_state(), tmp / "m.pth")
    (tmp / "o.pdparams").mkdir()
    return convert_tool.main, ["--model", "oct_mobilenet", "--num-classes", "10", "--src", str(tmp / "m.pth"),
                               "--dst", str(tmp / "o.pdparams")]


@cli_case(r"int\.pdparams' holds int64 values for '[\w.]+', a float32 parameter: quantized")
def eval_of_integer_weights(tmp):
    state = {k: paddle.cast(v, "int64") if "float" in str(v.dtype) else v
             for k, v in create_model("oct_mobilenet", num_classes=10, alpha=0.5).state_dict().items()}
    paddle.save(state, str(tmp / "int.pdparams"))
    return eval_tool.main, ["-c", str(_config_file(tmp)), "-o", f"Global.pretrained_model={tmp / 'int'}"]


@cli_case(r"cannot write .*under_a_file/o\.pdparams': .*under_a_file'? is a file")
def convert_to_a_path_under_a_file(tmp):
    torch.save(_torch_oct_mobilenet_state(), tmp / "m.pth")
    (tmp / "under_a_file").write_text("mine")
    return convert_tool.main, ["--model", "oct_mobilenet", "--num-classes", "10", "--src", str(tmp / "m.pth"),
                               "--dst", str(tmp / "under_a_file" / "o.pdparams")]


def test_the_command_line_catalogue_has_its_cases():
    assert len({c.id for c in CLI_CASES}) == len(CLI_CASES) >= 30
