"""paddle_conv.io: no weights file runs code, whatever its pickle protocol or the path that loads it.

Every crafted pickle calls ``os.system("touch <marker>")`` if it is ever unpickled for real;
each test asserts the marker was never created, the tool exited 2 with one ``error:`` line and
no traceback, and no file the user had changed.
"""

import hashlib
import os
import pickle
import pickletools
import stat
import subprocess
from collections import OrderedDict
from pathlib import Path

import numpy as np
import paddle
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paddle_conv.cli import run_cli
from paddle_conv.engine import load_checkpoint, save_checkpoint
from paddle_conv.errors import OutputError, WeightsError
from paddle_conv.factory import create_model
from paddle_conv.io import (
    RunLock,
    UnsafePickleError,
    atomic_json_save,
    atomic_write,
    safe_paddle_load,
    safe_torch_load,
    temp_path,
)
from paddle_conv.state_dict import load_pretrained
from tools import convert_weights, eval_det, export, reparameterize
from tools import eval as eval_tool
from tools import train as train_tool

ROOT = Path(__file__).resolve().parents[1]
QUICK = str(ROOT / "configs" / "digits_quick.yaml")
SHAPES = str(ROOT / "configs" / "ssd_kd_shapes.yaml")
PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


class RunsCode:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def evil_pickle(path, marker, protocol, wrap=lambda payload: {"fc.weight": payload}):
    with open(path, "wb") as f:
        pickle.dump(wrap(RunsCode(marker)), f, protocol=protocol)
    return path


def snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def assert_refused(capsys, status, marker, pattern="refusing to load"):
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and pattern in lines[0], err
    assert "Traceback" not in err and "weights_only=False" not in err
    assert not os.path.exists(marker), "the pickle ran code"


# ------------------------------------------------------------------------ the loader itself
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_is_refused_before_any_code_runs(tmp_path, protocol):
    marker = tmp_path / "PWNED"
    path = evil_pickle(tmp_path / "evil.pdparams", marker, protocol)
    with pytest.raises(UnsafePickleError, match=r"evil\.pdparams.*refers to (posix|os)\.system"):
        safe_paddle_load(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("container", ["list", "nested_dict", "tuple", "ordered_dict"])
def test_a_payload_nested_in_any_container_is_refused(tmp_path, protocol, container):
    wrap = {"list": lambda p: [np.zeros(2), [p]], "nested_dict": lambda p: {"a": {"b": {"c": p}}},
            "tuple": lambda p: {"w": ("name", p)}, "ordered_dict": lambda p: OrderedDict(w=p)}[container]
    marker = tmp_path / "PWNED"
    with pytest.raises(UnsafePickleError):
        safe_paddle_load(evil_pickle(tmp_path / "evil.pdopt", marker, protocol, wrap))
    assert not marker.exists()


@pytest.mark.parametrize("text", [
    b"(S'touch {m}'\nios\nsystem\n.",                      # protocol 0 INST
    b"cos\nsystem\n(S'touch {m}'\ntR.",                   # protocol 0 GLOBAL + REDUCE
    b"cbuiltins\neval\n(S'__import__(\"os\").system(\"touch {m}\")'\ntR.",
    b"ccopyreg\n_reconstructor\n(cos\nsystem\nc__builtin__\nobject\nNtR.",
])
def test_hand_written_protocol_0_pickles_are_refused(tmp_path, text):
    marker = tmp_path / "PWNED"
    (tmp_path / "x.pdparams").write_bytes(text.replace(b"{m}", str(marker).encode()))
    with pytest.raises(UnsafePickleError):
        safe_paddle_load(tmp_path / "x.pdparams")
    assert not marker.exists()


def _model_and_optimizer():
    model = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.Flatten(),
                                 paddle.nn.Linear(16, 2))
    lr = paddle.optimizer.lr.CosineAnnealingDecay(0.1, 10)
    optimizer = paddle.optimizer.Momentum(learning_rate=lr, parameters=model.parameters())
    model(paddle.randn([2, 3, 4, 4])).mean().backward()
    optimizer.step()
    return model, optimizer


