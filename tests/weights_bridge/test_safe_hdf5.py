"""Hostile Keras ``.weights.h5`` files (issue 26, cases 2 and 7): each is refused by
``tools/convert_weights.py`` with exit 2, one ``error:`` line, no traceback, within seconds,
writes nothing, changes no file, and no byte of a local "secret" file reaches any output.

The files are made here with h5py: a complete cct_keras_cifar weights file in Keras 3's layout
(it converts: the control case), then one hostile edit each. Huge shapes are declared, never written.
"""

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import paddle_conv as pc
from paddle_conv.io import safe_paddle_load
from tests.test_bad_inputs_tools import assert_refused, run, snapshot
from tools import convert_weights
from weights_bridge import keras_to_paddle, safe_hdf5
from weights_bridge.safe_hdf5 import UnsafeHDF5Error

SECRET = b"TOP-SECRET-KEY:" + bytes(range(25))  # 40 bytes: fc.bias, 10 float32
FC_BIAS = "layers/dense_4/vars/1"


def _keras_layout():
    """``{dataset path: array}`` of cct_keras_cifar in Keras 3's ``.weights.h5`` layout (random values)."""
    state = {k: v.numpy() for k, v in pc.create_model("cct_keras_cifar").state_dict().items()}
    rng = np.random.default_rng(0)
    heads, dim = 2, 128
    layout = {"layers/position_embedding/vars/0": state["positional_emb"][0]}
    for i in range(2):
        suffix = f"_{i}" if i else ""
        layout[f"layers/cct_tokenizer/conv_model/layers/conv2d{suffix}/vars/0"] = \
            state[f"tokenizer.{i}.0.weight"].transpose(2, 3, 1, 0)
    norms, dense = [], []
    for i in range(2):
        block = f"blocks.{i}."
        mha = "layers/multi_head_attention" + (f"_{i}" if i else "")
        for part in ("query", "key", "value"):
            layout[f"{mha}/{part}_dense/vars/0"] = rng.normal(size=(dim, heads, dim)).astype("float32")
            layout[f"{mha}/{part}_dense/vars/1"] = rng.normal(size=(heads, dim)).astype("float32")
        layout[f"{mha}/output_dense/vars/0"] = state[block + "attn.proj.weight"].reshape(heads, dim, dim)
        layout[f"{mha}/output_dense/vars/1"] = state[block + "attn.proj.bias"]
        norms += [block + "norm1", block + "norm2"]
        dense += [block + "mlp.0", block + "mlp.1"]
    for i, name in enumerate(norms + ["norm"]):
        layer = "layers/layer_normalization" + (f"_{i}" if i else "")
        layout[f"{layer}/vars/0"], layout[f"{layer}/vars/1"] = state[name + ".weight"], state[name + ".bias"]
    for i, name in enumerate(dense + ["fc"]):
        layer = "layers/dense" + (f"_{i}" if i else "")
        layout[f"{layer}/vars/0"], layout[f"{layer}/vars/1"] = state[name + ".weight"], state[name + ".bias"]
    layout["layers/sequence_pooling/attention/vars/0"] = state["attention_pool.weight"]
    layout["layers/sequence_pooling/attention/vars/1"] = state["attention_pool.bias"]
    return layout


@pytest.fixture(scope="module")
def layout():
    return _keras_layout()


def write_keras_file(path, layout, edit=None, skip=()):
    """A Keras-layout file of ``layout`` (less ``skip``); ``edit(f, folder)`` adds the hostile part."""
    with h5py.File(path, "w") as f:
        for name, array in layout.items():
            if name not in skip:
                f.create_dataset(name, data=array)
        if edit is not None:
            edit(f, Path(path).parent)
    return path


def _external_storage(f, folder):
    f.create_dataset(FC_BIAS, shape=(10,), dtype="float32", external=[(str(folder / "secret.txt"), 0, 40)])


def _relative_external_storage(f, folder):
    f.create_dataset(FC_BIAS, shape=(10,), dtype="float32", external=[("secret.txt", 0, 40)])


def _virtual_dataset(f, folder):
    with h5py.File(folder / "other.h5", "w") as other:
        other["x"] = np.frombuffer(SECRET, "float32")
    virtual = h5py.VirtualLayout(shape=(10,), dtype="float32")
    virtual[:] = h5py.VirtualSource(str(folder / "other.h5"), "x", shape=(10,))
    f.create_virtual_dataset(FC_BIAS, virtual)


def _external_link(f, folder):
    with h5py.File(folder / "other.h5", "w") as other:
        other["x"] = np.frombuffer(SECRET, "float32")
    f[FC_BIAS] = h5py.ExternalLink(str(folder / "other.h5"), "/x")


def _soft_link(f, folder):
    f["stash"] = np.zeros(10, "float32")
    f[FC_BIAS] = h5py.SoftLink("/stash")


def _declared_4_tib(f, folder):  # chunked + deflate, nothing written: the file stays small
    f.create_dataset("layers/dense_4/vars/2", shape=(2**40,), dtype="float32", chunks=(4096,), compression="gzip")


def _declared_4_tib_contiguous(f, folder):
    f.create_dataset("layers/dense_4/vars/2", shape=(2**40,), dtype="float32")


def _compound_dtype(f, folder):
    f.create_dataset("layers/dense_4/vars/2", shape=(2,), dtype=np.dtype([("a", "f4"), ("b", "i4")]))


def _vlen_dtype(f, folder):
    f.create_dataset("layers/dense_4/vars/2", shape=(2,), dtype=h5py.vlen_dtype("float32"))


