"""HDF5 files from strangers (Keras ``.weights.h5``): :func:`checked_datasets` walks every link (none followed,
no data read) and refuses anything that would make a read leave the file, load a plugin or allocate more than the
file holds (SECURITY.md lists each rule); messages never echo file content."""

import re

import numpy as np

from paddle_conv.errors import WeightsError
from paddle_conv.io import check_user_file

__all__ = ["DEFLATE_MAX_RATIO", "MAX_HDF5_DATA_BYTES", "MAX_HDF5_LINKS", "UnsafeHDF5Error", "checked_datasets",
           "open_hdf5"]

#: All datasets of one file together, in bytes (a Keras model 500 times the size of cct_keras_cifar).
MAX_HDF5_DATA_BYTES = 2 * 1024**3
#: Links (groups and datasets) in one file; cct_keras_cifar's file has about 120.
MAX_HDF5_LINKS = 100_000
#: deflate's best compression ratio: a compressed dataset cannot declare more than this times the file's size.
DEFLATE_MAX_RATIO = 1032
#: HDF5 filter ids h5py always has built in (deflate, shuffle, fletcher32); no plugin is ever loaded.
_BUILT_IN_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32"}
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./-]{1,200}")


class UnsafeHDF5Error(WeightsError):
    """An HDF5 file that would make a read leave the file or allocate more than it holds."""


def _named(name):
    """``name`` quoted if it is a plain object path, else a description (file content is never echoed)."""
    return repr(name) if _PLAIN_NAME.fullmatch(name) else "an object with an unusual name"


def open_hdf5(path):
    """``(h5py.File, size in bytes)`` of ``path`` opened read-only; it must be a regular file."""
    try:
        import h5py
    except ImportError:
        raise WeightsError("reading Keras .weights.h5 files needs h5py: pip install 'h5py>=3.11' "
                           "(the [keras] extra)") from None

    size = check_user_file(path, "weights", "Keras weights")  # h5py opens the path itself
    try:
        return h5py.File(path, "r"), size
    except OSError as exc:
        raise WeightsError(f"cannot read {path!r} as HDF5 ({str(exc).splitlines()[0][:160]}); it is truncated "
                           "or not a Keras .weights.h5 file: save it again with model.save_weights(...)") from None


def _dataset_problem(dataset, file_size):
    """``(problem, logical bytes)`` of one dataset; problem None if it may be read."""
    import h5py

    plist = dataset.id.get_create_plist()
    if plist.get_external_count() > 0:
        return "stores its data in files outside this one (HDF5 external storage)", 0
    if dataset.is_virtual:
        return "is a virtual dataset (it reads other files)", 0
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    unknown = [f for f in filters if f not in _BUILT_IN_FILTERS]
    if unknown:
        return f"uses HDF5 filter {unknown[0]}, not one of {', '.join(_BUILT_IN_FILTERS.values())}", 0
    dtype = dataset.dtype
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None \
            or h5py.check_dtype(ref=dtype) is not None or h5py.check_dtype(vlen=dtype) is not None:
        return f"has dtype kind {dtype.kind!r}, not plain numbers (weights are numbers)", 0
    if dataset.shape is None:
        return "has no dataspace (no data)", 0
    size = int(np.prod(dataset.shape, dtype=object)) * dtype.itemsize
    compressed = 1 in filters
    allowed = file_size * (DEFLATE_MAX_RATIO if compressed else 1)
    if size > allowed:
        shape = "x".join(str(n) for n in dataset.shape)
        limit = f"{DEFLATE_MAX_RATIO} times the file's size (deflate's best ratio)" if compressed else "the file's size"
        return f"declares {shape} {dtype} = {size:,} bytes, more than {limit}, {file_size:,} bytes", size
    return None, size


def checked_datasets(f, path, file_size):
    """``{dataset path: h5py.Dataset}`` of the open file ``f`` once every link passed the rules (UnsafeHDF5Error)."""
    import h5py

    datasets, found = {}, {"links": 0, "bytes": 0}

    def visit(name, link):
        found["links"] += 1
        if found["links"] > MAX_HDF5_LINKS:
            return f"has more than {MAX_HDF5_LINKS:,} links"
        if not isinstance(link, h5py.HardLink):
            kind = {h5py.SoftLink: "a soft link", h5py.ExternalLink: "an external link (to another file)"}.get(
                type(link), "a user-defined link")
            return f"{_named(name)} is {kind}; a Keras weights file has only groups and datasets"
        obj = f[name]
        if isinstance(obj, h5py.Dataset):
            problem, size = _dataset_problem(obj, file_size)
            if problem:
                return f"dataset {_named(name)} {problem}"
            found["bytes"] += size
            if found["bytes"] > MAX_HDF5_DATA_BYTES:
                return f"holds more than {MAX_HDF5_DATA_BYTES:,} bytes of data (MAX_HDF5_DATA_BYTES)"
            datasets[name] = obj
        return None

    problem = f.visititems_links(visit)
    if problem:
        raise UnsafeHDF5Error(f"refusing {path!r}: {problem}; nothing was read from it. Use a file saved by "
                              "Keras's model.save_weights(...) on a machine you trust")
    return datasets
