#!/usr/bin/python3
"""PyTorch reference of the seed project's Vision Transformer with relative position bias
(index maps, the ViT and its training, as rpbtool's include/rpb/index.hpp, vit.hpp and train.hpp
describe them), with the file formats it needs
(formats.md: safetensors, model files, IDX). Importable; used by gen_vit_golden.py,
bench_train_peer.py and check_model.py.

Needs only Debian's python3-torch (1.13) and python3-numpy: the safetensors reader/writer and
the IDX reader/writer are written here.
"""
import gzip
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
CONFIG_KEYS = ["in_chans", "image_size", "patch_size", "num_classes", "embed_dim", "depth",
               "num_heads", "mlp_dim", "pos", "pool", "num_buckets", "max_distance", "mean",
               "std", "classes"]
POS_KINDS = ("rpb-2d", "rpb-1d", "t5", "ape", "none")

# ---------------------------------------------------------------------------------------------
# safetensors (formats.md): 8-byte LE header size, compact JSON with __metadata__ first and
# entries sorted by name, padded with spaces to a multiple of 8, little-endian data.

_ST_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4",
              "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def save_safetensors(path, tensors, metadata=None):
    """tensors: name -> array-like (written as float32 unless it is an integer array)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a, dtype = a.astype("<f4"), "F32"
        elif a.dtype == np.int64:
            a, dtype = a.astype("<i8"), "I64"
        elif a.dtype == np.int32:
            a, dtype = a.astype("<i4"), "I32"
        elif a.dtype == np.uint8:
            dtype = "U8"
        else:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """-> (dict name -> numpy array, metadata dict or {}). Checks the layout formats.md lists."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > 100_000_000 or 8 + n > len(raw):
        raise ValueError(f"{path}: bad header size {n}")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    buf = raw[8 + n:]
    out = {}
    spans = []
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dt = np.dtype(_ST_DTYPES[e["dtype"]])
        count = int(np.prod(e["shape"], dtype=np.int64))
        if end - begin != count * dt.itemsize:
            raise ValueError(f"{path}: {name}: size does not match its shape")
        out[name] = np.frombuffer(buf[begin:end], dtype=dt).reshape(e["shape"]).copy()
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise ValueError(f"{path}: entries do not tile the data buffer")
        pos = end
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} trailing bytes")
    return out, metadata


# ---------------------------------------------------------------------------------------------
# IDX (formats.md): big-endian, magic 0 0 type ndim, uint32 sizes, data; optionally gzip.

def read_idx(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    d = raw[3]
    dims = struct.unpack(">" + "I" * d, raw[4:4 + 4 * d])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * d)
    if data.size != int(np.prod(dims, dtype=np.int64)):
        raise ValueError(f"{path}: {data.size} data bytes for dimensions {dims}")
    return data.reshape(dims).copy()


def write_idx(path, array, compress=None):
    """Unsigned-byte IDX; gzip-compressed (reproducibly, mtime 0) when the name ends in .gz."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, a.ndim]) + struct.pack(">" + "I" * a.ndim, *a.shape) + a.tobytes()
    if compress is None:
        compress = str(path).endswith(".gz")
    if compress:
        with open(path, "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
                g.write(raw)
    else:
        with open(path, "wb") as f:
            f.write(raw)


def _idx_file(folder, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{folder}: no {stem} or {stem}.gz")


def load_split(folder, split):
    """-> (images (N, H, W) uint8, labels (N,) int64) of split 'train' or 'test'."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels.astype(np.int64)


def normalisation(train_images):
    """mean and population std (ddof 0) of u8/255 over every training pixel, in float64,
    from the histogram of the 256 pixel values (exact counts, then a fixed summation order,
    so that another implementation gets the same bits and no float copy of the set is made):

        N = number of pixels, c[v] = count of value v, S = sum_v c[v] * v   (exact integers)
        mean = double(S) / double(N) / 255.0
        d[v] = v / 255.0 - mean
        var  = (sum over v = 0..255, in that order, of (double(c[v]) * d[v]) * d[v]) / N
        std  = sqrt(var)
    """
    counts = np.bincount(np.asarray(train_images, dtype=np.uint8).ravel(), minlength=256)
    n = int(counts.sum())
    s = int(np.dot(counts.astype(object), np.arange(256, dtype=object)))
    mean = float(s) / float(n) / 255.0
    acc = 0.0
    for v in range(256):
        d = v / 255.0 - mean
        acc += float(counts[v]) * d * d
    return [mean], [float(np.sqrt(acc / n))]


def normalise(images_u8, mean, std, dtype=np.float32):
    """(B, H, W) uint8 -> (B, 1, H, W): (u/255 - mean)/std evaluated in float64, then rounded
    to dtype (a 256-entry table: the same value for a pixel value whatever the image)."""
    lut = (np.arange(256, dtype=np.float64) / 255.0 - mean[0]) / std[0]
    return lut.astype(dtype)[images_u8][:, None, :, :]


# ---------------------------------------------------------------------------------------------
# Index maps (math.md 1-3)

