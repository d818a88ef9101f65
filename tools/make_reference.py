#!/usr/bin/python3
"""Write tests/data/reference.safetensors: PyTorch's outputs of the three networks.

Usage: /usr/bin/python3 tools/make_reference.py [--weights DIR] [--out FILE]

The C++ engine's tests compare their results with these tensors. The networks are the default
weights (weights/*.safetensors, loaded into PyTorch modules), so rerun this after retraining; the
file's metadata records the weight files' sha256 sums, and the tests refuse a stale reference.
"""

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_idx  # noqa: E402
import models  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
N_REAL_DIGITS = 100
FORMAT_VERSION = "1"


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def reference_latents():
    """65 latents (B x 128): zeros, standard normal, norm 10, and one huge component.

    The huge component is 1000 (a thousand standard deviations). Much larger values make FP32
    itself ill-conditioned: at 1e4, PyTorch's own FP32 images are 1e-5 away from FP64, so no
    FP32 engine could be held to the 1e-5 tolerance there.
    """
    rng = np.random.default_rng(20261204)
    normal = rng.standard_normal((64, models.LATENT_DIM))
    latents = [np.zeros(models.LATENT_DIM)]
    latents += list(normal[:55])
    for row in normal[55:62]:
        latents.append(row / np.linalg.norm(row) * 10.0)
    huge = normal[62].copy()
    huge[7] = 1000.0
    latents.append(huge)
    latents.append(-normal[63] * 3.0)
    return np.asarray(latents, dtype=np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=REPO_ROOT / "weights")
    parser.add_argument("--out", type=Path,
                        default=REPO_ROOT / "tests" / "data" / "reference.safetensors")
    args = parser.parse_args()

    paths = {name: args.weights / f"{name}.safetensors"
             for name in ("generator", "discriminator", "lenet5")}
    generator = models.load_safetensors(models.Generator(), paths["generator"])
    discriminator = models.load_safetensors(models.Discriminator(), paths["discriminator"])
    lenet = models.load_safetensors(models.lenet5(), paths["lenet5"])

    test_images, test_labels = mnist_idx.load_test_set()
    real01 = torch.from_numpy(test_images[:N_REAL_DIGITS].astype(np.float32) / 255.0)
    real01 = real01.view(-1, 1, 28, 28)

    latents = torch.from_numpy(reference_latents())
    with torch.no_grad():
        signed = generator(latents)
        images01 = (signed + 1) / 2
        scores = discriminator(signed).view(-1)
        log_probs = lenet(models.normalize_for_lenet(images01))
        real_log_probs = lenet(models.normalize_for_lenet(real01))
    objectives = log_probs.exp()
    flat = images01.view(len(latents), -1)
    bold = flat >= 0.5
    boldness = bold.sum(dim=1).float()
    lightness = (flat * bold).sum(dim=1) / (boldness + 1)

    tensors = {
        "latents": latents.numpy(),
        "images": flat.numpy(),
        "discriminator_scores": scores.numpy(),
        "log_probs": log_probs.numpy(),
        "objectives": objectives.numpy(),
        "boldness": boldness.numpy(),
        "lightness": lightness.numpy(),
        "real_images": real01.view(N_REAL_DIGITS, -1).numpy(),
        "real_labels": test_labels[:N_REAL_DIGITS].astype(np.float32),
        "real_log_probs": real_log_probs.numpy(),
    }
    metadata = {"format": "lsi-cuda-reference", "format_version": FORMAT_VERSION,
                "torch_version": torch.__version__}
    for name, path in paths.items():
        metadata[f"{name}_sha256"] = sha256_of(path)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    print(f"wrote {args.out}: {len(latents)} latents, {N_REAL_DIGITS} real digits")


if __name__ == "__main__":
    main()
