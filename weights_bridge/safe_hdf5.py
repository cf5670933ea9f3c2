"""HDF5 files from strangers (Keras ``.weights.h5``): walk the whole file, refuse, only then read.

HDF5 can make a read fetch bytes from outside the file: a dataset with *external storage* reads
raw bytes from any local file it names (``/etc/passwd``, a key file), a *virtual dataset* reads
other HDF5 files, an *external link* opens another file, a *soft link* aliases any path and a
*user-defined link* runs whatever the library registered for its class. A dataset's shape is only
declared: a 1 MB file can declare 4 TiB, read back as fill values into memory. An unknown filter
makes the library look for a plugin library to load.

:func:`checked_datasets` walks every link of the open file (``visititems_links``: links are listed,
never followed) before a byte of data is read, and refuses with :class:`UnsafeHDF5Error` (a
:class:`~paddle_conv.errors.WeightsError`):

1. any link that is not a hard link (soft, external, user-defined): a Keras file has none;
2. a dataset with external storage (its creation property list names outside files);
3. a virtual dataset;
4. a filter other than deflate, shuffle and fletcher32 (nothing is loaded for others);
5. a dtype that is not a plain number (compound, variable-length, reference, string, opaque,
   array) and a dataset without a dataspace;
6. a dataset whose size (shape x item size) is more than the file's size, or, compressed, more
   than :data:`DEFLATE_MAX_RATIO` times the file's size (deflate cannot do better), and files
   whose datasets hold more than :data:`MAX_HDF5_DATA_BYTES` together, or that have more than
   :data:`MAX_HDF5_LINKS` links.

Messages name the rule and the object's path when it is a plain name (letters, digits, ``_./-``),
never the file's other content (a link's target, an external file's name, data).
"""

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
#: deflate's largest possible compression ratio (zlib's technical details): a compressed dataset
#: declaring more than this times the file's size cannot all be stored in it.
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
    """``{dataset path: h5py.Dataset}`` of every dataset of the open file ``f`` of ``file_size`` bytes,
    after walking every link of it (nothing followed, no data read); raises UnsafeHDF5Error on the
    first link or dataset that breaks a rule of this module."""
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
