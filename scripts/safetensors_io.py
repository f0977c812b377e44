"""The few lines of safetensors reading and writing the golden scripts need (no `safetensors`
package on Debian 12): formats.md "safetensors"."""
import json

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
