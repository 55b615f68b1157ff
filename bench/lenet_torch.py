#!/usr/bin/python3
"""LeNet-5 on Fashion-MNIST with PyTorch: the peer of `./panama-cnn train` (same network, data,
preprocessing, batch, optimiser, thread count; data loaded up front), for bench/lenet.sh and for
checking the CLI's accuracy against PyTorch's.

Usage: lenet_torch.py [--epochs 3] [--optimizer sgd|adam] [--lr R] [--momentum 0.9] [--batch 64]
                      [--threads 1] [--seed 1] [--data /usr/share/datasets/fashion-mnist] [--no-infer]

Prints one line per epoch and a final JSON line:
  {"framework": "pytorch", "epoch_seconds": [...], "accuracy": [...], "infer256_images_per_s": ...,
   "latency1_median_us": ...}
Inference: batch-256 throughput over the test set (eval mode, no_grad), and the median latency of
single-image forwards (2000 calls after 200 warm-up calls).
"""

import argparse
import gzip
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # as FashionMnist.java


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 0x803:
        n = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def load(d, prefix):
    x = idx("%s/%s-images-idx3-ubyte.gz" % (d, prefix)).astype(np.float32)
    x = (x / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)
    y = idx("%s/%s-labels-idx1-ubyte.gz" % (d, prefix)).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    model.train()
    return 100.0 * correct / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    p.add_argument("--lr", type=float)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--no-infer", action="store_true")
    a = p.parse_args()
    lr = a.lr if a.lr is not None else (2e-3 if a.optimizer == "adam" else 0.01)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    model = lenet()
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if a.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=lr, momentum=a.momentum))
    gen = torch.Generator().manual_seed(a.seed)
    epoch_seconds, accs = [], []
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(len(xtr), generator=gen)
        t0 = time.perf_counter()
        for i in range(0, len(xtr), a.batch):
            idxs = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xtr[idxs]), ytr[idxs])
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        acc = accuracy(model, xte, yte)
        epoch_seconds.append(dt)
        accs.append(acc)
        print("epoch %d/%d: test accuracy %.2f%%, %.2f s" % (epoch, a.epochs, acc, dt), flush=True)
    result = {"framework": "pytorch " + torch.__version__, "threads": a.threads, "optimizer": a.optimizer,
              "lr": lr, "batch": a.batch, "epoch_seconds": epoch_seconds, "accuracy": accs}
    if not a.no_infer:
        model.eval()
        with torch.no_grad():
            xb = xte[:256].contiguous()
            for _ in range(5):
                model(xb)
            t0 = time.perf_counter()
            n = 0
            while n < 20 or time.perf_counter() - t0 < 2.0:
                for i in range(0, len(xte) - 255, 256):
                    model(xte[i:i + 256])
                    n += 1
            result["infer256_images_per_s"] = n * 256 / (time.perf_counter() - t0)
            one = xte[:1].contiguous()
            for _ in range(200):
                model(one)
            lat = []
            for _ in range(2000):
                t0 = time.perf_counter_ns()
                model(one)
                lat.append((time.perf_counter_ns() - t0) / 1000.0)
            result["latency1_median_us"] = statistics.median(lat)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
