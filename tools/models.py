"""The three networks of the pyribs MNIST tutorial, in PyTorch, for training and references.

The module layouts fix the state_dict keys that the C++ engine and convert_weights.py expect:
generator main.0/2/4/6, discriminator main.0/3/6/9, LeNet-5 0/3/7/9/11.
"""

import torch
from torch import nn

from safetensors_io import read_safetensors

LATENT_DIM = 128
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(LATENT_DIM, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 1024), nn.LeakyReLU(0.2),
            nn.Linear(1024, 784), nn.Tanh(),
        )

    def forward(self, z):
        """Map latents (B x 128) to images (B x 1 x 28 x 28) in [-1, 1]."""
        return self.main(z).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(784, 1024), nn.LeakyReLU(0.2), nn.Dropout(0.3),
            nn.Linear(1024, 512), nn.LeakyReLU(0.2), nn.Dropout(0.3),
            nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Dropout(0.3),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, images):
        """Score images (B x 1 x 28 x 28, in [-1, 1]) as real; returns B x 1."""
        return self.main(images.view(-1, 784))


def lenet5():
    """LeNet-5 as the tutorial defines it: pooling before ReLU, log-probabilities out."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(6, 16, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10), nn.LogSoftmax(dim=1),
    )


def normalize_for_lenet(images01):
    """Normalise [0, 1] images as the classifier was trained."""
    return (images01 - MNIST_MEAN) / MNIST_STD


def load_pyribs_classifier(path):
    """Load the tutorial's LeNet-5 (saved on a GPU) onto the CPU, in eval mode."""
    model = lenet5()
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return model.eval()


def load_safetensors(module, path):
    """Load a weight file written by convert_weights.py into `module`, in eval mode."""
    tensors, _ = read_safetensors(path)
    module.load_state_dict({name: torch.from_numpy(value.copy())
                            for name, value in tensors.items()})
    return module.eval()
