#!/usr/bin/python3
"""PyTorch peer of bench/bench_train.c: the same measurement, the same JSON shape.

For each --arch: Fashion-MNIST training split kept as uint8 (as unlearn stores it), the model
from torch_models.py (same state_dict names, PyTorch default init), then R repetitions of
  training:  W warm-up batches, then K timed batches of
             batch gather + (x/255 - 0.2860)/0.3530 + forward(train) + cross-entropy + backward +
             SGD step (momentum 0.9, lr 0.05, no weight decay)
  inference: W warm-up batches, then K timed eval-mode forwards under torch.inference_mode()
With --task fisher each repetition instead computes the per-sample diagonal empirical Fisher
(mean over samples of squared per-sample gradients of the cross-entropy with the true label, eval
mode) of the untrained model over the first --samples training samples, over the final linear layer
(--scope last) or every parameter (--scope all), with --variant loop (one forward/backward per
sample, torch.autograd.grad on the parameters in scope only) or --variant vmap (functorch
make_functional_with_buffers + vmap(grad(loss)) over chunks of --batch samples).
With --lockstep each repetition waits for a line on stdin and prints {"rep": r} when done, so that
bench/bench.py can alternate it with unlearn's repetitions.
One JSON object per arch on stdout; progress on stderr. torch.set_num_threads(--threads).
Needs torch and numpy only (reads the IDX .gz files with gzip + numpy).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

DEFAULT_ARCHS = ["mlp:784-256-128-10", "cnn", "resnet18@w=0.25"]


def default_batches(arch):
    if arch.startswith("mlp"):
        return 100
    if arch.startswith("resnet"):
        return 8
    return 20


class Batches:
    """Batches of a uint8 image tensor: shuffled per epoch (train) or in order, drop_last."""

    def __init__(self, images, labels, bs, shuffle, seed):
        self.images, self.labels, self.bs, self.shuffle = images, labels, bs, shuffle
        self.gen = torch.Generator().manual_seed(seed)
        self.nb = images.shape[0] // bs
        if self.nb == 0:
            raise ValueError("the data set has fewer samples than one batch")
        self._epoch()

    def _epoch(self):
        n = self.images.shape[0]
        self.order = torch.randperm(n, generator=self.gen) if self.shuffle else torch.arange(n)
        self.pos = 0

    def next(self):
        if self.pos == self.nb:
            self._epoch()
        idx = self.order[self.pos * self.bs:(self.pos + 1) * self.bs]
        self.pos += 1
        x = self.images[idx].to(torch.float32).mul_(1.0 / 255.0)
        x.sub_(torch_models.FMNIST_MEAN).div_(torch_models.FMNIST_STD)
        return x, self.labels[idx]


def lockstep_wait(args, r):
    if not args.lockstep:
        return
    print(json.dumps({"wait": r}), flush=True)
    if not sys.stdin.readline():
        sys.exit("torch_peer: --lockstep: end of input")


def lockstep_done(args, r):
    if args.lockstep:
        print(json.dumps({"rep": r}), flush=True)


def default_fisher_samples(arch, scope, variant):
    """Samples per repetition: enough for about a second of work at PyTorch's speed."""
    big = 1 if arch.startswith("resnet") else 4 if arch.startswith("cnn") else 16
    if variant == "loop":
        return 64 * big if scope == "last" else 32 * big
    return 256 * big if scope == "last" else 64 * big


def fisher_loop(model, params, x, y):
    acc = [torch.zeros_like(p) for p in params]
    for i in range(x.shape[0]):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        for a, g in zip(acc, torch.autograd.grad(loss, params)):
            a.addcmul_(g, g)
    return [a / x.shape[0] for a in acc]


def make_fisher_vmap(model, in_scope):
    from functorch import grad, make_functional_with_buffers, vmap
    fmodel, params, buffers = make_functional_with_buffers(model)
    sel = [i for i, s in enumerate(in_scope) if s]
    rest = [i for i, s in enumerate(in_scope) if not s]
    other = tuple(params[i] for i in rest)

    def loss1(p_in, p_rest, bufs, xi, yi):
        full = [None] * len(params)
        for i, t in zip(sel, p_in):
            full[i] = t
        for i, t in zip(rest, p_rest):
            full[i] = t
        return F.cross_entropy(fmodel(full, bufs, xi.unsqueeze(0)), yi.unsqueeze(0))

    g = vmap(grad(loss1), in_dims=(None, None, None, 0, 0))
    p_in = tuple(params[i].detach() for i in sel)

    def run(x, y, chunk):
        acc = [torch.zeros_like(p) for p in p_in]
        for i in range(0, x.shape[0], chunk):
            for a, gi in zip(acc, g(p_in, other, buffers, x[i:i + chunk], y[i:i + chunk])):
                a.add_((gi * gi).sum(0))
        return [a / x.shape[0] for a in acc]
    return run