@pytest.mark.parametrize("protocol", [2, 3, 4])  # the protocols paddle.save accepts
def test_loads_what_paddle_save_writes_exactly_as_paddle_load(tmp_path, protocol):
    model, optimizer = _model_and_optimizer()
    for name, obj in (("m.pdparams", model.state_dict()), ("m.pdopt", optimizer.state_dict())):
        paddle.save(obj, str(tmp_path / name), protocol=protocol)
        ours, theirs = safe_paddle_load(tmp_path / name), paddle.load(str(tmp_path / name))  # our own file
        assert list(ours) == list(theirs)
        for key, value in theirs.items():
            if isinstance(value, paddle.Tensor):
                assert ours[key].name == value.name and np.array_equal(ours[key].numpy(), value.numpy())
            else:
                assert ours[key] == value


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_plain_data_of_every_protocol_loads(tmp_path, protocol):
    obj = {"w": np.arange(6, dtype="float32").reshape(2, 3), "empty": np.zeros((0,), "int64"),
           "meta": OrderedDict(lr=[0.1, 2, "x", None, (3, 4)]), "scalar": np.float32(2.5)}
    with open(tmp_path / "p.pdparams", "wb") as f:
        pickle.dump(obj, f, protocol=protocol)
    got = safe_paddle_load(tmp_path / "p.pdparams")
    assert np.array_equal(got["w"].numpy(), obj["w"]) and list(got["empty"].shape) == [0]
    assert got["meta"] == obj["meta"] and got["scalar"] == np.float32(2.5)


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty"), (b"PK\x03\x04 zip", "zip archive"), (b"garbage", "cannot read"),
    (pickle.dumps({"a": {1, 2}}), "holds a set"), (pickle.dumps({"a": np.array(["s"])}), "dtype <U1"),
    (pickle.dumps({"a": np.array([object()], dtype=object)[:0]}), "Python objects"),
])
def test_files_that_are_not_weights_are_refused_in_one_line(tmp_path, content, problem):
    (tmp_path / "x.pdparams").write_bytes(content)
    with pytest.raises(WeightsError, match=problem) as info:
        safe_paddle_load(tmp_path / "x.pdparams")
    assert "\n" not in str(info.value) and "x.pdparams" in str(info.value)


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    depth = 100_000  # [[[...]]]: MARK ... EMPTY_LIST LIST ..., deeper than pickle itself can write
    (tmp_path / "x.pdparams").write_bytes(b"\x80\x02" + b"(" * depth + b"]" + b"l" * depth + b".")
    with pytest.raises(WeightsError, match="nested deeper"):
        safe_paddle_load(tmp_path / "x.pdparams")


# ------------------------------------------------------------------------ the fuzz
_leaf = st.one_of(
    st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=8), st.none(), st.booleans(),
    st.builds(lambda shape, dtype: np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape),
              st.lists(st.integers(0, 3), max_size=3).map(tuple), st.sampled_from(["float32", "int64", "uint8"])))
_plain = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)


