"""Tests of tools/convert_weights.py on .pth files built by hand, without PyTorch.

The files mimic what torch.save writes since PyTorch 1.6: a zip archive with <top>/data.pkl, a
protocol-2 pickle of an OrderedDict whose tensors are torch._utils._rebuild_tensor_v2 calls on
persistent storage references, and one raw entry <top>/data/<key> per storage.
Run from tests/: python3 -m unittest -v test_convert_weights
"""

import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CONVERTER = REPO_ROOT / "tools" / "convert_weights.py"
sys.path.insert(0, str(CONVERTER.parent))
import convert_weights  # noqa: E402

# The state_dict shapes of each network, written out here independently of the converter's table.
LENET5_SHAPES = {
    "0.weight": (6, 1, 5, 5), "0.bias": (6,),
    "3.weight": (16, 6, 5, 5), "3.bias": (16,),
    "7.weight": (120, 256), "7.bias": (120,),
    "9.weight": (84, 120), "9.bias": (84,),
    "11.weight": (10, 84), "11.bias": (10,),
}
GENERATOR_SHAPES = {
    "main.0.weight": (256, 128), "main.0.bias": (256,),
    "main.2.weight": (512, 256), "main.2.bias": (512,),
    "main.4.weight": (1024, 512), "main.4.bias": (1024,),
    "main.6.weight": (784, 1024), "main.6.bias": (784,),
}
DISCRIMINATOR_SHAPES = {
    "main.0.weight": (1024, 784), "main.0.bias": (1024,),
    "main.3.weight": (512, 1024), "main.3.bias": (512,),
    "main.6.weight": (256, 512), "main.6.bias": (256,),
    "main.9.weight": (1, 256), "main.9.bias": (1,),
}


def contiguous_strides(shape):
    """Return the row-major strides of `shape`, in elements."""
    strides = []
    step = 1
    for dim in reversed(shape):
        strides.insert(0, step)
        step *= dim
    return tuple(strides)


class PickleWriter:
    """Emits protocol-2 pickle opcodes one by one, so a test can name any global it likes."""

    def __init__(self):
        self.data = bytearray(b"\x80\x02")  # PROTO 2

    def global_(self, module, name):
        self.data += b"c" + f"{module}\n{name}\n".encode("ascii")

    def mark(self):
        self.data += b"("

    def tuple_(self):
        self.data += b"t"

    def tuple1(self):
        self.data += b"\x85"

    def empty_tuple(self):
        self.data += b")"

    def string(self, text):
        encoded = text.encode("utf-8")
        self.data += b"X" + struct.pack("<I", len(encoded)) + encoded

    def integer(self, value):
        self.data += b"J" + struct.pack("<i", value)

    def false(self):
        self.data += b"\x89"

    def none(self):
        self.data += b"N"

    def empty_dict(self):
        self.data += b"}"

    def set_item(self):
        self.data += b"s"

    def set_items(self):
        self.data += b"u"

    def persistent_id(self):
        self.data += b"Q"

    def reduce(self):
        self.data += b"R"

    def build(self):
        self.data += b"b"

    def stop(self):
        self.data += b"."
        return bytes(self.data)

    def int_tuple(self, values):
        self.mark()
        for value in values:
            self.integer(value)
        self.tuple_()


