#!/usr/bin/env python3
"""Checks that Bonsai's state dicts load into the PyTorch reference models and give the same outputs.

    swift run -c release bonsai export-samples /tmp/bonsai-samples
    python3 benchmarks/pytorch_compat.py /tmp/bonsai-samples

For every architecture: `load_state_dict(load_file(...), strict=True)` on the reference model built
for the same input, eval mode, and the max |logits − Bonsai's logits| (must be ≤ 1e-4).
"""
import sys

import torch
from safetensors.torch import load_file

from reference_models import ZOO, LeNet5, ConvNet, ResNet, TinyBert, mlp, vgg

BUILD = {
    "lenet300": lambda: mlp(), "lenet5": lambda: LeNet5(),
    "conv2": lambda: ConvNet(2), "conv4": lambda: ConvNet(4), "conv6": lambda: ConvNet(6),
    "vgg11": lambda: vgg(11), "vgg16": lambda: vgg(16),
    "resnet20": lambda: ResNet(20), "resnet56": lambda: ResNet(56),
    "tinybert": lambda: TinyBert(vocab=100, dim=32, heads=2, layers=2, max_len=16, classes=10),
}


def main(directory):
    worst = 0.0
    for name, build in BUILD.items():
        model = build()
        model.load_state_dict(load_file(f"{directory}/{name}.safetensors"), strict=True)
        model.eval()
        io = load_file(f"{directory}/{name}.io.safetensors")
        with torch.no_grad():
            if name == "tinybert":
                out = model(io["input"], io["attention_mask"])
            else:
                out = model(io["input"])
        diff = (out - io["logits"]).abs().max().item()
        worst = max(worst, diff)
        print(f"{name:10s} strict load ok, max |Δlogits| = {diff:.2e}")
    print("PASS" if worst <= 1e-4 else "FAIL", f"(worst {worst:.2e})")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bonsai-samples"))
