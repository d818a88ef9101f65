#!/usr/bin/env python3
"""Time the evaluator's networks in PyTorch, and compare them with lsi-cuda's CUDA backend.

The evaluation is the one that lsi-cuda's `evaluate` computes: the generator's image of each
latent, its boldness and lightness, and LeNet-5's probability of a digit. PyTorch runs it in
FP32 (TF32 off unless --tf32), eagerly and replayed from a CUDA graph, at each batch size:

- device: latents already on the GPU and outputs left there, timed with CUDA events.
- end-to-end: latents copied from the host, the images and measures copied back.

Then it runs `lsi-cuda bench --device cuda --json --batch <batches> --no-loop` (unless
--no-lsi-cuda) and prints lsi-cuda's evals/s over PyTorch's for each batch: its device figures
against PyTorch's device figures, and its end-to-end figures against PyTorch's end-to-end ones.
The `bench` command's evaluator figures are end-to-end. With --device cpu the script runs small
batches on the CPU, which only checks the script itself on a machine without a GPU.

Usage: python3 bench/pytorch_gpu_evaluator.py [--weights weights] [--lsi-cuda build/lsi-cuda]
"""

import argparse
import json
import os
import shlex
import struct
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import models  # noqa: E402

DEFAULT_BATCHES = [150, 4096, 65536]
WARMUP_REPS = 3
TARGET_SECONDS = 0.5  # timed work per measurement, as lsi-cuda's own benchmark uses
MIN_REPS = 5
MAX_REPS = 1000
LATENT_SEED = 20240611


def read_safetensors(path):
    """Read an F32 safetensors file into a dict of CPU tensors (no safetensors package needed)."""
    with open(path, "rb") as f:
        (n_header_bytes,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n_header_bytes))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
        tensors[name] = values.reshape(entry["shape"])
    return tensors


def load_or_keep_random(module, path, label):
    """Load `path` into `module` when it exists; otherwise keep PyTorch's random initialisation,
    which times the same as trained weights."""
    if path and os.path.exists(path):
        module.load_state_dict(read_safetensors(path))
        print(f"{label}: loaded {path}")
    else:
        print(f"{label}: {path} not found, timing random weights")
    return module


class Evaluator(nn.Module):
    """Latents (B x 128) to images01 (B x 784), objectives, boldness and lightness (B each)."""

    def __init__(self, generator, lenet5, digit):
        super().__init__()
        self.generator = generator
        self.lenet5 = lenet5
        self.digit = digit

    def forward(self, latents):
        images01 = (self.generator.main(latents) + 1.0) / 2.0
        bold = images01 >= 0.5
        boldness = bold.sum(dim=1).to(images01.dtype)
        lightness = (images01 * bold).sum(dim=1) / (boldness + 1.0)
        normalized = models.normalize_for_lenet(images01).view(-1, 1, 28, 28)
        objectives = self.lenet5(normalized)[:, self.digit].exp()
        return images01, objectives, boldness, lightness


def reps_for(seconds_per_rep):
    return int(min(MAX_REPS, max(MIN_REPS, TARGET_SECONDS / max(seconds_per_rep, 1e-9))))


class Timer:
    """Mean seconds per call of fn over n_reps: CUDA events on a GPU, a clock on the CPU."""

    def __init__(self, device):
        self.device = device

    def seconds(self, fn, n_reps):
        if self.device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(n_reps):
                fn()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop) / 1e3 / n_reps
        start = time.perf_counter()
        for _ in range(n_reps):
            fn()
        return (time.perf_counter() - start) / n_reps

    def evals_per_s(self, fn, n_batch):
        for _ in range(WARMUP_REPS):
            fn()
        n_reps = reps_for(self.seconds(fn, 1))
        return n_batch / self.seconds(fn, n_reps), n_reps


def graph_of(evaluator, static_latents):
    """Capture one evaluation of static_latents as a CUDA graph; returns its replay function."""
    side_stream = torch.cuda.Stream()
    side_stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side_stream):
        for _ in range(WARMUP_REPS):
            evaluator(static_latents)
    torch.cuda.current_stream().wait_stream(side_stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        evaluator(static_latents)
    return graph.replay


def bench_pytorch(evaluator, batches, device):
    timer = Timer(device)
    generator = torch.Generator().manual_seed(LATENT_SEED)
    rows = []
    for n_batch in batches:
        host_latents = torch.randn(n_batch, models.LATENT_DIM, generator=generator)
        if device.type == "cuda":
            host_latents = host_latents.pin_memory()
        device_latents = host_latents.to(device)
        row = {"n_batch": n_batch}

        with torch.inference_mode():
            row["eager_evals_per_s"], row["eager_reps"] = timer.evals_per_s(
                lambda: evaluator(device_latents), n_batch)

            def end_to_end():
                outputs = evaluator(host_latents.to(device, non_blocking=True))
                return [output.cpu() for output in outputs]

            row["eager_end_to_end_evals_per_s"], _ = timer.evals_per_s(end_to_end, n_batch)

        if device.type == "cuda":
            try:
                replay = graph_of(evaluator, device_latents)
                row["graph_evals_per_s"], row["graph_reps"] = timer.evals_per_s(replay, n_batch)
            except RuntimeError as error:  # raised when an operation cannot be captured
                print(f"batch {n_batch}: CUDA graph capture failed: {error}")
        rows.append(row)
    return rows


def parse_lsi_cuda_json(text):
    """Read lsi-cuda's benchmark output into {batch size: figures}.

    Two layouts are accepted: one JSON object per line with "what", "batch" and
    "evals_per_second" (host-to-host evaluate calls, read as end-to-end figures; "loop" lines are
    skipped), or one document {"results": [...]} with "n_batch", "device_evals_per_s" and
    "end_to_end_evals_per_s" per result (kernels/cuda_bench.h).
    """
    by_batch = {}
    start = text.find("{")
    if start >= 0:
        try:
            document = json.loads(text[start:])
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("results"), list):
            for result in document["results"]:
                if isinstance(result, dict) and "n_batch" in result:
                    by_batch[int(result["n_batch"])] = result
            return by_batch

    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("what", "evaluator") != "evaluator":
            continue
        batch = record.get("batch", record.get("n_batch"))
        rate = record.get("evals_per_second")
        if batch is not None and rate is not None:
            by_batch[int(batch)] = {"end_to_end_evals_per_s": float(rate)}
    return by_batch


