#!/usr/bin/python3
"""Convert a PyTorch state_dict (.pth) of one of our networks to a safetensors weight file.

    tools/convert_weights.py --network lenet5 mnist_classifier.pth lenet5.safetensors

Reads the zip format that torch.save writes since PyTorch 1.6 with Python and NumPy only, so
PyTorch need not be installed. The pickle inside is loaded by a restricted unpickler that resolves
only the globals a state_dict uses and maps them to inert stand-ins, so a crafted .pth file cannot
run code. The keys, shapes and values are checked against the named network before anything is
written. Any error prints one line and exits with status 2.
"""

import argparse
import collections
import io
import json
import os
import pickle
import pickletools
import sys
import tempfile
import zipfile
import zlib

import numpy as np

FORMAT = "lsi-cuda-weights"
FORMAT_VERSION = "1"
EXIT_ERROR = 2

# Caps on what is read from the archive. A state_dict's pickle is a few KB, so these only stop a
# corrupt or crafted archive from exhausting memory.
MAX_PICKLE_BYTES = 64 * 2**20
MAX_STORAGE_BYTES = 4 * 2**30


def _linear_shapes(key, n_inputs, n_outputs):
    """Return the state_dict shapes of an nn.Linear at `key`: weight (out, in) and bias (out)."""
    return {f"{key}.weight": (n_outputs, n_inputs), f"{key}.bias": (n_outputs,)}


def _conv_shapes(key, n_in_channels, n_out_channels, kernel_size):
    """Return the state_dict shapes of an nn.Conv2d at `key`: weight (out, in, k, k), bias (out)."""
    weight_shape = (n_out_channels, n_in_channels, kernel_size, kernel_size)
    return {f"{key}.weight": weight_shape, f"{key}.bias": (n_out_channels,)}


# The exact state_dict of each network, as tools/models.py defines it.
NETWORK_SHAPES = {
    "generator": {
        **_linear_shapes("main.0", 128, 256),
        **_linear_shapes("main.2", 256, 512),
        **_linear_shapes("main.4", 512, 1024),
        **_linear_shapes("main.6", 1024, 784),
    },
    "discriminator": {
        **_linear_shapes("main.0", 784, 1024),
        **_linear_shapes("main.3", 1024, 512),
        **_linear_shapes("main.6", 512, 256),
        **_linear_shapes("main.9", 256, 1),
    },
    "lenet5": {
        **_conv_shapes("0", 1, 6, 5),
        **_conv_shapes("3", 6, 16, 5),
        **_linear_shapes("7", 256, 120),
        **_linear_shapes("9", 120, 84),
        **_linear_shapes("11", 84, 10),
    },
}


class ConversionError(Exception):
    """An input or output problem that the user must fix. main() prints it as one line."""


class _Frozen:
    """Base of the unpickler's stand-ins. Their fields are fixed at construction, so the BUILD
    opcode of a crafted pickle cannot change them after they were checked."""

    __slots__ = ()

    def __init__(self, **fields):
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise ConversionError(
            f"the pickle sets attribute {name!r} of a {type(self).__name__.lstrip('_')}, "
            "which a state_dict never does"
        )


class _StorageType(_Frozen):
    """Stand-in for a torch storage class such as torch.FloatStorage."""

    __slots__ = ("name", "dtype_name")


class _Storage(_Frozen):
    """A storage that the pickle refers to: its entry `data/<key>` in the archive."""

    __slots__ = ("storage_type", "key", "location", "n_elements")


