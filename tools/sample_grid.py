#!/usr/bin/python3
"""Draw 64 digits of the default generator as an 8 x 8 PNG grid, and judge them.

Usage: /usr/bin/python3 tools/sample_grid.py [--weights DIR] [--out weights/samples.png]
       [--judge ../shared/pyribs-lsi-mnist/mnist_classifier.pth]

The 64 latents are the first 64 of the 4,096 fixed standard-normal latents on which
train_models.py judges generators. With --judge (a LeNet-5 .pth, by default pyribs's when it is
beside the checkout) it also prints the two figures that weights/README.md records: the mean
top-class probability over the 4,096 latents and the share of them whose top class is each digit.
"""

import argparse
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402
import train_models  # noqa: E402

GRID_SIDE = 8
SCALE = 2  # each MNIST pixel becomes SCALE x SCALE pixels
GAP = 2    # pixels between digits


def write_gray_png(path, pixels):
    """Write a uint8 grayscale image (H x W) as a PNG file."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", header))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=train_models.WEIGHTS_DIR)
    parser.add_argument("--out", type=Path, default=train_models.WEIGHTS_DIR / "samples.png")
    parser.add_argument("--judge", type=Path, default=train_models.DEFAULT_JUDGE)
    args = parser.parse_args()

    generator = models.load_safetensors(models.Generator(),
                                        args.weights / "generator.safetensors")
    latents = train_models.judge_latents()

    with torch.no_grad():
        images01 = ((generator(latents[:GRID_SIDE ** 2]) + 1) / 2).numpy()[:, 0]
    tile = 28 * SCALE + GAP
    canvas = np.zeros((GRID_SIDE * tile + GAP, GRID_SIDE * tile + GAP), dtype=np.uint8)
    canvas[:] = 128
    for i, image in enumerate(images01):
        row, col = divmod(i, GRID_SIDE)
        big = np.kron(image, np.ones((SCALE, SCALE)))
        top, left = GAP + row * tile, GAP + col * tile
        canvas[top:top + 28 * SCALE, left:left + 28 * SCALE] = np.round(big * 255).astype(np.uint8)
    write_gray_png(args.out, canvas)
    print(f"wrote {args.out}")

    if args.judge.exists():
        classifier = models.load_pyribs_classifier(args.judge)
        mean_prob, shares = train_models.judge_generator(generator, classifier, latents)
        print(f"mean top-class probability on {len(latents)} latents: {mean_prob:.4f}")
        print("share of latents per top class: " +
              ", ".join(f"{digit}: {share:.2%}" for digit, share in enumerate(shares)))


if __name__ == "__main__":
    main()