def run_lsi_cuda(binary, extra_args):
    """Run `lsi-cuda bench --device cuda --json` and return its results by batch size."""
    command = [binary, "bench", "--device", "cuda", "--json"] + extra_args
    print("running:", " ".join(shlex.quote(part) for part in command))
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"lsi-cuda bench did not run: {error}")
        return {}
    if completed.returncode != 0:
        print(f"lsi-cuda bench failed with exit status {completed.returncode}:")
        print(completed.stderr.strip() or completed.stdout.strip())
        return {}

    by_batch = parse_lsi_cuda_json(completed.stdout)
    if not by_batch:
        print(f"lsi-cuda bench printed no evaluator results; its output was:\n{completed.stdout}")
    return by_batch


def ratio(numerator, denominator):
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def print_table(rows, lsi_results):
    header = (f"{'batch':>8} {'torch eager':>14} {'torch graph':>14} {'torch e2e':>12} "
              f"{'lsi device':>14} {'lsi e2e':>12} {'vs eager':>9} {'vs graph':>9} "
              f"{'e2e vs e2e':>10}")
    print("evals/s; the ratios are lsi-cuda's evals/s over PyTorch's")
    print(header)
    for row in rows:
        lsi = lsi_results.get(row["n_batch"], {})
        lsi_device = lsi.get("device_evals_per_s")
        lsi_end_to_end = lsi.get("end_to_end_evals_per_s")
        graph = row.get("graph_evals_per_s")

        def fmt(value, width):
            return f"{value:>{width}.4g}" if value else f"{'n/a':>{width}}"

        print(f"{row['n_batch']:>8} {fmt(row['eager_evals_per_s'], 14)} {fmt(graph, 14)} "
              f"{fmt(row['eager_end_to_end_evals_per_s'], 12)} {fmt(lsi_device, 14)} "
              f"{fmt(lsi_end_to_end, 12)} {ratio(lsi_device, row['eager_evals_per_s']):>9} "
              f"{ratio(lsi_device, graph):>9} "
              f"{ratio(lsi_end_to_end, row['eager_end_to_end_evals_per_s']):>10}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=os.path.join(REPO_ROOT, "weights"),
                        help="folder with generator.safetensors and lenet5.safetensors")
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="batch sizes (default 150 4096 65536 on a GPU, 150 on the CPU)")
    parser.add_argument("--digit", type=int, default=0, help="digit of the objective, 0..9")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu only checks this script on a machine without a GPU")
    parser.add_argument("--tf32", action="store_true",
                        help="let PyTorch's matrix products and convolutions use TF32 (lsi-cuda's "
                             "own precision is set through --lsi-cuda-args, where it has one)")
    parser.add_argument("--lsi-cuda", default=os.path.join(REPO_ROOT, "build", "lsi-cuda"),
                        help="the lsi-cuda program to compare with")
    parser.add_argument("--lsi-cuda-args", default=None,
                        help="arguments after `lsi-cuda bench --device cuda --json`, as one "
                             "quoted string (default: --batch <the batches> --no-loop)")
    parser.add_argument("--no-lsi-cuda", action="store_true", help="time PyTorch only")
    parser.add_argument("--json-out", default="", help="also write every number to this file")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if not 0 <= args.digit <= 9:
        print(f"--digit must be in 0..9, got {args.digit}")
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device is available to PyTorch; use --device cpu to check the script")
        return 77
    device = torch.device(args.device)
    batches = args.batches or (DEFAULT_BATCHES if device.type == "cuda" else [150])

    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    generator = load_or_keep_random(
        models.Generator(), os.path.join(args.weights, "generator.safetensors"), "generator")
    lenet5 = load_or_keep_random(
        models.lenet5(), os.path.join(args.weights, "lenet5.safetensors"), "LeNet-5")
    evaluator = Evaluator(generator, lenet5, args.digit).to(device).eval().requires_grad_(False)
    if device.type == "cuda":
        print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(device)}, "
              f"TF32 {'on' if args.tf32 else 'off'}")

    rows = bench_pytorch(evaluator, batches, device)
    lsi_results = {}
    if not args.no_lsi_cuda:
        if args.lsi_cuda_args is None:
            extra_args = ["--batch"] + [str(n_batch) for n_batch in batches] + ["--no-loop"]
        else:
            extra_args = shlex.split(args.lsi_cuda_args)
        lsi_results = run_lsi_cuda(args.lsi_cuda, extra_args)
    print_table(rows, lsi_results)

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"pytorch": rows, "lsi_cuda": list(lsi_results.values()),
                       "torch_version": torch.__version__, "tf32": args.tf32}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