class _Tensor(_Frozen):
    """A tensor as the pickle describes it: a view of a storage, read only after checks."""

    __slots__ = ("storage", "storage_offset", "size", "stride")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for torch._utils._rebuild_tensor_v2 that records the view without reading data.

    requires_grad, backward_hooks and metadata do not change the values, so they are ignored.
    """
    del requires_grad, backward_hooks, metadata
    return _Tensor(storage=storage, storage_offset=storage_offset, size=size, stride=stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    """Stand-in for torch._utils._rebuild_parameter: a Parameter's values are its tensor's."""
    del requires_grad, backward_hooks
    return data


# The torch storage classes by name, with the dtype of their elements. Only float32 is converted.
_STORAGE_DTYPE_NAMES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QUInt8Storage": "quint8",
    "QInt8Storage": "qint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "untyped bytes",
}

# Every global that the unpickler resolves, mapped to its safe stand-in.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{
        ("torch", name): _StorageType(name=name, dtype_name=dtype_name)
        for name, dtype_name in _STORAGE_DTYPE_NAMES.items()
    },
}


# Opcodes that build objects a state_dict does not contain: out-of-band buffers (protocol 5),
# the copyreg extension registry, and instances of classes.
_REJECTED_OPCODES = {
    "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER",
    "EXT1", "EXT2", "EXT4",
    "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX",
}


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals of a state_dict and storage references."""

    def find_class(self, module, name):
        stand_in = _ALLOWED_GLOBALS.get((module, name))
        if stand_in is None:
            raise ConversionError(
                f"rejected the global {module}.{name} in the pickle, which a state_dict never "
                "needs. The file holds a pickled model or other object, or was crafted to run "
                "code, so it was not loaded. Save model.state_dict() with torch.save instead"
            )
        return stand_in

    def persistent_load(self, pid):
        # torch.save writes ('storage', storage type, key, location, number of elements).
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ConversionError(f"the pickle has an unknown persistent id {pid!r}")
        _, storage_type, key, location, n_elements = pid
        if not isinstance(storage_type, _StorageType):
            raise ConversionError(f"storage {key!r} has an unknown storage type {storage_type!r}")
        if not isinstance(key, str) or not isinstance(location, str):
            raise ConversionError(f"storage reference {pid!r} has a key or location that is not "
                                  "a string")
        if not _is_index(n_elements):
            raise ConversionError(f"storage {key!r} has an invalid size {n_elements!r}")
        return _Storage(storage_type=storage_type, key=key, location=location,
                        n_elements=n_elements)


def _is_index(value):
    """Return whether `value` is a non-negative int (bool excluded)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _find_pickle_entry(archive, path):
    """Return the archive's top folder name: the X of the single entry X/data.pkl."""
    tops = [name.split("/")[0] for name in archive.namelist()
            if name.count("/") == 1 and name.endswith("/data.pkl")]
    if len(tops) != 1:
        raise ConversionError(
            f"{path}: found {len(tops)} entries <folder>/data.pkl in the zip archive, expected 1, "
            "so it is not a file written by torch.save"
        )
    return tops[0]


