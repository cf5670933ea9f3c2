"""Data sets: real loading code on generated files; every bad-input case names the file or line."""

import io
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from paddle_conv.data import (
    Cifar10,
    DataNotFoundError,
    Digits,
    ImageFolder,
    ImageNetDataset,
    build_dataset,
    build_transforms,
)
from paddle_conv.errors import DataError


def test_digits_split_is_deterministic_disjoint_and_resized():
    train, test = Digits("train", image_size=12), Digits("test", image_size=12)
    assert len(train) + len(test) == 1797 and len(test) == 359
    img, label = train[0]
    assert img.size == (12, 12) and img.mode == "RGB" and label.dtype == np.int64 and label.shape == (1,)
    again = Digits("train", image_size=12)
    assert np.array_equal(np.asarray(again[5][0]), np.asarray(train[5][0]))
    train_px = {np.asarray(i).tobytes() for i in train.images}
    overlap = sum(np.asarray(i).tobytes() in train_px for i in test.images)
    assert overlap < 5  # a handful of digits are pixel-identical duplicates in the data itself
    assert len(Digits("train", max_samples=7)) == 7
    with pytest.raises(DataError, match=r"label 9 at Digits \(labels 0..9\) is outside \[0, 5\)"):
        Digits(num_classes=5)


def test_transforms_by_name():
    t = build_transforms([{"Resize": {"size": 8}}, {"ToTensor": None},
                          {"Normalize": {"mean": [0.5] * 3, "std": [0.5] * 3}}])
    x = t(Digits("test", image_size=16)[0][0])
    assert isinstance(x, np.ndarray) and x.shape == (3, 8, 8) and float(x.min()) >= -1.0  # batched later
    assert build_transforms([]) is None


def _write_cifar(path, n=6):
    rng = np.random.RandomState(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in ("cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch"):
            payload = pickle.dumps({b"data": rng.randint(0, 256, (n, 3072)).astype("uint8"),
                                    b"labels": list(range(n))})
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_cifar10_local_file_and_missing(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    _write_cifar(archive)
    ds = Cifar10(data_file=str(archive), mode="test", transform=build_transforms([{"ToTensor": None}]))
    img, label = ds[3]
    assert len(ds) == 6 and img.shape == (3, 32, 32) and int(label[0]) == 3
    with pytest.raises(DataNotFoundError, match="nope.tar.gz' does not exist"):
        Cifar10(data_file=str(tmp_path / "nope.tar.gz"))


def _image_list(tmp_path, lines, images=("a.png", "b.png")):
    root = tmp_path / "images"
    root.mkdir()
    for name in images:
        Image.fromarray(np.full((5, 7, 3), 100, "uint8")).save(root / name)
    listing = tmp_path / "train_list.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(root), str(listing)


def test_imagenet_list_dataset(tmp_path):
    root, listing = _image_list(tmp_path, ["a.png 0", "b.png 2"])
    ds = ImageNetDataset(root, listing, num_classes=3)
    img, label = ds[1]
    assert img.size == (7, 5) and int(label[0]) == 2 and len(ds) == 2


def test_imagenet_list_bad_inputs(tmp_path):
    root, listing = _image_list(tmp_path, ["a.png 0", "b.png 7"])
    with pytest.raises(DataError, match=r"label 7 at .*train_list.txt:2 is outside \[0, 3\)"):
        ImageNetDataset(root, listing, num_classes=3)
    with pytest.raises(DataNotFoundError, match=r"image root '.*missing' does not exist"):
        ImageNetDataset(str(tmp_path / "missing"), listing)
    (tmp_path / "bad_list.txt").write_text("a.png 0\nb.png\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad_list.txt:2: expected 'relative/path.jpg <integer label>' separated "
                                        r"by whitespace"):
        ImageNetDataset(root, str(tmp_path / "bad_list.txt"))
    with pytest.raises(DataError, match=r"train_list.txt:1: .* separated by '\\t' \(dataset.delimiter\)"):
        ImageNetDataset(root, listing, delimiter="\t")  # PULC's configs: a tab


def test_unreadable_image_names_file_and_line(tmp_path):
    root, listing = _image_list(tmp_path, ["a.png 0", "broken.jpg 1"])
    (tmp_path / "images" / "broken.jpg").write_bytes(b"not a jpeg")
    ds = ImageNetDataset(root, listing, num_classes=2)
    with pytest.raises(DataError, match=r"cannot read image '.*broken.jpg' \(listed at .*train_list.txt:2\)"):
        ds[1]


def test_image_folder(tmp_path):
    for cls in ("cat", "dog", "eel"):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.zeros((4, 4, 3), "uint8")).save(tmp_path / cls / "x.png")
    ds = ImageFolder(str(tmp_path), num_classes=3)
    assert ds.classes == ["cat", "dog", "eel"] and [int(ds[i][1][0]) for i in range(3)] == [0, 1, 2]
    with pytest.raises(DataError, match=r"label 2 at class folder 'eel' of .* is outside \[0, 2\)"):
        ImageFolder(str(tmp_path), num_classes=2)
    with pytest.raises(DataNotFoundError, match="image folder .*nothing' does not exist"):
        ImageFolder(str(tmp_path / "nothing"))


def test_fallback_warns_once_and_null_fallback_errors(tmp_path, capsys):
    entry = {"name": "Cifar10", "data_file": str(tmp_path / "none.tar.gz"), "mode": "train",
             "fallback": {"name": "Digits", "mode": "test", "image_size": 8, "batch_size": 4}}
    ds, used = build_dataset(entry, 10, key="DataLoader.Eval.dataset")
    assert isinstance(ds, Digits) and used["batch_size"] == 4
    warning = capsys.readouterr().err.strip()
    assert warning.count("\n") == 0 and warning.startswith("WARNING: DataLoader.Eval.dataset: Cifar10 data is missing")
    assert "none.tar.gz" in warning and "-o DataLoader.Eval.dataset.fallback=null" in warning
    entry["fallback"] = None
    with pytest.raises(DataNotFoundError, match=r"DataLoader.Eval.dataset \(Cifar10\): .*none.tar.gz"):
        build_dataset(entry, 10, key="DataLoader.Eval.dataset")
