#!/usr/bin/python3
"""Train the project's default weights: the tutorial's MLP GAN and a LeNet-5, on MNIST.

Usage (Debian's python3-torch; run by hand, never from the tests):
    /usr/bin/python3 tools/train_models.py gan    [--max-steps N] [--seed S]
    /usr/bin/python3 tools/train_models.py lenet5 [--epochs N] [--seed S]

The GAN recipe is the tutorial's: latent size 128, images scaled to [-1, 1], BCE losses, Adam
2e-4 with betas (0.5, 0.999), batch 64. On top of it we keep an exponential moving average of the
generator's weights (decay 0.999) and judge both generators every --eval-every steps with the
pyribs LeNet-5 on 4,096 fixed standard-normal latents: the mean top-class probability, and the
share of those latents whose top class is each digit. The best generator that passes both
thresholds is kept (written to weights/ as soon as it is found); training stops early once one passes with the margin of --stop-mean and
--stop-share. Outputs go to weights/ as .pth and are converted to .safetensors.
"""

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_idx  # noqa: E402
import models  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
DEFAULT_JUDGE = REPO_ROOT.parent / "shared" / "pyribs-lsi-mnist" / "mnist_classifier.pth"
N_JUDGE_LATENTS = 4096
JUDGE_LATENT_SEED = 20261204


def judge_latents():
    """The 4,096 fixed latents (standard normal) on which a generator is judged."""
    generator = torch.Generator().manual_seed(JUDGE_LATENT_SEED)
    return torch.randn(N_JUDGE_LATENTS, models.LATENT_DIM, generator=generator)


@torch.no_grad()
def judge_generator(generator, classifier, latents):
    """Return (mean top-class probability, share of latents per top class) for a generator."""
    images01 = (generator(latents) + 1) / 2
    probs = classifier(models.normalize_for_lenet(images01)).exp()
    top_prob, top_class = probs.max(dim=1)
    shares = torch.bincount(top_class, minlength=10).double() / len(latents)
    return top_prob.mean().item(), shares.tolist()


def convert(network, pth_path):
    out_path = pth_path.with_suffix(".safetensors")
    subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "convert_weights.py"),
                    "--network", network, str(pth_path), str(out_path)], check=True)


def save_gan(best, history, args):
    """Write the chosen generator and its discriminator as .pth and .safetensors."""
    WEIGHTS_DIR.mkdir(exist_ok=True)
    torch.save(best["state"], WEIGHTS_DIR / "generator.pth")
    torch.save(best["discriminator"], WEIGHTS_DIR / "discriminator.pth")
    with open(WEIGHTS_DIR / "gan_training.json", "w") as f:
        json.dump({"seed": args.seed, "batch_size": args.batch_size,
                   "ema_decay": args.ema_decay, "chosen": best["record"],
                   "judge_latent_seed": JUDGE_LATENT_SEED, "history": history}, f, indent=1)
    convert("generator", WEIGHTS_DIR / "generator.pth")
    convert("discriminator", WEIGHTS_DIR / "discriminator.pth")