def _read_entry(archive, name, max_bytes, path):
    """Read one archive entry after checking its declared size against `max_bytes`."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ConversionError(f"{path}: the archive has no entry {name}") from None
    if info.file_size > max_bytes:
        raise ConversionError(f"{path}: entry {name} is {info.file_size} bytes, more than the "
                              f"{max_bytes} this converter reads")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
        raise ConversionError(f"{path}: could not read entry {name} of the archive: "
                              f"{error}") from None


class _StorageReader:
    """Reads each float32 storage of the archive once, as a read-only 1-D array."""

    def __init__(self, archive, top, path):
        self._archive = archive
        self._top = top
        self._path = path
        self._arrays = {}
        # Newer PyTorch versions record the byte order of the storages; older ones wrote
        # little-endian storages without a record.
        byte_order_entry = f"{top}/byteorder"
        byte_order = "little"
        if byte_order_entry in archive.namelist():
            raw_byte_order = _read_entry(archive, byte_order_entry, 16, path)
            byte_order = raw_byte_order.decode("ascii", errors="replace").strip()
        if byte_order not in ("little", "big"):
            raise ConversionError(f"{path}: unknown byte order {byte_order!r} in "
                                  f"{byte_order_entry}")
        self._dtype = np.dtype("<f4" if byte_order == "little" else ">f4")

    def read(self, storage):
        if storage.key not in self._arrays:
            name = f"{self._top}/data/{storage.key}"
            data = _read_entry(self._archive, name, MAX_STORAGE_BYTES, self._path)
            n_expected_bytes = storage.n_elements * self._dtype.itemsize
            if len(data) != n_expected_bytes:
                raise ConversionError(
                    f"{self._path}: storage {storage.key} has {len(data)} bytes, expected "
                    f"{n_expected_bytes} for {storage.n_elements} float32 values"
                )
            self._arrays[storage.key] = np.frombuffer(data, dtype=self._dtype)
        return self._arrays[storage.key]


def _tensor_to_array(key, tensor, expected_shape, network, storages, path):
    """Check the view `tensor` of its storage, then copy it out as a contiguous float32 array.

    The shape is compared with `expected_shape` before any data is read, and the offset and
    strides are checked against the storage before np.lib.stride_tricks.as_strided is called,
    because as_strided itself reads out of bounds without complaint.
    """
    if not isinstance(tensor, _Tensor):
        raise ConversionError(f"{path}: entry {key!r} is a {type(tensor).__name__}, not a tensor")
    storage = tensor.storage
    if not isinstance(storage, _Storage):
        raise ConversionError(f"{path}: tensor {key!r} has no storage reference")
    if storage.storage_type.name != "FloatStorage":
        raise ConversionError(
            f"{path}: tensor {key!r} is stored as torch.{storage.storage_type.name} "
            f"({storage.storage_type.dtype_name}), but only float32 is converted. "
            "Call model.float() before saving the state_dict"
        )

    # The view's geometry, checked as plain integers.
    offset, size, stride = tensor.storage_offset, tensor.size, tensor.stride
    valid_geometry = (
        _is_index(offset)
        and isinstance(size, tuple) and all(_is_index(dim) for dim in size)
        and isinstance(stride, tuple) and all(_is_index(step) for step in stride)
        and len(size) == len(stride)
    )
    if not valid_geometry:
        raise ConversionError(f"{path}: tensor {key!r} has an invalid view of its storage: "
                              f"offset {offset!r}, size {size!r}, stride {stride!r}")
    if size != expected_shape:
        raise ConversionError(f"{path}: tensor {key!r} has shape {list(size)}, "
                              f"expected {list(expected_shape)} for the {network} network")

    # The last element the view reaches must lie inside the storage.
    values = storages.read(storage)
    n_elements = int(np.prod(size, dtype=object))
    if n_elements == 0:
        return np.zeros(size, dtype=np.float32)
    last_index = offset + sum((dim - 1) * step for dim, step in zip(size, stride))
    if last_index >= values.size:
        raise ConversionError(
            f"{path}: tensor {key!r} (offset {offset}, size {size}, stride {stride}) reaches "
            f"element {last_index} of storage {storage.key}, which has {values.size}"
        )

    itemsize = values.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        values[offset:], shape=size, strides=[step * itemsize for step in stride], writeable=False
    )
    return np.ascontiguousarray(view, dtype="<f4")


def _open_archive(path):
    """Open the .pth file as a zip archive."""
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ConversionError(f"{path}: file not found") from None
    except zipfile.BadZipFile:
        raise ConversionError(
            f"{path}: not a zip archive. Only the zip format that torch.save writes since "
            "PyTorch 1.6 is read. Re-save the state_dict with a current PyTorch"
        ) from None
    except OSError as error:
        raise ConversionError(f"{path}: could not open the file: {error.strerror}") from None


def _check_opcodes(pickle_bytes):
    """Parse the whole opcode stream without running it, and reject opcodes a state_dict never
    uses. The protocol-5 buffer opcodes matter most: on truncated input, CPython 3.11's C
    unpickler prints an unraisable SystemError for them, and a state_dict has no out-of-band
    buffers."""
    for opcode, _, position in pickletools.genops(pickle_bytes):
        if opcode.name in _REJECTED_OPCODES:
            raise ConversionError(f"the pickle uses opcode {opcode.name} at byte {position}, "
                                  "which a state_dict never needs")


def _load_state_dict(archive, path):
    """Unpickle the state_dict of an open .pth archive: {key: _Tensor}, plus a storage reader."""
    top = _find_pickle_entry(archive, path)
    pickle_bytes = _read_entry(archive, f"{top}/data.pkl", MAX_PICKLE_BYTES, path)
    try:
        _check_opcodes(pickle_bytes)
        state_dict = _StateDictUnpickler(io.BytesIO(pickle_bytes)).load()
    except ConversionError as error:
        raise ConversionError(f"{path}: {error}") from None
    except Exception as error:  # pylint: disable=broad-except
        # A corrupt pickle can raise nearly any exception type from inside pickle's opcodes.
        raise ConversionError(f"{path}: {top}/data.pkl is not a valid state_dict pickle "
                              f"({type(error).__name__}: {error})") from None

    if not isinstance(state_dict, dict):
        raise ConversionError(f"{path}: the pickle contains a {type(state_dict).__name__}, not a "
                              "state_dict. Save model.state_dict() with torch.save")
    return state_dict, _StorageReader(archive, top, path)


def convert_state_dict(in_path, network):
    """Read `in_path` and return {key: float32 array} after checking it against `network`."""
    expected_shapes = NETWORK_SHAPES[network]
    with _open_archive(in_path) as archive:
        state_dict, storages = _load_state_dict(archive, in_path)
        return _check_and_read(state_dict, storages, expected_shapes, network, in_path)


def _check_and_read(state_dict, storages, expected_shapes, network, in_path):
    """Check the state_dict's keys against `expected_shapes`, then read and check each tensor."""

    # Step 1: exactly the network's keys.
    expected_list = ", ".join(expected_shapes)
    for key in state_dict:
        if key not in expected_shapes:
            raise ConversionError(f"{in_path}: unexpected key {key!r} for the {network} network "
                                  f"(expected keys: {expected_list})")
    for key in expected_shapes:
        if key not in state_dict:
            raise ConversionError(f"{in_path}: missing key {key!r} for the {network} network "
                                  f"(expected keys: {expected_list})")

    # Step 2: each tensor's dtype, shape, storage view and values.
    arrays = {}
    for key, expected_shape in expected_shapes.items():
        array = _tensor_to_array(key, state_dict[key], expected_shape, network, storages,
                                 in_path)
        non_finite = np.flatnonzero(~np.isfinite(array))
        if non_finite.size > 0:
            index = int(non_finite[0])
            raise ConversionError(
                f"{in_path}: tensor {key!r} has a non-finite value ({array.flat[index]}) at flat "
                f"index {index}. Non-finite weights usually come from a training run that "
                "diverged. Convert an earlier checkpoint"
            )
        arrays[key] = array
    return arrays


