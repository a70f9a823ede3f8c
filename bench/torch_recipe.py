#!/usr/bin/python3
"""PyTorch's plain recipe on Fashion-MNIST, the reference for tests/test_integ_fashion.c.

SGD lr 0.01, momentum 0.9, batch 128, pixels / 255 without normalisation, 2 epochs, 2 threads,
PyTorch's default initialisation, one torch.manual_seed per run; test accuracy per seed.
  /usr/bin/python3 bench/torch_recipe.py cnn 0,1,2
  /usr/bin/python3 bench/torch_recipe.py mlp:784-256-128-10 0,1,2,3,4
Measured here (PyTorch 1.13.1, Debian 12): cnn 85.87 83.09 85.94 (mean 84.97);
mlp 83.78 83.53 83.73 81.71 82.30 (mean 83.01).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as tm  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist/"


def load(prefix):
    x = torch.tensor(tm.read_idx_gz(ROOT + prefix + "-images-idx3-ubyte.gz").astype(np.float32)) / 255
    y = torch.tensor(tm.read_idx_gz(ROOT + prefix + "-labels-idx1-ubyte.gz").astype(np.int64))
    return x.reshape(-1, 1, 28, 28), y


def main():
    torch.set_num_threads(2)
    arch, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    accs = []
    for seed in seeds:
        torch.manual_seed(seed)
        m = tm.make_model(arch)
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        for _ in range(2):
            m.train()
            perm = torch.randperm(len(ytr))
            for i in range(0, len(ytr), 128):
                idx = perm[i:i + 128]
                opt.zero_grad()
                F.cross_entropy(m(xtr[idx]), ytr[idx]).backward()
                opt.step()
        m.eval()
        with torch.no_grad():
            acc = (m(xte).argmax(1) == yte).float().mean().item() * 100
        accs.append(acc)
        print("%s seed %d: %.2f" % (arch, seed, acc), flush=True)
    print("%s mean: %.2f" % (arch, sum(accs) / len(accs)))


if __name__ == "__main__":
    main()