# HF T5's _relative_position_bucket (float32 log), shared with the benchmark peers.
from bench_peer_common import relative_position_bucket as t5_relative_position_bucket  # noqa: E402


def swin_index(wh, ww):
    # Swin WindowAttention.__init__ (query minus key)
    coords = torch.stack(torch.meshgrid([torch.arange(wh), torch.arange(ww)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


def num_tokens(grid_h, grid_w, cls):
    return grid_h * grid_w + (1 if cls else 0)


def num_entries(pos, grid_h, grid_w, cls, num_buckets):
    t = num_tokens(grid_h, grid_w, cls)
    if pos == "rpb-2d":
        return (2 * grid_h - 1) * (2 * grid_w - 1) + (3 if cls else 0)
    if pos == "rpb-1d":
        return 2 * t - 1
    if pos == "t5":
        return num_buckets
    return 0


def build_index(pos, grid_h, grid_w, cls, num_buckets=32, max_distance=128):
    """(T, T) int64 numpy map token pair -> table entry for pos rpb-2d, rpb-1d or t5."""
    t = num_tokens(grid_h, grid_w, cls)
    if pos == "rpb-2d":
        n = grid_h * grid_w
        nrd = (2 * grid_h - 1) * (2 * grid_w - 1)
        if not cls:
            return swin_index(grid_h, grid_w).numpy().astype(np.int64)
        # BEiT: token 0 is the class token, 3 extra entries
        index = np.zeros((n + 1, n + 1), dtype=np.int64)
        index[1:, 1:] = swin_index(grid_h, grid_w).numpy()
        index[0, :] = nrd
        index[:, 0] = nrd + 1
        index[0, 0] = nrd + 2
        return index
    if pos == "rpb-1d":
        i = np.arange(t)[:, None]
        j = np.arange(t)[None, :]
        return (i - j + t - 1).astype(np.int64)
    if pos == "t5":
        ctx = torch.arange(t, dtype=torch.long)[:, None]
        mem = torch.arange(t, dtype=torch.long)[None, :]
        return t5_relative_position_bucket(mem - ctx, True, num_buckets, max_distance).numpy()
    raise ValueError(f"pos {pos!r} has no index map")


# ---------------------------------------------------------------------------------------------
# Model (math.md 6)

class Attention(nn.Module):
    def __init__(self, dim, heads, index, entries):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.has_bias = index is not None
        if self.has_bias:
            self.register_buffer("relative_position_index", torch.from_numpy(index),
                                 persistent=False)
            self.relative_position_bias_table = nn.Parameter(torch.zeros(entries, heads))

    def bias(self):
        t = self.relative_position_index.shape[0]
        b = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        return b.reshape(t, t, self.heads).permute(2, 0, 1)  # (H, T, T)

    def forward(self, x):
        b, t, c = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.has_bias:
            attn = attn + self.bias().unsqueeze(0)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, t, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_dim, index, entries):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, index, entries)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, in_chans, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, n, E), row-major tokens


def default_config(**kw):
    c = {"in_chans": 1, "image_size": [28, 28], "patch_size": 4, "num_classes": 10,
         "embed_dim": 64, "depth": 6, "num_heads": 4, "mlp_dim": 128, "pos": "rpb-2d",
         "pool": "cls", "num_buckets": 32, "max_distance": 128, "mean": [0.5], "std": [0.5],
         "classes": list(FASHION_CLASSES)}
    c.update(kw)
    return c