class PthBuilder:
    """Builds a zip-format .pth file of a state_dict, as torch.save lays it out."""

    def __init__(self, top="archive"):
        self.top = top
        self.storages = {}  # storage key -> raw bytes
        # One tuple per tensor: (state_dict key, storage key, storage type, number of elements,
        # offset, size, stride, location).
        self.tensors = []

    def add_storage(self, values, dtype="<f4"):
        """Add a storage holding `values` (1-D) and return its key."""
        key = str(len(self.storages))
        self.storages[key] = np.asarray(values, dtype=dtype).tobytes()
        return key

    def add_view(self, name, storage_key, size, stride=None, offset=0, storage_type="FloatStorage",
                 n_elements=None, location="cuda:0"):
        """Add a tensor that views storage `storage_key` (default n_elements: its float32 count)."""
        if n_elements is None:
            n_elements = len(self.storages[storage_key]) // 4
        stride = contiguous_strides(size) if stride is None else stride
        self.tensors.append((name, storage_key, storage_type, n_elements, offset, tuple(size),
                             tuple(stride), location))

    def add_array(self, name, array, dtype="<f4", storage_type="FloatStorage"):
        """Add `array` as a contiguous tensor with a storage of its own."""
        key = self.add_storage(np.ravel(array), dtype=dtype)
        n_elements = np.asarray(array).size
        self.add_view(name, key, np.shape(array), storage_type=storage_type, n_elements=n_elements)

    def write_tensor(self, writer, tensor):
        name, storage_key, storage_type, n_elements, offset, size, stride, location = tensor
        writer.string(name)
        writer.global_("torch._utils", "_rebuild_tensor_v2")
        writer.mark()
        writer.mark()
        writer.string("storage")
        writer.global_("torch", storage_type)
        writer.string(storage_key)
        writer.string(location)
        writer.integer(n_elements)
        writer.tuple_()
        writer.persistent_id()
        writer.integer(offset)
        writer.int_tuple(size)
        writer.int_tuple(stride)
        writer.false()  # requires_grad
        writer.global_("collections", "OrderedDict")  # backward_hooks
        writer.empty_tuple()
        writer.reduce()
        writer.tuple_()
        writer.reduce()

    def pickle_bytes(self):
        writer = PickleWriter()
        writer.global_("collections", "OrderedDict")
        writer.empty_tuple()
        writer.reduce()
        writer.mark()
        for tensor in self.tensors:
            self.write_tensor(writer, tensor)
        writer.set_items()
        return writer.stop()

    def write(self, path, pickle_bytes=None):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr(f"{self.top}/data.pkl",
                             self.pickle_bytes() if pickle_bytes is None else pickle_bytes)
            for key, data in self.storages.items():
                archive.writestr(f"{self.top}/data/{key}", data)
            archive.writestr(f"{self.top}/version", "3\n")
        return path


def random_state_dict(shapes, seed=0):
    generator = np.random.default_rng(seed)
    return {key: generator.standard_normal(shape).astype(np.float32)
            for key, shape in shapes.items()}