def _same(a, b):
    if isinstance(b, np.ndarray):
        return isinstance(a, paddle.Tensor) and np.array_equal(a.numpy(), b)
    if isinstance(b, dict):
        return isinstance(a, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(obj=_plain, protocol=st.sampled_from(list(PROTOCOLS)), evil=st.booleans(),
       damage=st.sampled_from(["none", "truncate", "flip"]), where=st.floats(0, 1), bit=st.integers(0, 7))
def test_fuzz_random_pickles_load_correctly_or_fail_with_our_error(tmp_path_factory, obj, protocol, evil, damage,
                                                                   where, bit):
    folder = tmp_path_factory.mktemp("fuzz")
    marker = folder / "PWNED"
    payload = {"state": obj, "x": RunsCode(marker)} if evil else {"state": obj}
    data = bytearray(pickle.dumps(payload, protocol=protocol))
    position = min(int(where * len(data)), len(data) - 1)
    if damage == "truncate":
        data = data[:position]
    elif damage == "flip":
        data[position] ^= 1 << bit
    (folder / "f.pdparams").write_bytes(bytes(data))
    try:
        loaded = safe_paddle_load(folder / "f.pdparams")
    except WeightsError:
        loaded = None
    assert not marker.exists()
    if damage == "none":
        assert (loaded is None) == evil
        if not evil:
            assert _same(loaded["state"], obj)


# ------------------------------------------------------------------------ every loading path
def _digits_model():
    return create_model("oct_mobilenet", num_classes=10, alpha=0.5)


def _paths():
    """``name -> run(tmp, evil_pdparams_prefix) -> exit status``: each loads weights its own way."""
    def train_resume(tmp, prefix):
        return run_cli(train_tool.main, ["-c", QUICK, "-o", f"Global.output_dir={tmp / 'out'}",
                                         "-o", f"Global.checkpoints={prefix}"])

    def train_pretrained(tmp, prefix):
        return run_cli(train_tool.main, ["-c", QUICK, "-o", f"Global.output_dir={tmp / 'out'}",
                                         "-o", f"Global.pretrained_model={prefix}"])

    def evaluate(tmp, prefix):
        return run_cli(eval_tool.main, ["-c", QUICK, "-o", f"Global.pretrained_model={prefix}"])

    def export_tool(tmp, prefix):
        return run_cli(export.main, ["-c", QUICK, "-o", f"Global.pretrained_model={prefix}",
                                     "-o", f"Global.save_inference_dir={tmp / 'inference'}"])

    def convert(tmp, prefix):
        return run_cli(convert_weights.main, ["--model", "oct_mobilenet", "--num-classes", "10",
                                              "--src", f"{prefix}.pdparams", "--dst", str(tmp / "o.pth")])

    def reparameterize_tool(tmp, prefix):
        return run_cli(reparameterize.main, ["-c", str(ROOT / "configs" / "refconv_finetune.yaml"),
                                             "--weights", str(prefix), "--output", str(tmp / "plain")])

    def evaluate_detector(tmp, prefix):
        return run_cli(eval_det.main, ["-c", SHAPES, "--stage", "teacher", "--weights", str(prefix)])

    def resume_optimizer_state(tmp, prefix):
        paddle.save(_digits_model().state_dict(), f"{prefix}.pdparams")  # good weights, evil .pdopt
        os.replace(f"{prefix}.evil", f"{prefix}.pdopt")
        return train_resume(tmp, prefix)

    return {f.__name__: f for f in (train_resume, train_pretrained, evaluate, export_tool, convert,
                                    reparameterize_tool, evaluate_detector, resume_optimizer_state)}


PATHS = _paths()


@pytest.mark.parametrize("name", list(PATHS))
def test_every_loading_path_refuses_a_pickle_that_runs_code(tmp_path, capsys, name):
    protocol = list(PATHS).index(name) % (pickle.HIGHEST_PROTOCOL + 1)  # every protocol on some path
    marker, prefix = tmp_path / "PWNED", tmp_path / "run" / "latest"
    prefix.parent.mkdir()
    target = f"{prefix}.evil" if name == "resume_optimizer_state" else f"{prefix}.pdparams"
    evil_pickle(target, marker, protocol)
    if "resume" in name:  # a run folder as training leaves it: its metadata is there
        Path(f"{prefix}.json").write_text('{"epoch": 1}')
    before = snapshot(tmp_path / "run")
    assert_refused(capsys, PATHS[name](tmp_path, prefix), marker)
    if name != "resume_optimizer_state":
        assert snapshot(tmp_path / "run") == before


def test_load_checkpoint_and_load_pretrained_refuse_code_in_pdparams_and_pdopt(tmp_path):
    marker = tmp_path / "PWNED"
    model, optimizer = _model_and_optimizer()
    save_checkpoint(tmp_path / "ck", model, optimizer)
    evil_pickle(tmp_path / "ck.pdopt", marker, 0)
    with pytest.raises(UnsafePickleError, match="optimizer state"):
        load_checkpoint(tmp_path / "ck", model, optimizer)
    evil_pickle(tmp_path / "ck.pdparams", marker, 1)
    for load in (lambda: load_checkpoint(tmp_path / "ck", model), lambda: load_pretrained(model, tmp_path / "ck")):
        with pytest.raises(UnsafePickleError):
            load()
    assert not marker.exists()


# ------------------------------------------------------------------------ torch files
@pytest.mark.parametrize("content, problem", [
    (None, "is empty"), (b"\x00" * 64, "cannot read"), ("module", "refers to torch.nn.modules"),
    ("evil", "refers to (posix|os).system"), ("zip_truncated", "cannot read"),
])
def test_torch_files_fail_cleanly_and_never_advise_weights_only_false(tmp_path, content, problem):
    path, marker = tmp_path / "m.pth", tmp_path / "PWNED"
    if content is None:
        path.write_bytes(b"")
    elif content == "module":
        torch.save(torch.nn.Linear(2, 2), path)
    elif content == "evil":
        torch.save({"w": RunsCode(marker)}, path)
    elif content == "zip_truncated":
        torch.save({"w": torch.zeros(3)}, path)
        path.write_bytes(path.read_bytes()[:50])
    else:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=problem) as info:
        safe_torch_load(path)
    assert "weights_only=False" not in str(info.value) and not marker.exists()


