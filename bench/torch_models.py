"""PyTorch twins of unlearn's architectures, plus small file helpers.

The models use exactly the state_dict names and shapes that include/unlearn/nn.h documents, so a
state_dict written with write_safetensors() loads into unlearn with ul_ckpt_load() (architecture
supplied by the caller), and the benchmarks compare like with like:

  mlp:784-256-128-10   fc1, fc2, ... with ReLU between; the input is flattened.
  cnn                  conv1 (32, 3x3, pad 1) relu maxpool2, conv2 (64, 3x3, pad 1) relu maxpool2,
                       flatten, fc1 (128) relu, fc2 (classes).
  resnet18[@w=W]       CIFAR ResNet-18: 3x3 stem conv1 (no bias) + bn1 + relu, no max-pool,
                       layer1..layer4 of two BasicBlocks (strides 1,2,2,2), widths
                       round(64W), round(128W), round(256W), round(512W) (at least 1),
                       adaptive average pool to 1x1, fc. torchvision names (downsample.0/.1).

Also: write_safetensors() (the format written by hand, no `safetensors` package needed) and
read_idx_gz() for the Fashion-MNIST IDX files. Used by bench/torch_peer.py and
tests/torch_crosscheck.py. Needs torch and numpy only.
"""
import gzip
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST_MEAN = 0.2860
FMNIST_STD = 0.3530


def _round_half_up(x):
    """lroundf() for positive values (Python's round() is banker's rounding)."""
    return int(math.floor(x + 0.5))


class MLP(nn.Module):
    def __init__(self, widths):
        super().__init__()
        if len(widths) < 2:
            raise ValueError("mlp needs at least an input and an output width")
        self.nlayers = len(widths) - 1
        for i in range(self.nlayers):
            setattr(self, "fc%d" % (i + 1), nn.Linear(widths[i], widths[i + 1]))

    def forward(self, x):
        x = torch.flatten(x, 1)
        for i in range(self.nlayers):
            x = getattr(self, "fc%d" % (i + 1))(x)
            if i + 1 < self.nlayers:
                x = F.relu(x)
        return x


class CNN(nn.Module):
    def __init__(self, in_c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * (h // 4) * (w // 4), 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idn = x if self.downsample is None else self.downsample(x)
        return F.relu(out + idn)


class ResNet18(nn.Module):
    def __init__(self, in_c, classes, width=1.0):
        super().__init__()
        widths = [max(1, _round_half_up(64.0 * (1 << i) * width)) for i in range(4)]
        self.conv1 = nn.Conv2d(in_c, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        c = widths[0]
        for li in range(4):
            blocks = []
            for k in range(2):
                stride = 2 if (li > 0 and k == 0) else 1
                blocks.append(BasicBlock(c, widths[li], stride))
                c = widths[li]
            setattr(self, "layer%d" % (li + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def parse_spec(spec):
    """'resnet18@w=0.25' -> ('resnet18', {'w': 0.25}); 'mlp:784-10' -> ('mlp', {'widths': [784, 10]})."""
    base, _, opts = spec.partition("@")
    kw = {}
    for tok in filter(None, opts.split(",")):
        k, _, v = tok.partition("=")
        kw[k] = float(v)
    if base.startswith("mlp:"):
        kw["widths"] = [int(t) for t in base[4:].split("-")]
        base = "mlp"
    return base, kw


def make_model(spec, in_shape=(1, 28, 28), classes=10):
    """A model for an unlearn arch spec ("mlp:784-256-128-10", "cnn", "resnet18@w=0.25")."""
    in_c, h, w = in_shape
    base, kw = parse_spec(spec)
    if base == "mlp":
        widths = kw["widths"]
        if widths[0] != in_c * h * w or widths[-1] != classes:
            raise ValueError("%s does not match input %s and %d classes" % (spec, in_shape, classes))
        return MLP(widths)
    if base == "cnn":
        return CNN(in_c, h, w, classes)
    if base == "resnet18":
        return ResNet18(in_c, classes, kw.get("w", 1.0))
    raise ValueError("unknown arch spec '%s'" % spec)


# ---------------------------------------------------------------------------- safetensors

_DTYPES = {
    torch.float32: ("F32", np.float32), torch.float64: ("F64", np.float64),
    torch.int64: ("I64", np.int64), torch.int32: ("I32", np.int32),
    torch.uint8: ("U8", np.uint8),
}


def write_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} as safetensors: 8-byte LE header length, JSON header padded with spaces
    to a multiple of 8, then the raw little-endian data, tensors laid out in name order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _DTYPES:
            raise ValueError("tensor %s: dtype %s not supported" % (name, t.dtype))
        code, npt = _DTYPES[t.dtype]
        raw = t.numpy().astype(np.dtype(npt).newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Inverse of write_safetensors (for self-checks): returns ({name: np.ndarray}, metadata)."""
    inv = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, d in header.items():
        b, e = d["data_offsets"]
        out[name] = np.frombuffer(buf[base + b:base + e], dtype=np.dtype(inv[d["dtype"]]).newbyteorder("<")
                                  ).reshape(d["shape"])
    return out, meta


# ---------------------------------------------------------------------------- IDX

def read_idx_gz(path):
    """An IDX file (optionally .gz) as a numpy array (uint8 images [n,h,w] or labels [n])."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    zero, dtype_code, ndim = buf[0] * 256 + buf[1], buf[2], buf[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    data = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError("%s: %d values, header says %s" % (path, data.size, dims))
    return data.reshape(dims)


def load_fashion_mnist(root="/usr/share/datasets/fashion-mnist", split="train"):
    """Normalised float32 images [n,1,28,28] and int64 labels, as unlearn's batcher produces them
    ((x/255 - 0.2860) / 0.3530)."""
    pfx = "train" if split == "train" else "t10k"
    img = read_idx_gz("%s/%s-images-idx3-ubyte.gz" % (root, pfx))
    lab = read_idx_gz("%s/%s-labels-idx1-ubyte.gz" % (root, pfx))
    x = (img.astype(np.float32) * np.float32(1.0 / 255.0) - np.float32(FMNIST_MEAN)) / np.float32(FMNIST_STD)
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(lab.astype(np.int64))
