"""Reading and writing F32 safetensors files with NumPy alone.

Layout: an 8-byte little-endian header length, a JSON header mapping each tensor's name to its
dtype, shape and data_offsets (relative to the data area), then the raw little-endian data.
"""

import json
import struct

import numpy as np

from convert_weights import safetensors_bytes


def write_safetensors(path, tensors, metadata=None):
    """Write {name: array} as F32 tensors in convert_weights.py's layout."""
    arrays = {name: np.asarray(value, dtype=np.float32) for name, value in tensors.items()}
    metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
    with open(path, "wb") as f:
        f.write(safetensors_bytes(arrays, metadata))


def read_safetensors(path):
    """Return ({name: float32 array}, metadata) from an F32 safetensors file we wrote."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + header_len:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, not F32")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
    return tensors, metadata