def test_convert_tool_reports_a_zero_byte_pth_in_one_line(tmp_path, capsys):
    (tmp_path / "m.pth").write_bytes(b"")
    status = run_cli(convert_weights.main, ["--model", "oct_mobilenet", "--num-classes", "10",
                                            "--src", str(tmp_path / "m.pth"), "--dst", str(tmp_path / "o.pdparams")])
    assert_refused(capsys, status, tmp_path / "PWNED", pattern="m.pth")
    assert os.listdir(tmp_path) == ["m.pth"]


# ------------------------------------------------------------------------ writing
def test_new_files_follow_the_umask_and_a_replaced_file_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_json_save({"a": 1}, tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640
        os.chmod(tmp_path / "new.json", 0o604)
        atomic_json_save({"a": 2}, tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o604
    finally:
        os.umask(old)


@pytest.mark.parametrize("target", ["a_directory", "under_a_file/x.json"])
def test_atomic_write_to_a_bad_destination_leaves_no_temporary_file(tmp_path, target):
    (tmp_path / "a_directory").mkdir()
    (tmp_path / "under_a_file").write_text("x")
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(tmp_path / target, lambda tmp: Path(tmp).write_text("data"))
    assert snapshot(tmp_path) == before and not list(tmp_path.rglob("*.tmp"))


def test_protocol_opcodes_of_the_evil_pickles_really_differ():
    """The protocol tests are not six copies of one file: protocol 0 has no PROTO opcode."""
    firsts = {next(pickletools.genops(pickle.dumps({"a": 1}, protocol=p)))[0].name for p in PROTOCOLS}
    assert "PROTO" in firsts and len(firsts) > 1


def _dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_run_lock_refuses_a_living_owner_and_takes_over_a_stale_one(tmp_path):
    (tmp_path / ".lock").write_text(str(os.getppid()))
    with pytest.raises(OutputError, match=r"another run \(process \d+\) is writing into"):
        RunLock(tmp_path).acquire()
    for stale in (str(_dead_pid()), "not a pid", ""):
        (tmp_path / ".lock").write_text(stale)
        with RunLock(tmp_path):
            assert (tmp_path / ".lock").read_text() == str(os.getpid())
        assert not (tmp_path / ".lock").exists()


def test_temporary_files_name_their_process_and_only_leftovers_of_dead_ones_are_removed(tmp_path):
    model, optimizer = _model_and_optimizer()
    living = tmp_path / f".ck.pdparams.{os.getppid()}.abc.tmp"   # another run, still writing
    dead = tmp_path / f".ck.pdparams.{_dead_pid()}.abc.tmp"      # a run killed mid-save
    living.write_text("in progress")
    dead.write_text("leftover")
    save_checkpoint(tmp_path / "ck", model, optimizer)
    assert living.exists() and not dead.exists()
    assert f".{os.getpid()}." in os.path.basename(temp_path(tmp_path / "x.json"))