def read_safetensors(path):
    """Read an F32 safetensors file and check the layout the converter promises."""
    raw = Path(path).read_bytes()
    (n_header_bytes,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n_header_bytes])
    data = raw[8 + n_header_bytes:]
    metadata = header.pop("__metadata__")
    arrays = {}
    n_covered_bytes = 0
    for name in sorted(header):  # sorted names must lie one after another in the data area
        entry = header[name]
        begin, end = entry["data_offsets"]
        assert entry["dtype"] == "F32", name
        assert begin == n_covered_bytes, name
        arrays[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        n_covered_bytes = end
    assert n_covered_bytes == len(data)
    return arrays, metadata, n_header_bytes


class ConverterTestCase(unittest.TestCase):
    def setUp(self):
        self._temp_dir = tempfile.TemporaryDirectory(prefix="lsi_test_convert_")
        self.dir = Path(self._temp_dir.name)

    def tearDown(self):
        self._temp_dir.cleanup()

    def path(self, name):
        return str(self.dir / name)

    def build_pth(self, state_dict, name="in.pth", top="archive"):
        builder = PthBuilder(top)
        for key, array in state_dict.items():
            builder.add_array(key, array)
        return builder.write(self.path(name))

    def assert_rejected(self, in_path, network, *fragments):
        """Convert `in_path` and check the ConversionError message contains every fragment."""
        with self.assertRaises(convert_weights.ConversionError) as caught:
            convert_weights.convert(in_path, self.path("out.safetensors"), network)
        message = str(caught.exception)
        self.assertTrue(message.startswith(f"{in_path}: "), message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        self.assertFalse(os.path.exists(self.path("out.safetensors")))
        return message

    def run_cli(self, *args):
        return subprocess.run([sys.executable, str(CONVERTER), *args], capture_output=True,
                              text=True, check=False)


class GoodFileTest(ConverterTestCase):
    def test_lenet5_round_trip(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        in_path = self.build_pth(state_dict, name="classifier.pth")
        out_path = self.path("lenet5.safetensors")

        convert_weights.convert(in_path, out_path, "lenet5")

        arrays, metadata, n_header_bytes = read_safetensors(out_path)
        self.assertEqual(n_header_bytes % 8, 0)
        self.assertEqual(sorted(arrays), sorted(LENET5_SHAPES))
        for key, expected in state_dict.items():
            np.testing.assert_array_equal(arrays[key], expected, err_msg=key)
        self.assertEqual(metadata, {"format": "lsi-cuda-weights", "format_version": "1",
                                    "network": "lenet5", "source": "classifier.pth"})

    def test_generator_and_discriminator(self):
        for network, shapes in (("generator", GENERATOR_SHAPES),
                                ("discriminator", DISCRIMINATOR_SHAPES)):
            with self.subTest(network=network):
                state_dict = random_state_dict(shapes, seed=1)
                out_path = self.path(f"{network}.safetensors")
                convert_weights.convert(self.build_pth(state_dict), out_path, network)
                arrays, metadata, _ = read_safetensors(out_path)
                self.assertEqual(metadata["network"], network)
                for key, expected in state_dict.items():
                    np.testing.assert_array_equal(arrays[key], expected, err_msg=key)

    def test_strided_views_and_offsets(self):
        # Each weight shares one storage with its bias, which starts past the weight's values.
        # A linear weight is stored transposed, so its view has strides (1, n_out).
        state_dict = random_state_dict(LENET5_SHAPES, seed=2)
        builder = PthBuilder(top="classifier_top")
        for weight_key in [key for key in LENET5_SHAPES if key.endswith(".weight")]:
            bias_key = weight_key.replace(".weight", ".bias")
            weight = state_dict[weight_key]
            bias = state_dict[bias_key]
            if weight.ndim == 2:
                n_out = weight.shape[0]
                storage = builder.add_storage(np.concatenate([weight.T.ravel(), [7, 8, 9], bias]))
                builder.add_view(weight_key, storage, weight.shape, stride=(1, n_out))
                builder.add_view(bias_key, storage, bias.shape, offset=weight.size + 3)
            else:
                storage = builder.add_storage(np.concatenate([np.zeros(5), weight.ravel(), bias]))
                builder.add_view(weight_key, storage, weight.shape, offset=5)
                builder.add_view(bias_key, storage, bias.shape, offset=5 + weight.size)
        in_path = builder.write(self.path("views.pth"))

        arrays = convert_weights.convert(in_path, self.path("out.safetensors"), "lenet5")

        for key, expected in state_dict.items():
            np.testing.assert_array_equal(arrays[key], expected, err_msg=key)
            self.assertTrue(arrays[key].flags["C_CONTIGUOUS"], key)

    def test_cli_success(self):
        in_path = self.build_pth(random_state_dict(LENET5_SHAPES))
        result = self.run_cli("--network", "lenet5", in_path, self.path("out.safetensors"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("10 tensors", result.stdout)


class MaliciousPickleTest(ConverterTestCase):
    """Pickles that would run a command if loaded with pickle.load: each must be rejected unrun."""

    def write_archive(self, pickle_bytes):
        return PthBuilder().write(self.path("evil.pth"), pickle_bytes=pickle_bytes)

    def command_pickle(self, module, name, argument):
        writer = PickleWriter()
        writer.global_(module, name)
        writer.string(argument)
        writer.tuple1()
        writer.reduce()
        return writer.stop()

    def test_os_system_rejected(self):
        marker = self.path("marker")
        in_path = self.write_archive(self.command_pickle("os", "system", f"touch {marker}"))

        self.assert_rejected(in_path, "lenet5", "rejected the global os.system")

        self.assertFalse(os.path.exists(marker))

    def test_builtins_eval_rejected(self):
        marker = self.path("marker")
        in_path = self.write_archive(
            self.command_pickle("builtins", "eval", f"open({marker!r}, 'w').close()"))

        self.assert_rejected(in_path, "lenet5", "rejected the global builtins.eval")

        self.assertFalse(os.path.exists(marker))

    def test_reduce_method_rejected(self):
        # pickle.dumps of an object whose __reduce__ returns os.system names posix.system on
        # Linux; protocol 4 resolves it with STACK_GLOBAL in place of GLOBAL.
        marker = self.path("marker")

        class RunsCommand:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        for protocol in (2, 4):
            with self.subTest(protocol=protocol):
                in_path = self.write_archive(pickle.dumps(RunsCommand(), protocol=protocol))
                self.assert_rejected(in_path, "lenet5",
                                     f"rejected the global {os.system.__module__}.system")
                self.assertFalse(os.path.exists(marker))

    def test_command_in_backward_hooks_rejected(self):
        # A valid-looking tensor whose backward_hooks argument is a call to os.system.
        marker = self.path("marker")
        writer = PickleWriter()
        writer.global_("collections", "OrderedDict")
        writer.empty_tuple()
        writer.reduce()
        writer.string("0.bias")
        writer.global_("torch._utils", "_rebuild_tensor_v2")
        writer.mark()
        writer.mark()
        writer.string("storage")
        writer.global_("torch", "FloatStorage")
        writer.string("0")
        writer.string("cpu")
        writer.integer(6)
        writer.tuple_()
        writer.persistent_id()
        writer.integer(0)
        writer.int_tuple((6,))
        writer.int_tuple((1,))
        writer.false()
        writer.data += self.command_pickle("os", "system", f"touch {marker}")[2:-1]
        writer.tuple_()
        writer.reduce()
        writer.set_item()
        in_path = self.write_archive(writer.stop())

        self.assert_rejected(in_path, "lenet5", "rejected the global os.system")

        self.assertFalse(os.path.exists(marker))

    def test_build_on_stand_in_rejected(self):
        # BUILD with slot state would move a checked tensor's offset out of its storage.
        writer = PickleWriter()
        writer.global_("torch._utils", "_rebuild_tensor_v2")
        writer.mark()
        writer.mark()
        writer.string("storage")
        writer.global_("torch", "FloatStorage")
        writer.string("0")
        writer.string("cpu")
        writer.integer(6)
        writer.tuple_()
        writer.persistent_id()
        writer.integer(0)
        writer.int_tuple((6,))
        writer.int_tuple((1,))
        writer.tuple_()
        writer.reduce()
        writer.none()
        writer.empty_dict()
        writer.string("storage_offset")
        writer.integer(10**9)
        writer.set_item()
        writer.data += b"\x86"  # TUPLE2: (None, {"storage_offset": 10**9})
        writer.build()
        in_path = self.write_archive(writer.stop())

        self.assert_rejected(in_path, "lenet5", "sets attribute 'storage_offset'")

    def test_buffer_opcode_rejected(self):
        in_path = self.write_archive(pickle.dumps(bytearray(b"data"), protocol=5))
        self.assert_rejected(in_path, "lenet5", "opcode BYTEARRAY8")

    def test_cli_prints_one_line(self):
        marker = self.path("marker")
        in_path = self.write_archive(self.command_pickle("os", "system", f"touch {marker}"))

        result = self.run_cli("--network", "lenet5", in_path, self.path("out.safetensors"))

        self.assertEqual(result.returncode, 2)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertTrue(result.stderr.startswith("convert_weights.py: error: "), result.stderr)
        self.assertIn("os.system", result.stderr)
        self.assertFalse(os.path.exists(marker))


class BadStateDictTest(ConverterTestCase):
    def test_wrong_key_rejected(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        state_dict["fc.weight"] = state_dict.pop("7.weight")
        self.assert_rejected(self.build_pth(state_dict), "lenet5",
                             "unexpected key 'fc.weight' for the lenet5 network")

    def test_missing_key_rejected(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        del state_dict["11.bias"]
        self.assert_rejected(self.build_pth(state_dict), "lenet5", "missing key '11.bias'")

    def test_wrong_network_rejected(self):
        in_path = self.build_pth(random_state_dict(LENET5_SHAPES))
        self.assert_rejected(in_path, "generator", "unexpected key '0.weight'",
                             "the generator network")

    def test_wrong_shape_rejected(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        state_dict["9.weight"] = state_dict["9.weight"].T.copy()
        self.assert_rejected(self.build_pth(state_dict), "lenet5",
                             "tensor '9.weight' has shape [120, 84], expected [84, 120]")

    def test_double_storage_rejected(self):
        builder = PthBuilder()
        for key, array in random_state_dict(LENET5_SHAPES).items():
            if key == "3.weight":
                builder.add_array(key, array, dtype="<f8", storage_type="DoubleStorage")
            else:
                builder.add_array(key, array)
        in_path = builder.write(self.path("double.pth"))
        self.assert_rejected(in_path, "lenet5",
                             "tensor '3.weight' is stored as torch.DoubleStorage (float64)",
                             "only float32")

    def test_nan_rejected(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        state_dict["7.bias"][5] = np.nan
        self.assert_rejected(self.build_pth(state_dict), "lenet5",
                             "tensor '7.bias' has a non-finite value (nan) at flat index 5")

    def test_view_past_storage_rejected(self):
        builder = PthBuilder()
        for key, array in random_state_dict(LENET5_SHAPES).items():
            if key == "0.bias":
                storage = builder.add_storage(array)
                builder.add_view(key, storage, (6,), stride=(2,))  # reaches element 10 of 6
            else:
                builder.add_array(key, array)
        in_path = builder.write(self.path("strided.pth"))
        self.assert_rejected(in_path, "lenet5", "tensor '0.bias'", "reaches element 10",
                             "which has 6")

    def test_short_storage_rejected(self):
        builder = PthBuilder()
        for key, array in random_state_dict(LENET5_SHAPES).items():
            builder.add_array(key, array)
        builder.storages["0"] = builder.storages["0"][:-4]
        in_path = builder.write(self.path("short.pth"))
        self.assert_rejected(in_path, "lenet5", "storage 0 has 596 bytes, expected 600")

    def test_not_a_zip_rejected(self):
        in_path = self.path("legacy.pth")
        Path(in_path).write_bytes(pickle.dumps({"0.weight": [1.0]}))
        self.assert_rejected(in_path, "lenet5", "not a zip archive")

    def test_missing_file_rejected(self):
        self.assert_rejected(self.path("absent.pth"), "lenet5", "file not found")

    def test_cli_wrong_shape_exit_status(self):
        state_dict = random_state_dict(LENET5_SHAPES)
        state_dict["0.bias"] = np.zeros(7, dtype=np.float32)
        result = self.run_cli("--network", "lenet5", self.build_pth(state_dict),
                              self.path("out.safetensors"))
        self.assertEqual(result.returncode, 2)
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("tensor '0.bias' has shape [7], expected [6]", result.stderr)


def shared_dir():
    return Path(os.environ.get("LSI_SHARED_DIR", REPO_ROOT.parent / "shared"))


PYRIBS_CLASSIFIER = shared_dir() / "pyribs-lsi-mnist" / "mnist_classifier.pth"


class PyribsClassifierTest(ConverterTestCase):
    @unittest.skipUnless(PYRIBS_CLASSIFIER.exists(), f"{PYRIBS_CLASSIFIER} not found")
    def test_pyribs_classifier_converts(self):
        out_path = self.path("lenet5.safetensors")

        convert_weights.convert(str(PYRIBS_CLASSIFIER), out_path, "lenet5")

        arrays, metadata, _ = read_safetensors(out_path)
        self.assertEqual({key: array.shape for key, array in arrays.items()}, LENET5_SHAPES)
        for key, array in arrays.items():
            self.assertTrue(np.isfinite(array).all(), key)
            self.assertGreater(np.abs(array).max(), 0.0, key)  # trained weights are not all zero
        self.assertEqual(metadata["source"], "mnist_classifier.pth")


if __name__ == "__main__":
    unittest.main()
