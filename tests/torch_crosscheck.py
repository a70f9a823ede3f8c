#!/usr/bin/python3
"""Reference data for tests/test_torch_crosscheck.c: PyTorch (float64) logits, loss, gradients
and BatchNorm running statistics for three small models with unlearn's state_dict names.

Usage: torch_crosscheck.py OUTDIR

For each case (subdirectory OUTDIR/<case>/):
  model.safetensors   the float32 state_dict (num_batches_tracked as I64), metadata only
                      {"format": "pt"} (no unlearn arch metadata),
                      BN layers in a non-trivial state (random affine and running statistics)
  input.bin           float32 [4, c, h, w], NCHW
  labels.bin          int32 [4]
  logits_eval.bin     float32 [4, classes]: model.eval() logits
  logits_train.bin    float32 [4, classes]: model.train() logits (batch statistics)
  loss.bin            float64: mean cross-entropy of the train-mode logits
  grads.safetensors   float32 d(mean loss)/d(param) for every trainable tensor, by name
  state_after.safetensors  every buffer (BN running_mean/var F32, num_batches_tracked I64) after
                      the one train-mode forward (momentum 0.1, unbiased running_var)
  case.json           spec, input shape, classes, batch and loss, for humans
The reference runs in float64 (the float32 weights and inputs cast up exactly), results are
stored as float32. Exit status 2 when torch or numpy cannot be imported, 1 on other errors.
"""
import copy
import json
import os
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the C test turns this into a failure with a hint
    sys.stderr.write("torch_crosscheck.py: cannot import torch/numpy (%s); install python3-torch "
                     "python3-numpy\n" % e)
    sys.exit(2)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import torch_models  # noqa: E402

BATCH = 4
CASES = [
    # name, spec, (c, h, w), classes, seed
    ("mlp", "mlp:784-64-10", (1, 28, 28), 10, 11),
    ("cnn", "cnn", (1, 28, 28), 10, 12),
    ("resnet18", "resnet18@w=0.125", (3, 16, 16), 5, 13),
]


def randomise_bn(model, gen):
    """Put every BatchNorm2d in a non-trivial state."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=gen))
                mod.bias.copy_(0.2 * torch.randn(c, generator=gen))
                mod.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                mod.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def run_case(outdir, name, spec, in_shape, classes, seed):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    model = torch_models.make_model(spec, in_shape, classes)
    randomise_bn(model, gen)
    state = model.state_dict()
    # {"format": "pt"} is what PyTorch-side tools usually put there; no unlearn arch metadata.
    torch_models.write_safetensors(os.path.join(d, "model.safetensors"), dict(state), {"format": "pt"})

    x = torch.randn((BATCH,) + tuple(in_shape), generator=gen, dtype=torch.float32)
    y = torch.randint(0, classes, (BATCH,), generator=gen, dtype=torch.int64)
    write_f32(os.path.join(d, "input.bin"), x)
    with open(os.path.join(d, "labels.bin"), "wb") as f:
        f.write(y.to(torch.int32).numpy().astype("<i4").tobytes())

    m64 = copy.deepcopy(model).double()
    x64 = x.double()
    m64.eval()
    with torch.no_grad():
        le = m64(x64)
    write_f32(os.path.join(d, "logits_eval.bin"), le)

    m64.train()
    m64.zero_grad(set_to_none=True)
    lt = m64(x64)
    loss = F.cross_entropy(lt, y)
    loss.backward()
    write_f32(os.path.join(d, "logits_train.bin"), lt)
    with open(os.path.join(d, "loss.bin"), "wb") as f:
        f.write(struct.pack("<d", float(loss)))
    grads = {}
    for pname, p in m64.named_parameters():
        if p.grad is None:
            raise RuntimeError("%s: parameter %s got no gradient" % (name, pname))
        grads[pname] = p.grad.to(torch.float32)
    torch_models.write_safetensors(os.path.join(d, "grads.safetensors"), grads)
    after = {}
    for bname, b in m64.named_buffers():
        after[bname] = b.to(torch.float32) if b.is_floating_point() else b
    torch_models.write_safetensors(os.path.join(d, "state_after.safetensors"), after)

    # Self-checks: the float32 model agrees with the float64 reference, files read back.
    model.eval()
    with torch.no_grad():
        le32 = model(x)
    err = float((le32.double() - le).abs().max())
    if err > 1e-3:
        raise RuntimeError("%s: float32 and float64 eval logits differ by %g" % (name, err))
    back, _ = torch_models.read_safetensors(os.path.join(d, "model.safetensors"))
    if sorted(back) != sorted(state):
        raise RuntimeError("%s: model.safetensors does not round-trip" % name)
    for k, v in state.items():
        if not np.array_equal(back[k], v.numpy()):
            raise RuntimeError("%s: tensor %s does not round-trip" % (name, k))

    info = {"case": name, "spec": spec, "in_shape": list(in_shape), "classes": classes,
            "batch": BATCH, "loss": float(loss), "tensors": len(state), "params": len(grads),
            "torch": torch.__version__}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: torch_crosscheck.py OUTDIR\n")
        return 1
    torch.set_num_threads(1)
    os.makedirs(argv[1], exist_ok=True)
    for case in CASES:
        info = run_case(argv[1], *case)
        print("%-9s %-18s loss %.6f  %d tensors, %d trainable" % (info["case"], info["spec"], info["loss"],
                                                                  info["tensors"], info["params"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # noqa: BLE001 - report anything as a clean failure
        sys.stderr.write("torch_crosscheck.py: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
