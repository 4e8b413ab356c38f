#!/usr/bin/env python3
"""PyTorch reference for `bonsai bench train`: training samples/s of a zoo model on random data.

Runs only where PyTorch is installed. Measures exactly what `bonsai bench train` measures: SGD with
momentum 0.9, cross-entropy, random inputs of the data set's shape, median of several timing
windows after a warm-up, at a given batch size and thread count. The last line is `… samples/s`.

    python3 benchmarks/torch_train.py --model resnet20 --batch 64 --threads 2
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from reference_models import ZOO, TinyBert

SHAPES = {  # model -> (input shape without batch, classes)
    "lenet300": ((1, 28, 28), 10), "lenet5": ((1, 28, 28), 10),
    "conv2": ((3, 32, 32), 10), "conv4": ((3, 32, 32), 10), "conv6": ((3, 32, 32), 10),
    "vgg11": ((3, 32, 32), 10), "vgg16": ((3, 32, 32), 10),
    "resnet20": ((3, 32, 32), 10), "resnet56": ((3, 32, 32), 10),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sequence", type=int, default=64)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per timing window")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "tinybert":
        model = TinyBert(vocab=8192, max_len=args.sequence)
        x = torch.randint(0, 8192, (args.batch, args.sequence))
        forward = lambda: model(x)
    else:
        model = ZOO[args.model]()
        shape, _ = SHAPES[args.model]
        x = torch.randn(args.batch, *shape)
        forward = lambda: model(x)
    y = torch.randint(0, 2 if args.model == "tinybert" else 10, (args.batch,))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        F.cross_entropy(forward(), y).backward()
        opt.step()

    for _ in range(3):
        step()
    rates = []
    for _ in range(args.windows):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.batch * args.steps / (time.perf_counter() - start))
    print(f"pytorch {args.model} batch {args.batch} threads {args.threads}: "
          f"{statistics.median(rates):.1f} samples/s")


if __name__ == "__main__":
    main()
