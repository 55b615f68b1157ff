#!/usr/bin/python3
"""PyTorch side of LeNetTorchParityTest (java/core/src/test/java/io/github/panamacnn/LeNetTorchParityTest.java).

Usage: lenet_parity.py DIR

Reads DIR/weights.npz (LeNet-5 nn.Sequential state_dict keys, float32), DIR/x.npy [n,1,28,28] float32,
DIR/labels.npy (float32 class indices) and DIR/hyper.json (sgd lr/momentum/weight_decay, adam
lr/betas/eps/weight_decay). Runs the same network twice: in float64 (the reference, "exact" for
float32 inputs) and in float32 (PyTorch's own float32 result, whose distance from float64 measures
how well conditioned each quantity is). Writes DIR/torch.npz (float64 arrays):

  logits, loss                      float64 forward
  logits_bound, loss_bound          first-order rounding-error bound of ANY float32 implementation of
                                    the forward pass (any summation order, FMA or not), propagated
                                    through the layers (see forward_bound below)
  grad.<key>, grad32.<key>          float64 / float32 gradients of the mean cross-entropy
  sgd.<key>, adam.<key>             float64 weights after one torch.optim.SGD / torch.optim.Adam step
  sgd32.<key>, adam32.<key>         the same in float32
"""

import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

U = 2.0 ** -24


def gamma(k):
    """Higham's gamma_k plus 2u (rounding of the result and of the reference), as nativeimpl.Tolerance."""
    return k * U / (1 - k * U) + 2 * U


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def forward_bound(model, x):
    """Values and an elementwise bound e of |float32 result - exact| for every layer output.

    Conv / linear: each output is a dot product of K = fan_in + 1 (bias) terms, so
    |computed - exact| <= |W| e_in + gamma(K) * (|W| (|a| + e_in) + |b|)  (first order; the input error
    e_in travels through |W|). ReLU is 1-Lipschitz (e unchanged); max-pool: the max of perturbed values
    moves by at most the largest perturbation in the window (e pooled by max)."""
    a = x
    e = torch.zeros_like(x)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Conv2d):
                k = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1] + 1
                wa, ba = layer.weight.abs(), layer.bias.abs()
                s = F.conv2d(a.abs() + e, wa, ba, padding=layer.padding)
                e = F.conv2d(e, wa, None, padding=layer.padding) + gamma(k) * s
            elif isinstance(layer, nn.Linear):
                k = layer.in_features + 1
                wa, ba = layer.weight.abs(), layer.bias.abs()
                s = F.linear(a.abs() + e, wa, ba)
                e = F.linear(e, wa, None) + gamma(k) * s
            elif isinstance(layer, nn.MaxPool2d):
                e = F.max_pool2d(e, layer.kernel_size, layer.stride)
            elif isinstance(layer, nn.Flatten):
                e = layer(e)
            a = layer(a)
    return a, e


def main():
    d = sys.argv[1]
    hyper = json.load(open(d + "/hyper.json"))
    torch.set_num_threads(1)
    w = {k: torch.from_numpy(v) for k, v in np.load(d + "/weights.npz").items()}
    x32 = torch.from_numpy(np.load(d + "/x.npy"))
    y = torch.from_numpy(np.load(d + "/labels.npy")).long()
    out = {}

    def run(dtype, tag):
        m = lenet().to(dtype)
        m.load_state_dict({k: v.to(dtype) for k, v in w.items()})
        x = x32.to(dtype)
        logits = m(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        grads = {k: p.grad.detach().clone() for k, p in m.named_parameters()}
        if dtype == torch.float64:
            out["logits"] = logits.detach().numpy()
            out["loss"] = np.array([loss.item()])
            _, e = forward_bound(m, x)
            # cross-entropy is 1-Lipschitz in the max norm per term for logsumexp and for x[label]:
            # |d loss_i| <= 2 max_c e_ic; plus the rounding of the loss itself (a few u of its size)
            out["logits_bound"] = e.numpy()
            out["loss_bound"] = np.array([2 * e.max(dim=1).values.mean().item()
                                          + 8 * U * (abs(loss.item()) + logits.abs().max().item())])
        for k, g in grads.items():
            out[("grad." if tag == "" else "grad32.") + k] = g.to(torch.float64).clone().numpy()
        # one SGD step and, from the same start, one Adam step
        s = hyper["sgd"]
        opt = torch.optim.SGD(m.parameters(), lr=s["lr"], momentum=s["momentum"], weight_decay=s["weight_decay"])
        opt.step()
        for k, p in m.named_parameters():
            out["sgd" + tag + "." + k] = p.detach().to(torch.float64).clone().numpy()
        m.load_state_dict({k: v.to(dtype) for k, v in w.items()})
        for k, p in m.named_parameters():
            p.grad = grads[k].clone()
        a = hyper["adam"]
        opt = torch.optim.Adam(m.parameters(), lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                               weight_decay=a["weight_decay"])
        opt.step()
        for k, p in m.named_parameters():
            out["adam" + tag + "." + k] = p.detach().to(torch.float64).clone().numpy()

    run(torch.float64, "")
    run(torch.float32, "32")
    np.savez(d + "/torch.npz", **out)
    print("torch", torch.__version__, "ok")


if __name__ == "__main__":
    main()
