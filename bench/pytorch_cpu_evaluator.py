#!/usr/bin/python3
"""Time the evaluator in PyTorch on the CPU and lsi-cuda's CPU backend in the same run.

The evaluation is what lsi-cuda's `evaluate` computes for a batch of latents: the generator's
image, boldness and lightness, and LeNet-5's probability of a digit, in FP32. PyTorch (Debian's
python3-torch with OpenBLAS) runs it eagerly under torch.no_grad() with --threads threads.
Then `lsi-cuda bench --device cpu --json --no-loop` times the same batches, and the script
prints both rates and their ratio. The two alternate --rounds times, so that a change in the
machine's load affects both sides alike; the medians are reported.

Usage: /usr/bin/python3 bench/pytorch_cpu_evaluator.py [--lsi-cuda build/lsi-cuda] [--rounds 3]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tools"))
import models  # noqa: E402

DIGIT = 8
MIN_SECONDS = 2.0


def evaluate(generator, lenet, latents):
    """Compute the evaluator's objectives, boldness and lightness for a batch of latents."""
    images01 = (generator(latents) + 1) / 2
    flat = images01.view(len(latents), -1)
    bold = flat >= 0.5
    boldness = bold.sum(dim=1)
    lightness = (flat * bold).sum(dim=1) / (boldness + 1)
    objectives = lenet(models.normalize_for_lenet(images01))[:, DIGIT].exp()
    return objectives, boldness, lightness


def time_pytorch(generator, lenet, n_batch):
    latents = torch.randn(n_batch, models.LATENT_DIM, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        evaluate(generator, lenet, latents)
        n_evaluations = 0
        start = time.perf_counter()
        while time.perf_counter() - start < MIN_SECONDS:
            evaluate(generator, lenet, latents)
            n_evaluations += n_batch
    return n_evaluations / (time.perf_counter() - start)


def time_lsi_cuda(binary, weights, batches):
    command = [str(binary), "bench", "--device", "cpu", "--json", "--no-loop",
               "--weights", str(weights), "--min-seconds", str(MIN_SECONDS), "--batch",
               *[str(b) for b in batches]]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rates = {}
    for line in output.splitlines():
        record = json.loads(line)
        if record["what"] == "evaluator":
            rates[record["batch"]] = record["evals_per_second"]
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lsi-cuda", type=Path, default=REPO_ROOT / "build" / "lsi-cuda")
    parser.add_argument("--weights", type=Path, default=REPO_ROOT / "weights")
    parser.add_argument("--batches", type=int, nargs="+", default=[150, 1024, 4096])
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    generator = models.load_safetensors(models.Generator(), args.weights / "generator.safetensors")
    lenet = models.load_safetensors(models.lenet5(), args.weights / "lenet5.safetensors")

    torch_rates = {b: [] for b in args.batches}
    lsi_rates = {b: [] for b in args.batches}
    for _ in range(args.rounds):
        for n_batch in args.batches:
            torch_rates[n_batch].append(time_pytorch(generator, lenet, n_batch))
        for n_batch, rate in time_lsi_cuda(args.lsi_cuda, args.weights, args.batches).items():
            lsi_rates[n_batch].append(rate)

    print(f"PyTorch {torch.__version__}, {args.threads} threads; medians of {args.rounds} rounds")
    print(f"{'batch':>6} {'PyTorch evals/s':>16} {'lsi-cuda evals/s':>17} {'ratio':>7}")
    for n_batch in args.batches:
        torch_rate = statistics.median(torch_rates[n_batch])
        lsi_rate = statistics.median(lsi_rates[n_batch])
        print(f"{n_batch:>6} {torch_rate:>16.0f} {lsi_rate:>17.0f} {lsi_rate / torch_rate:>7.2f}")


if __name__ == "__main__":
    main()