class ViT(nn.Module):
    def __init__(self, config):
        super().__init__()
        missing = [k for k in CONFIG_KEYS if k not in config]
        if missing:
            raise ValueError(f"config lacks {missing}")
        self.config = dict(config)
        c = self.config
        hi, wi = c["image_size"]
        p = c["patch_size"]
        if hi % p or wi % p:
            raise ValueError("image size must be a multiple of the patch size")
        self.grid = (hi // p, wi // p)
        e, pos, pool = c["embed_dim"], c["pos"], c["pool"]
        if pos not in POS_KINDS or pool not in ("cls", "mean"):
            raise ValueError(f"bad pos {pos!r} or pool {pool!r}")
        cls = pool == "cls"
        t = num_tokens(*self.grid, cls)
        self.patch_embed = PatchEmbed(c["in_chans"], e, p)
        if cls:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, e))
        if pos == "ape":
            self.pos_embed = nn.Parameter(torch.zeros(1, t, e))
        index = None
        entries = num_entries(pos, *self.grid, cls, c["num_buckets"])
        if pos in ("rpb-2d", "rpb-1d", "t5"):
            index = build_index(pos, *self.grid, cls, c["num_buckets"], c["max_distance"])
            assert 0 <= index.min() and index.max() < entries
        self.blocks = nn.ModuleList([Block(e, c["num_heads"], c["mlp_dim"], index, entries)
                                     for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(e, eps=1e-6)
        self.head = nn.Linear(e, c["num_classes"])
        self.mean = c["mean"]
        self.std = c["std"]

    def pixels(self, images_u8):
        """(B, H, W) uint8 numpy -> (B, 1, H, W) tensor of the model's dtype."""
        dt = next(self.parameters()).dtype
        npdt = np.float64 if dt == torch.float64 else np.float32
        return torch.from_numpy(normalise(images_u8, self.mean, self.std, npdt))

    def forward(self, x):
        """x: normalised pixels (B, C, H, W) -> logits (B, K)."""
        z = self.patch_embed(x)
        if self.config["pool"] == "cls":
            z = torch.cat([self.cls_token.expand(z.shape[0], -1, -1), z], dim=1)
        if self.config["pos"] == "ape":
            z = z + self.pos_embed
        for blk in self.blocks:
            z = blk(z)
        y = self.norm(z)
        h = y[:, 0] if self.config["pool"] == "cls" else y.mean(dim=1)
        return self.head(h)


def init_timm(model, seed=0):
    """math.md 6 initialisation: Linear/patch weights trunc-normal 0.02 (PyTorch's absolute
    +-2 truncation), biases 0, LayerNorm 1/0, tables, cls_token, pos_embed trunc-normal 0.02."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                nn.init.trunc_normal_(p, std=0.02)
    return model


def init_large(model, seed):
    """Weights far from zero, for gradient goldens: Linear/patch weights N(0, 0.3), biases
    N(0, 0.1), LayerNorm weight 1 + N(0, 0.1), tables, cls_token, pos_embed N(0, 0.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float64)
            is_norm = name.split(".")[-2].startswith("norm") if "." in name else False
            if is_norm and name.endswith(".weight"):
                v = 1.0 + 0.1 * r
            elif name.endswith(".bias"):
                v = 0.1 * r
            elif name in ("cls_token", "pos_embed") or name.endswith("relative_position_bias_table"):
                v = 0.5 * r
            else:
                v = 0.3 * r
            p.copy_(v.to(p.dtype))
    return model


# ---------------------------------------------------------------------------------------------
# Model files (formats.md "Model files")

def save_model(path, model, config=None):
    config = dict(model.config if config is None else config)
    config = {k: config[k] for k in CONFIG_KEYS}
    sd = {k: v.detach().to(torch.float32).cpu().numpy() for k, v in model.state_dict().items()}
    save_safetensors(path, sd, {"format": "pt", "rpbtool.config": json.dumps(config)})


def load_model(path, dtype=torch.float32):
    tensors, meta = load_safetensors(path)
    if "rpbtool.config" not in meta:
        raise ValueError(f"{path}: no rpbtool.config in __metadata__")
    config = json.loads(meta["rpbtool.config"])
    model = ViT(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    return model.to(dtype), config


# ---------------------------------------------------------------------------------------------
# Training (math.md 7)

def no_decay(name, p):
    return (p.ndim < 2 or name in ("cls_token", "pos_embed")
            or name.endswith("relative_position_bias_table"))


def param_groups(model, weight_decay):
    decay, other = [], []
    for name, p in model.named_parameters():
        (other if no_decay(name, p) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": other, "weight_decay": 0.0}]


def lr_at(step, total, peak, min_lr, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    return min_lr + (peak - min_lr) * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


def make_optimizer(model, kind, lr, weight_decay, momentum=0.0):
    groups = param_groups(model, weight_decay)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    if kind == "sgd":
        # torch.optim.SGD adds weight_decay * p to the gradient; the same groups as AdamW
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=False)
    raise ValueError(kind)


def train(model, images, labels, *, optimizer="adamw", batch_size=16, epochs=2, lr=2e-3,
          min_lr=1e-5, warmup=3, weight_decay=0.05, momentum=0.0, label_smoothing=0.1,
          clip_grad=None):
    """Shuffle off, no augmentation: batches in file order, incomplete last batch dropped.
    Returns per-step records: loss (of the batch before the update), lr, grad_norm (2-norm of
    all gradients before clipping)."""
    per_epoch = len(images) // batch_size
    total = per_epoch * epochs
    opt = make_optimizer(model, optimizer, lr, weight_decay, momentum)
    x_all = model.pixels(images)
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    losses, lrs, norms = [], [], []
    model.train()
    for step in range(total):
        b = step % per_epoch
        x = x_all[b * batch_size:(b + 1) * batch_size]
        y = y_all[b * batch_size:(b + 1) * batch_size]
        rate = lr_at(step, total, lr, min_lr, warmup)
        for g in opt.param_groups:
            g["lr"] = rate
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.norm(torch.stack([torch.norm(g.detach(), 2.0) for g in grads]), 2.0)
        if clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        opt.step()
        losses.append(float(loss))
        lrs.append(rate)
        norms.append(float(norm))
    return {"losses": losses, "lrs": lrs, "grad_norms": norms}


@torch.no_grad()
def evaluate(model, images, labels, batch_size=1000):
    """-> (logits (N, K) tensor, accuracy, mean cross-entropy without label smoothing)."""
    model.eval()
    out = []
    for s in range(0, len(images), batch_size):
        out.append(model(model.pixels(images[s:s + batch_size])))
    logits = torch.cat(out)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    loss = float(F.cross_entropy(logits, y))
    acc = float((logits.argmax(1) == y).double().mean())
    return logits, acc, loss