def train_gan(args):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    images, _ = mnist_idx.load_training_set()
    real = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0).view(-1, 1, 28, 28)

    generator = models.Generator()
    discriminator = models.Discriminator()
    ema_generator = copy.deepcopy(generator).eval()
    classifier = models.load_pyribs_classifier(args.judge)
    latents = judge_latents()

    bce = nn.BCELoss()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones = torch.ones(args.batch_size, 1)
    zeros = torch.zeros(args.batch_size, 1)

    best = None
    history = []
    order = torch.randperm(len(real))
    cursor = 0
    start_s = time.time()
    for step in range(1, args.max_steps + 1):
        # One discriminator step on a real and a fake batch, then one generator step.
        if cursor + args.batch_size > len(real):
            order = torch.randperm(len(real))
            cursor = 0
        real_batch = real[order[cursor:cursor + args.batch_size]]
        cursor += args.batch_size

        fake_batch = generator(torch.randn(args.batch_size, models.LATENT_DIM))
        loss_d = (bce(discriminator(real_batch), ones)
                  + bce(discriminator(fake_batch.detach()), zeros))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()

        loss_g = bce(discriminator(fake_batch), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

        with torch.no_grad():
            for ema_p, p in zip(ema_generator.parameters(), generator.parameters()):
                ema_p.mul_(args.ema_decay).add_(p, alpha=1 - args.ema_decay)

        if step % args.eval_every != 0:
            continue

        generator.eval()
        for name, candidate in (("raw", generator), ("ema", ema_generator)):
            mean_prob, shares = judge_generator(candidate, classifier, latents)
            record = {"step": step, "generator": name, "loss_d": round(loss_d.item(), 4),
                      "loss_g": round(loss_g.item(), 4), "mean_top_prob": round(mean_prob, 4),
                      "min_share": round(min(shares), 4),
                      "shares": [round(s, 4) for s in shares],
                      "elapsed_s": round(time.time() - start_s, 1)}
            history.append(record)
            print(json.dumps(record), flush=True)
            passes = mean_prob >= 0.90 and min(shares) >= 0.04
            if passes and (best is None or mean_prob > best["record"]["mean_top_prob"]):
                best = {"record": record, "state": copy.deepcopy(candidate.state_dict()),
                        "discriminator": copy.deepcopy(discriminator.state_dict())}
                # Saved at once, so that stopping the training never loses the best so far.
                save_gan(best, history, args)
        generator.train()

        if best is not None and best["record"]["mean_top_prob"] >= args.stop_mean \
                and best["record"]["min_share"] >= args.stop_share:
            break

    if best is None:
        print("no generator passed the thresholds (mean >= 0.90, every digit >= 4 %)")
        return 1

    save_gan(best, history, args)
    print("chosen:", json.dumps(best["record"]))
    return 0


def train_lenet5(args):
    torch.manual_seed(args.seed)
    images, labels = mnist_idx.load_training_set()
    x = models.normalize_for_lenet(torch.from_numpy(images.astype(np.float32) / 255.0))
    x = x.view(-1, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    test_images, test_labels = mnist_idx.load_test_set()
    x_test = models.normalize_for_lenet(torch.from_numpy(test_images.astype(np.float32) / 255.0))
    x_test = x_test.view(-1, 1, 28, 28)
    y_test = torch.from_numpy(test_labels.astype(np.int64))

    model = models.lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    nll = nn.NLLLoss()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = nll(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            n_right = int((model(x_test).argmax(dim=1) == y_test).sum())
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy "
              f"{n_right / len(x_test):.4f} ({n_right}/{len(x_test)})", flush=True)

    WEIGHTS_DIR.mkdir(exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS_DIR / "lenet5.pth")
    with open(WEIGHTS_DIR / "lenet5_training.json", "w") as f:
        json.dump({"seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
                   "optimizer": "Adam lr 1e-3", "test_right": n_right,
                   "test_total": len(x_test)}, f, indent=1)
    convert("lenet5", WEIGHTS_DIR / "lenet5.pth")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    gan = sub.add_parser("gan", help="train the generator and discriminator")
    gan.add_argument("--max-steps", type=int, default=40000)
    gan.add_argument("--batch-size", type=int, default=64)
    gan.add_argument("--seed", type=int, default=0)
    gan.add_argument("--ema-decay", type=float, default=0.999)
    gan.add_argument("--eval-every", type=int, default=1000)
    gan.add_argument("--stop-mean", type=float, default=0.93,
                     help="stop once a generator reaches this mean top-class probability ...")
    gan.add_argument("--stop-share", type=float, default=0.05,
                     help="... and every digit is the top class of at least this share")
    gan.add_argument("--judge", type=Path, default=DEFAULT_JUDGE,
                     help="the LeNet-5 .pth that judges the generators (pyribs's)")
    lenet = sub.add_parser("lenet5", help="train a LeNet-5 classifier")
    lenet.add_argument("--epochs", type=int, default=4)
    lenet.add_argument("--batch-size", type=int, default=64)
    lenet.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    return train_gan(args) if args.what == "gan" else train_lenet5(args)


if __name__ == "__main__":
    sys.exit(main())