def bench_fisher(args, images, labels, classes, arch):
    torch.manual_seed(args.seed)
    model = torch_models.make_model(arch, tuple(images.shape[1:]), classes)
    model.eval()
    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    head_ids = {id(p) for p in head.parameters()}
    in_scope = [args.scope == "all" or id(p) in head_ids for p in model.parameters()]
    for p, s in zip(model.parameters(), in_scope):
        p.requires_grad_(s)
    params = [p for p, s in zip(model.parameters(), in_scope) if s]
    n = args.samples if args.samples > 0 else default_fisher_samples(arch, args.scope, args.variant)
    n = min(n, images.shape[0])
    x = images[:n].to(torch.float32).mul_(1.0 / 255.0)
    x.sub_(torch_models.FMNIST_MEAN).div_(torch_models.FMNIST_STD)
    y = labels[:n]
    if args.variant == "loop":
        def run():
            return fisher_loop(model, params, x, y)
    else:
        vm = make_fisher_vmap(model, in_scope)

        def run():
            return vm(x, y, args.batch)
    run()  # warm-up
    sps = []
    out = None
    for r in range(args.reps):
        lockstep_wait(args, r)
        t0 = time.perf_counter()
        out = run()
        sps.append(n / (time.perf_counter() - t0))
        sys.stderr.write("torch_peer: %s fisher %s %s rep %d/%d: %.1f samples/s\n"
                         % (arch, args.scope, args.variant, r + 1, args.reps, sps[-1]))
        lockstep_done(args, r)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"impl": "pytorch-" + args.variant, "version": torch.__version__, "task": "fisher", "scope": args.scope,
            "variant": args.variant, "arch": arch, "dataset": "fashion-mnist", "batch": args.batch,
            "threads": torch.get_num_threads(), "reps": args.reps, "samples": n,
            "params": sum(p.numel() for p in model.parameters()), "fisher_samples_per_s": stats(sps),
            "fisher_sum": float(sum(o.sum() for o in out)), "max_rss_mib": round(rss, 1)}


def stats(v):
    return {"median": round(statistics.median(v), 1), "min": round(min(v), 1), "max": round(max(v), 1),
            "runs": [round(x, 1) for x in v]}


def bench_arch(args, images, labels, classes, arch):
    torch.manual_seed(args.seed)
    in_shape = tuple(images.shape[1:])
    model = torch_models.make_model(arch, in_shape, classes)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    k = args.batches if args.batches > 0 else default_batches(arch)
    train_b = Batches(images, labels, args.batch, True, args.seed)
    infer_b = Batches(images, labels, args.batch, False, args.seed)
    last_loss = float("nan")

    def train(nb):
        nonlocal last_loss
        model.train()
        n = 0
        for _ in range(nb):
            x, y = train_b.next()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            n += x.shape[0]
        last_loss = float(loss) if nb else last_loss
        return n

    def infer(nb):
        model.eval()
        n = 0
        with torch.inference_mode():
            for _ in range(nb):
                x, _ = infer_b.next()
                model(x)
                n += x.shape[0]
        return n

    tr, inf = [], []
    for r in range(args.reps):
        lockstep_wait(args, r)
        train(args.warmup)
        t0 = time.perf_counter()
        n = train(k)
        tr.append(n / (time.perf_counter() - t0))
        infer(args.warmup)
        t0 = time.perf_counter()
        n = infer(k)
        inf.append(n / (time.perf_counter() - t0))
        sys.stderr.write("torch_peer: %s rep %d/%d: train %.1f samples/s (loss %.4f), inference %.1f samples/s\n"
                         % (arch, r + 1, args.reps, tr[-1], last_loss, inf[-1]))
        lockstep_done(args, r)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    nparams = sum(p.numel() for p in model.parameters())
    return {"impl": "pytorch", "version": torch.__version__, "arch": arch, "dataset": "fashion-mnist",
            "batch": args.batch, "threads": torch.get_num_threads(), "reps": args.reps, "batches": k,
            "warmup": args.warmup, "params": nparams, "train_samples_per_s": stats(tr),
            "infer_samples_per_s": stats(inf), "final_loss": round(last_loss, 4), "max_rss_mib": round(rss, 1)}


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer of bench_train: training and inference "
                                 "samples/s on Fashion-MNIST, one JSON object per arch on stdout.")
    ap.add_argument("--arch", action="append", help="architecture spec; repeat for several [%s]"
                    % ", ".join(DEFAULT_ARCHS))
    ap.add_argument("--data", default=os.environ.get("UL_DATA_DIR", "/usr/share/datasets") + "/fashion-mnist",
                    help="folder with the Fashion-MNIST IDX .gz files [%(default)s]")
    ap.add_argument("--batch", type=int, default=128, help="batch size [%(default)s]")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads [%(default)s]")
    ap.add_argument("--reps", type=int, default=5, help="repetitions [%(default)s]")
    ap.add_argument("--batches", type=int, default=0,
                    help="timed batches per repetition [mlp 100, cnn 20, resnet18 8]")
    ap.add_argument("--warmup", type=int, default=3, help="untimed batches before each timed run [%(default)s]")
    ap.add_argument("--seed", type=int, default=0, help="init and shuffling seed [%(default)s]")
    ap.add_argument("--task", choices=["train", "fisher"], default="train",
                    help="train (training + inference) or fisher [%(default)s]")
    ap.add_argument("--scope", choices=["last", "all"], default="last", help="fisher: scope [%(default)s]")
    ap.add_argument("--variant", choices=["loop", "vmap"], default="loop",
                    help="fisher: per-sample loop or functorch vmap [%(default)s]")
    ap.add_argument("--samples", type=int, default=0, help="fisher: samples per repetition [by arch]")
    ap.add_argument("--lockstep", action="store_true",
                    help="before repetition r print {\"wait\": r} and wait for a line on stdin; "
                    "print {\"rep\": r} after it")
    args = ap.parse_args()
    if args.batch < 1 or args.threads < 1 or args.reps < 1 or args.batches < 0 or args.warmup < 0:
        ap.error("--batch, --threads and --reps must be >= 1, --batches and --warmup >= 0")
    torch.set_num_threads(args.threads)

    img = torch_models.read_idx_gz(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    lab = torch_models.read_idx_gz(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    images = torch.from_numpy(img[:, None, :, :].copy())          # uint8 [n,1,28,28]
    labels = torch.from_numpy(lab.astype(np.int64))
    classes = int(labels.max()) + 1
    for arch in args.arch or DEFAULT_ARCHS:
        fn = bench_fisher if args.task == "fisher" else bench_arch
        print(json.dumps(fn(args, images, labels, classes, arch)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
