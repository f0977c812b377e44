"""Helpers of scripts/make_zoo_goldens.py: the few lines of safetensors reading and writing it
needs (no `safetensors` package on Debian 12; formats.md "safetensors"), torchvision's window
partition, and HF T5's bucket function."""
import json
import math

import numpy as np
import torch

DTYPES = {torch.float32: ("F32", np.float32), torch.int64: ("I64", np.int64),
          torch.float16: ("F16", np.float16), torch.bool: ("BOOL", np.bool_),
          torch.uint8: ("U8", np.uint8), torch.int32: ("I32", np.int32)}


def save_safetensors(path, tensors, metadata=None):
    """The safetensors layout (formats.md): 8-byte header size, JSON header, data; entries
    sorted by name as the reference writer does for one dtype."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype == torch.bfloat16:
            raw = t.contiguous().view(torch.int16).numpy().tobytes()
            code = "BF16"
        else:
            code, np_type = DTYPES[t.dtype]
            raw = t.contiguous().numpy().astype(np_type).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    back = {"F32": np.float32, "I64": np.int64, "I32": np.int32, "F16": np.float16}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[8 + n + b:8 + n + end], dtype=back[e["dtype"]])
        out[name] = torch.from_numpy(arr.reshape(e["shape"]).copy())
    return out


def windows(x, w):
    """(1, H, W, C) -> (nW, w*w, C) in torchvision's window order."""
    _, h, ww, c = x.shape
    x = x.view(1, h // w, w, ww // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)



def t5_bucket(rel, num_buckets=32, max_distance=128, bidirectional=True):
    # transformers T5Attention._relative_position_bucket
    buckets = 0
    if bidirectional:
        num_buckets //= 2
        buckets += (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, rel, large)