def _reference_dtype(f, folder):
    refs = f.create_dataset("layers/dense_4/vars/2", shape=(1,), dtype=h5py.ref_dtype)
    refs[0] = f["layers/dense_4/vars/0"].ref


def _string_dtype(f, folder):
    f["layers/dense_4/vars/2"] = np.array([b"abc"])


def _empty_dataspace(f, folder):
    f.create_dataset("layers/dense_4/vars/2", data=h5py.Empty("float32"))


def _lzf_filter(f, folder):
    f.create_dataset("layers/dense_4/vars/2", data=np.zeros(64, "float32"), compression="lzf")


HOSTILE = {
    "external storage (absolute path)": (_external_storage, "external storage"),
    "external storage (relative path)": (_relative_external_storage, "external storage"),
    "virtual dataset": (_virtual_dataset, "virtual dataset"),
    "external link": (_external_link, "external link"),
    "soft link": (_soft_link, "soft link"),
    "4 TiB chunked and compressed": (_declared_4_tib, "1099511627776 float32"),
    "4 TiB contiguous": (_declared_4_tib_contiguous, "more than the file's size"),
    "compound dtype": (_compound_dtype, "not plain numbers"),
    "variable-length dtype": (_vlen_dtype, "not plain numbers"),
    "object reference dtype": (_reference_dtype, "not plain numbers"),
    "string dtype": (_string_dtype, "not plain numbers"),
    "no dataspace": (_empty_dataspace, "no dataspace"),
    "a plugin filter (lzf)": (_lzf_filter, "filter 32000"),
}


def convert(src, dst, capsys):
    """``(exit status, stdout, stderr, seconds)`` of tools/convert_weights.py on ``src``."""
    return run(convert_weights.main, ["--model", "cct_keras_cifar", "--src", src, "--dst", dst], capsys)


def test_the_clean_file_converts(layout, tmp_path, capsys):
    """The control: without the hostile edit the same file converts, so each refusal below is the edit's."""
    src = write_keras_file(tmp_path / "model.weights.h5", layout)
    code, _, err, _ = convert(src, tmp_path / "out.pdparams", capsys)
    assert code == 0, err
    state = safe_paddle_load(str(tmp_path / "out.pdparams"))
    np.testing.assert_array_equal(state["fc.bias"].numpy(), layout[FC_BIAS])


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_hdf5_is_refused_before_reading(case, layout, tmp_path, capsys):
    edit, problem = HOSTILE[case]
    (tmp_path / "secret.txt").write_bytes(SECRET)
    src = write_keras_file(tmp_path / "model.weights.h5", layout, edit, skip=(FC_BIAS,))
    assert src.stat().st_size < 4 * 1024**2
    before = snapshot(tmp_path)
    result = convert(src, tmp_path / "out.pdparams", capsys)
    line = assert_refused(result, "nothing was read", limit=10)
    assert problem in line.replace(",", "") and "secret" not in result[2] and "other.h5" not in result[2], line
    assert snapshot(tmp_path) == before and not (tmp_path / "out.pdparams").exists()
    with pytest.raises(UnsafeHDF5Error):
        keras_to_paddle(str(src))


@pytest.mark.parametrize("case", ["external storage (absolute path)", "virtual dataset", "external link"])
def test_no_secret_byte_reaches_any_output_or_message(case, layout, tmp_path, capsys):
    """The three ways to read another file, with an output folder of their own: the secret is nowhere."""
    edit, _ = HOSTILE[case]
    (tmp_path / "secret.txt").write_bytes(SECRET)
    src = write_keras_file(tmp_path / "model.weights.h5", layout, edit, skip=(FC_BIAS,))
    out = tmp_path / "out"
    out.mkdir()
    code, _, err, _ = convert(src, out / "model.pdparams", capsys)
    assert code == 2
    assert SECRET[:15].decode() not in err
    assert not any(SECRET[:15] in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_total_data_bound(layout, tmp_path, monkeypatch):
    src = write_keras_file(tmp_path / "model.weights.h5", layout)
    monkeypatch.setattr(safe_hdf5, "MAX_HDF5_DATA_BYTES", 100_000)
    with pytest.raises(UnsafeHDF5Error, match="more than 100,000 bytes of data"):
        keras_to_paddle(str(src))


def test_link_count_bound(tmp_path, monkeypatch):
    with h5py.File(tmp_path / "many.weights.h5", "w") as f:
        for i in range(20):
            f.create_group(f"layers/g{i}")
    monkeypatch.setattr(safe_hdf5, "MAX_HDF5_LINKS", 10)
    with pytest.raises(UnsafeHDF5Error, match="more than 10 links"):
        keras_to_paddle(str(tmp_path / "many.weights.h5"))


def test_an_unusual_object_name_is_not_echoed(layout, tmp_path):
    def edit(f, folder):
        f["layers/x\nerror: forged"] = h5py.SoftLink("/layers")

    src = write_keras_file(tmp_path / "model.weights.h5", layout, edit)
    with pytest.raises(UnsafeHDF5Error) as info:
        keras_to_paddle(str(src))
    assert "forged" not in str(info.value) and "an object with an unusual name is a soft link" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_opening_it(tmp_path, capsys):
    os.mkfifo(tmp_path / "model.weights.h5")
    assert_refused(convert(tmp_path / "model.weights.h5", tmp_path / "out.pdparams", capsys), "not a regular file",
                   limit=10)