def safetensors_bytes(arrays, metadata):
    """Serialise float32 arrays as a safetensors file, tensors sorted by name.

    The header is compact JSON padded with spaces to a multiple of 8 bytes, so that the data area
    starts 8-byte aligned.
    """
    header = {"__metadata__": metadata}
    chunks = []
    n_data_bytes = 0
    for name in sorted(arrays):
        data = np.ascontiguousarray(arrays[name], dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arrays[name].shape),
            "data_offsets": [n_data_bytes, n_data_bytes + len(data)],
        }
        chunks.append(data)
        n_data_bytes += len(data)

    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return len(header_bytes).to_bytes(8, "little") + header_bytes + b"".join(chunks)


def _write_atomically(path, data):
    """Write `data` to `path` through a temporary file, so a failed write leaves no partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as temporary:
            temporary.write(data)
        # NamedTemporaryFile creates the file private (0600); give it the usual mode instead.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary.name, 0o666 & ~umask)
        os.replace(temporary.name, path)
    except OSError as error:
        raise ConversionError(f"{path}: could not write the output: {error.strerror}") from None


def convert(in_path, out_path, network):
    """Convert the state_dict `in_path` of `network` to the safetensors file `out_path`."""
    arrays = convert_state_dict(in_path, network)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "network": network,
        "source": os.path.basename(in_path),
    }
    _write_atomically(out_path, safetensors_bytes(arrays, metadata))
    return arrays


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert a PyTorch state_dict (.pth, zip format) to a safetensors file "
                    "for lsi-cuda, without importing PyTorch."
    )
    parser.add_argument("--network", required=True, choices=sorted(NETWORK_SHAPES),
                        help="network whose keys and shapes the file must match")
    parser.add_argument("in_path", metavar="IN.pth", help="state_dict saved with torch.save")
    parser.add_argument("out_path", metavar="OUT.safetensors", help="weight file to write")
    args = parser.parse_args(argv)

    try:
        arrays = convert(args.in_path, args.out_path, args.network)
    except ConversionError as error:
        print(f"convert_weights.py: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    n_values = sum(array.size for array in arrays.values())
    print(f"wrote {args.out_path}: {len(arrays)} tensors, {n_values} float32 values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
