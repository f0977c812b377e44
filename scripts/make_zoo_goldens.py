#!/usr/bin/python3
"""Goldens for checkpoints of every family (tests/golden/zoo/), made with the reference
implementations: torchvision 0.14's SwinTransformer (V1 and V2, random weights, no download)
and, for the families whose libraries are not installed (HF Swin/BEiT/T5, timm BEiT,
torchscale), checkpoints built here with their exact tensor names and shapes from the same
weights, with outputs computed by PyTorch code that follows each model's forward.

    scripts/make_zoo_goldens.py [--rpbtool build/rpbtool] [--full-swin-t OUT.safetensors]

--rpbtool also checks that `rpbtool resize --checkpoint` output loads into torchvision's
SwinTransformer(window_size=[12, 12]) with strict=True and prints the max errors of rpbtool
against torchvision for each golden. --full-swin-t writes the whole swin_t state dict
(~110 MB, not committed) for inspect timings.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models import swin_t
from torchvision.models.swin_transformer import (PatchMergingV2, SwinTransformer,
                                                 SwinTransformerBlockV2)

from zoo_common import load_safetensors, save_safetensors, t5_bucket, windows

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "zoo")
def save_npy(name, t):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(t.detach().numpy(), dtype=np.float32))


def randomise(module, seed):
    """Random, non-trivial values everywhere (tables are zeros or tiny by default)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.5 if "table" in name else 0.2))
            if name.endswith("logit_scale"):
                p.copy_(torch.log(10 * torch.rand(p.shape, generator=g) + 1))


def small_swin(window=7, v2=False):
    kw = dict(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
              window_size=[window, window], stochastic_depth_prob=0.0, num_classes=10)
    if v2:
        kw.update(block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2)
    torch.manual_seed(0)
    return SwinTransformer(**kw).eval()


def swin_goldens(args):
    m = small_swin()
    randomise(m, 1)
    sd = m.state_dict()
    save_safetensors(os.path.join(OUT, "tv_swin.safetensors"), sd)
    attn = m.features[1][0].attn  # ShiftedWindowAttention, shift 0 in block 0
    x = torch.randn(1, 14, 7, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = attn(x)
    save_npy("tv_swin_x.npy", windows(x, 7))
    save_npy("tv_swin_out.npy", windows(out, 7))
    # Resize of features.1.0's table as the official Swin code does.
    table = sd["features.1.0.attn.relative_position_bias_table"]
    heads = table.shape[1]
    resized = F.interpolate(table.permute(1, 0).view(1, heads, 13, 13), size=(23, 23),
                            mode="bicubic", align_corners=False)
    save_npy("tv_swin_table_12x12.npy", resized.view(heads, 23 * 23).permute(1, 0))
    # A BEiT table (7x7 + class token): spatial entries resized, the 3 extra kept.
    g = torch.Generator().manual_seed(3)
    beit = torch.randn(13 * 13 + 3, 2, generator=g) * 0.5  # trained tables' magnitude
    np.save(os.path.join(OUT, "beit_table_7x7_cls.npy"), beit.numpy())
    spatial = F.interpolate(beit[:169].permute(1, 0).view(1, 2, 13, 13), size=(27, 27),
                            mode="bicubic", align_corners=False).view(2, -1).permute(1, 0)
    save_npy("beit_table_14x14_cls.npy", torch.cat([spatial, beit[169:]]))
    return m, sd, x, out


def swin_v2_goldens():
    m = small_swin(window=8, v2=True)
    randomise(m, 4)
    sd = m.state_dict()
    save_safetensors(os.path.join(OUT, "tv_swin_v2.safetensors"), sd)
    attn = m.features[1][0].attn  # ShiftedWindowAttentionV2, shift 0
    x = torch.randn(1, 8, 8, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out = attn(x)
        bias = attn.get_relative_position_bias()[0]  # (H, N, N), 16 * sigmoid(...)
    save_npy("tv_swin_v2_x.npy", windows(x, 8))
    save_npy("tv_swin_v2_out.npy", windows(out, 8))
    save_npy("tv_swin_v2_bias.npy", bias)


def family_checkpoints(sd):
    """features.1.0.attn's weights under other families' names: attn must give the same
    output for each (the HF and timm forwards are this same computation)."""
    p = "features.1.0.attn."
    qkv_w, qkv_b = sd[p + "qkv.weight"], sd[p + "qkv.bias"]
    e = qkv_w.shape[1]
    q_w, k_w, v_w = qkv_w[:e], qkv_w[e:2 * e], qkv_w[2 * e:]
    q_b, k_b, v_b = qkv_b[:e], qkv_b[e:2 * e], qkv_b[2 * e:]
    table, index = sd[p + "relative_position_bias_table"], sd[p + "relative_position_index"]
    n = int(math.isqrt(index.numel()))
    # HF Swin: attention.self.{query,key,value}, attention.output.dense; index (N, N).
    h = "swin.encoder.layers.0.blocks.0.attention."
    hf = {h + "self.query.weight": q_w, h + "self.query.bias": q_b,
          h + "self.key.weight": k_w, h + "self.key.bias": k_b,
          h + "self.value.weight": v_w, h + "self.value.bias": v_b,
          h + "self.relative_position_bias_table": table,
          h + "self.relative_position_index": index.view(n, n),
          h + "output.dense.weight": sd[p + "proj.weight"], h + "output.dense.bias": sd[p + "proj.bias"],
          "swin.embeddings.norm.weight": torch.ones(e)}
    save_safetensors(os.path.join(OUT, "hf_swin.safetensors"), hf)
    # torchscale/zeta names over the same weights, table shared by the encoder: a qkv-free
    # family with a Swin table (cli.md: either table name with any projection family).
    ts = {"encoder.layers.0.self_attn.q_proj.weight": q_w, "encoder.layers.0.self_attn.q_proj.bias": q_b,
          "encoder.layers.0.self_attn.k_proj.weight": k_w, "encoder.layers.0.self_attn.k_proj.bias": k_b,
          "encoder.layers.0.self_attn.v_proj.weight": v_w, "encoder.layers.0.self_attn.v_proj.bias": v_b,
          "encoder.layers.0.self_attn.out_proj.weight": sd[p + "proj.weight"],
          "encoder.layers.0.self_attn.out_proj.bias": sd[p + "proj.bias"],
          "encoder.layers.0.self_attn.relative_position_bias_table": table,
          "encoder.layers.0.self_attn.relative_position_index": index}
    save_safetensors(os.path.join(OUT, "ts_swin_table.safetensors"), ts)


def beit_goldens():
    """HF BEiT (query/value with bias, key without; table with 3 class-token entries) and
    timm BEiT (qkv without bias, q_bias/v_bias), one 4x4 + cls window, E 16, 2 heads; and the
    shared-table HF variant (encoder.relative_position_bias)."""
    g = torch.Generator().manual_seed(6)
    e, heads, w = 16, 2, 4
    nrd = (2 * w - 1) ** 2
    q_w, k_w, v_w, o_w = (torch.randn(e, e, generator=g) * 0.3 for _ in range(4))
    q_b, v_b, o_b = (torch.randn(e, generator=g) * 0.1 for _ in range(3))
    table = torch.randn(nrd + 3, heads, generator=g)
    # BEiT's index (modeling_beit BeitRelativePositionBias / timm beit gen_relative_position_index)
    coords = torch.stack(torch.meshgrid([torch.arange(w), torch.arange(w)], indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += w - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    index = torch.zeros(w * w + 1, w * w + 1, dtype=torch.int64)
    index[1:, 1:] = rel.sum(-1)
    index[0, 0:] = nrd
    index[0:, 0] = nrd + 1
    index[0, 0] = nrd + 2
    x = torch.randn(1, w * w + 1, e, generator=g)
    with torch.no_grad():
        d = e // heads
        q = (x @ q_w.T + q_b).view(1, -1, heads, d).transpose(1, 2) * d ** -0.5
        k = (x @ k_w.T).view(1, -1, heads, d).transpose(1, 2)
        v = (x @ v_w.T + v_b).view(1, -1, heads, d).transpose(1, 2)
        bias = table[index.view(-1)].view(w * w + 1, w * w + 1, heads).permute(2, 0, 1)
        attn = (q @ k.transpose(-2, -1) + bias).softmax(-1)
        out = (attn @ v).transpose(1, 2).reshape(1, -1, e) @ o_w.T + o_b
    save_npy("beit_x.npy", x)
    save_npy("beit_out.npy", out)
    h = "beit.encoder.layer.0.attention."
    hf = {h + "attention.query.weight": q_w, h + "attention.query.bias": q_b,
          h + "attention.key.weight": k_w,
          h + "attention.value.weight": v_w, h + "attention.value.bias": v_b,
          h + "attention.relative_position_bias.relative_position_bias_table": table,
          h + "attention.relative_position_bias.relative_position_index": index,
          h + "output.dense.weight": o_w, h + "output.dense.bias": o_b}
    save_safetensors(os.path.join(OUT, "hf_beit.safetensors"), hf)
    shared = {k.replace(h + "attention.relative_position_bias.", "beit.encoder.relative_position_bias."): v
              for k, v in hf.items()}
    for k in list(shared):
        if k.startswith(h):
            shared[k.replace("layer.0.", "layer.1.")] = shared[k]
    save_safetensors(os.path.join(OUT, "hf_beit_shared.safetensors"), shared)
    t = "blocks.0.attn."
    timm = {t + "qkv.weight": torch.cat([q_w, k_w, v_w]), t + "q_bias": q_b, t + "v_bias": v_b,
            t + "proj.weight": o_w, t + "proj.bias": o_b,
            t + "relative_position_bias_table": table, t + "relative_position_index": index}
    save_safetensors(os.path.join(OUT, "timm_beit.safetensors"), timm)


def t5_goldens():
    """HF T5 (q,k,v,o without biases, no logit scaling, block 0's table reused by block 1,
    the decoder's causal) and torchscale (q_proj.. with biases, scaled by head_dim^-0.5,
    one encoder.relative_position table shared by all layers)."""
    g = torch.Generator().manual_seed(7)
    e, heads, n = 16, 4, 10
    ck = {}
    for stack in ("encoder", "decoder"):
        for b in range(2):
            p = f"{stack}.block.{b}.layer.0.SelfAttention."
            for name in "qkvo":
                ck[p + name + ".weight"] = torch.randn(e, e, generator=g) * 0.3
        ck[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = \
            torch.randn(32, heads, generator=g)
        ck[f"{stack}.block.0.layer.0.layer_norm.weight"] = torch.ones(e)
    ck["shared.weight"] = torch.randn(8, e, generator=g)
    x = torch.randn(1, n, e, generator=g)
    pos = torch.arange(n)
    rel = pos[None, :] - pos[:, None]  # key - query
    outs = {}
    with torch.no_grad():
        for stack, causal in (("encoder", False), ("decoder", True)):
            p = f"{stack}.block.1.layer.0.SelfAttention."
            table = ck[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
            bias = table[t5_bucket(rel, bidirectional=not causal)].permute(2, 0, 1)
            d = e // heads
            q, k, v = ((x @ ck[p + c + ".weight"].T).view(1, n, heads, d).transpose(1, 2) for c in "qkv")
            logits = q @ k.transpose(-2, -1) + bias
            if causal:
                logits = logits.masked_fill(rel[None, None] > 0, float("-inf"))
            out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(1, n, e) @ ck[p + "o.weight"].T
            outs[stack] = out
    save_safetensors(os.path.join(OUT, "hf_t5.safetensors"), ck)
    save_npy("t5_x.npy", x)
    save_npy("t5_encoder_out.npy", outs["encoder"])
    save_npy("t5_decoder_out.npy", outs["decoder"])
    ts = {}
    for layer in range(2):
        p = f"encoder.layers.{layer}.self_attn."
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            ts[p + name + ".weight"] = torch.randn(e, e, generator=g) * 0.3
            ts[p + name + ".bias"] = torch.randn(e, generator=g) * 0.1
    ts["encoder.relative_position.relative_attention_bias.weight"] = torch.randn(32, heads, generator=g)
    with torch.no_grad():
        p = "encoder.layers.1.self_attn."
        d = e // heads
        proj = {c: x @ ts[p + c + "_proj.weight"].T + ts[p + c + "_proj.bias"] for c in "qkv"}
        q, k, v = (proj[c].view(1, n, heads, d).transpose(1, 2) for c in "qkv")
        q = q * d ** -0.5  # torchscale MultiheadAttention scales q
        bias = ts["encoder.relative_position.relative_attention_bias.weight"][t5_bucket(rel)].permute(2, 0, 1)
        out = ((q @ k.transpose(-2, -1) + bias).softmax(-1) @ v).transpose(1, 2).reshape(1, n, e)
        out = out @ ts[p + "out_proj.weight"].T + ts[p + "out_proj.bias"]
    save_safetensors(os.path.join(OUT, "torchscale.safetensors"), ts)
    save_npy("torchscale_out.npy", out)


def rpbtool_vit():
    """A model file as `rpbtool train` writes it (math.md section 6, formats.md "Model
    files"): timm names, no index buffer, the architecture in "rpbtool.config"."""
    g = torch.Generator().manual_seed(8)
    e, heads, depth = 16, 2, 2
    config = {"in_chans": 1, "image_size": [28, 28], "patch_size": 7, "num_classes": 10,
              "embed_dim": e, "depth": depth, "num_heads": heads, "mlp_dim": 2 * e,
              "pos": "rpb-2d", "pool": "cls", "num_buckets": 32, "max_distance": 128,
              "mean": [0.286], "std": [0.353], "classes": [str(i) for i in range(10)]}
    ck = {"patch_embed.proj.weight": torch.randn(e, 1, 7, 7, generator=g) * 0.02,
          "patch_embed.proj.bias": torch.zeros(e), "cls_token": torch.zeros(1, 1, e),
          "norm.weight": torch.ones(e), "norm.bias": torch.zeros(e),
          "head.weight": torch.randn(10, e, generator=g) * 0.02, "head.bias": torch.zeros(10)}
    for l in range(depth):
        p = f"blocks.{l}."
        ck[p + "attn.qkv.weight"] = torch.randn(3 * e, e, generator=g) * 0.02
        ck[p + "attn.qkv.bias"] = torch.zeros(3 * e)
        ck[p + "attn.proj.weight"] = torch.randn(e, e, generator=g) * 0.02
        ck[p + "attn.proj.bias"] = torch.zeros(e)
        ck[p + "attn.relative_position_bias_table"] = torch.randn(7 * 7 + 3, heads, generator=g) * 0.02
        for n in ("norm1", "norm2"):
            ck[p + n + ".weight"] = torch.ones(e)
            ck[p + n + ".bias"] = torch.zeros(e)
    save_safetensors(os.path.join(OUT, "rpbtool_vit.safetensors"), ck,
                     {"format": "pt", "rpbtool.config": json.dumps(config)})


def hostile_files(sd):
    """Malformed checkpoints the tests expect one-line errors for."""
    p = "features.1.0.attn."
    table, index = sd[p + "relative_position_bias_table"], sd[p + "relative_position_index"].clone()
    index[5], index[6] = index[6].item(), index[5].item()
    save_safetensors(os.path.join(OUT, "bad_index.safetensors"),
                     {p + "relative_position_bias_table": table, p + "relative_position_index": index})
    save_safetensors(os.path.join(OUT, "bad_index_size.safetensors"),
                     {p + "relative_position_bias_table": table,
                      p + "relative_position_index": index[:2400]})
    g = torch.Generator().manual_seed(9)
    save_safetensors(os.path.join(OUT, "bad_cpb.safetensors"),
                     {p + "cpb_mlp.0.weight": torch.randn(512, 3, generator=g),
                      p + "cpb_mlp.0.bias": torch.zeros(512),
                      p + "cpb_mlp.2.weight": torch.randn(2, 512, generator=g),
                      p + "logit_scale": torch.zeros(2, 1, 1)})
    # Every dtype of the format beside a table: BF16 table, BOOL mask, U8 and F16 tensors.
    save_safetensors(os.path.join(OUT, "dtypes.safetensors"),
                     {"blocks.0.attn.relative_position_bias_table": table.to(torch.bfloat16),
                      "blocks.0.attn.relative_position_index":
                          sd[p + "relative_position_index"].view(49, 49).to(torch.int32),
                      "mask": torch.ones(3, dtype=torch.bool), "bytes": torch.arange(4, dtype=torch.uint8),
                      "half": torch.ones(2, dtype=torch.float16)})


def check_with_rpbtool(rpbtool):
    def run(*a):
        subprocess.run([rpbtool, *a], check=True)

    def max_err(path, golden):
        a = np.load(path).astype(np.float64)
        b = np.load(os.path.join(OUT, golden)).astype(np.float64)
        assert a.shape == b.shape, (path, a.shape, b.shape)
        return float(np.abs(a - b).max())

    with tempfile.TemporaryDirectory() as tmp:
        o = lambda n: os.path.join(tmp, n)
        z = lambda n: os.path.join(OUT, n)
        cases = [
            ("torchvision swin features.1.0 attention", "tv_swin_out.npy",
             ["attn", "--weights", z("tv_swin.safetensors"), "--prefix", "features.1.0.attn",
              "--input", z("tv_swin_x.npy")]),
            ("HF Swin names, same weights", "tv_swin_out.npy",
             ["attn", "--weights", z("hf_swin.safetensors"), "--prefix",
              "swin.encoder.layers.0.blocks.0.attention", "--input", z("tv_swin_x.npy")]),
            ("torchvision swin_v2 features.1.0 attention", "tv_swin_v2_out.npy",
             ["attn", "--weights", z("tv_swin_v2.safetensors"), "--prefix", "features.1.0.attn",
              "--input", z("tv_swin_v2_x.npy")]),
            ("torchvision swin_v2 features.1.0 bias (cpb)", "tv_swin_v2_bias.npy",
             ["bias", "--cpb", z("tv_swin_v2.safetensors") + ":features.1.0.attn",
              "--window", "8x8"]),
            ("HF BEiT attention", "beit_out.npy",
             ["attn", "--weights", z("hf_beit.safetensors"), "--prefix",
              "beit.encoder.layer.0.attention", "--input", z("beit_x.npy")]),
            ("timm BEiT attention", "beit_out.npy",
             ["attn", "--weights", z("timm_beit.safetensors"), "--prefix", "blocks.0.attn",
              "--input", z("beit_x.npy")]),
            ("HF T5 encoder block 1", "t5_encoder_out.npy",
             ["attn", "--weights", z("hf_t5.safetensors"), "--prefix",
              "encoder.block.1.layer.0.SelfAttention", "--input", z("t5_x.npy")]),
            ("HF T5 decoder block 1 (causal)", "t5_decoder_out.npy",
             ["attn", "--weights", z("hf_t5.safetensors"), "--prefix",
              "decoder.block.1.layer.0.SelfAttention", "--input", z("t5_x.npy")]),
            ("torchscale encoder layer 1", "torchscale_out.npy",
             ["attn", "--weights", z("torchscale.safetensors"), "--prefix",
              "encoder.layers.1.self_attn", "--input", z("t5_x.npy")]),
            ("resize features.1.0 table 7x7 -> 12x12", "tv_swin_table_12x12.npy",
             ["resize", "--table", z("tv_swin.safetensors") + ":features.1.0.attn.relative_position_bias_table",
              "--window", "7x7", "--to", "12x12"]),
            ("resize BEiT table 7x7+cls -> 14x14+cls", "beit_table_14x14_cls.npy",
             ["resize", "--table", z("beit_table_7x7_cls.npy"), "--window", "7x7", "--to", "14x14"]),
        ]
        for i, (what, golden, cmd) in enumerate(cases):
            path = o(f"{i}.npy")
            run(*cmd, "-o", path)
            print(f"{what}: max |rpbtool - reference| = {max_err(path, golden):.3g}")
            if golden.endswith("_cls.npy") or golden.endswith("12x12.npy"):
                # PyTorch's float32 kernel is itself ~1e-6 off the exact values.
                table = np.load(path)
                src = (np.load(z("beit_table_7x7_cls.npy"))[:169] if "cls" in golden else
                       load_safetensors(z("tv_swin.safetensors"))[
                           "features.1.0.attn.relative_position_bias_table"].numpy())
                heads = src.shape[1]
                exact = F.interpolate(torch.from_numpy(src).double().T.reshape(1, heads, 13, 13),
                                      size=(2 * int(cmd[-1].split("x")[0]) - 1,) * 2,
                                      mode="bicubic", align_corners=False)
                exact = exact.reshape(heads, -1).T.numpy()
                print(f"  same vs PyTorch in float64: {np.abs(table[:exact.shape[0]] - exact).max():.3g}")
        # A resized checkpoint loads into the model at the new window.
        for v2 in (False, True):
            name = "tv_swin_v2.safetensors" if v2 else "tv_swin.safetensors"
            run("resize", "--checkpoint", z(name), "--to", "12x12", "-o", o("r.safetensors"), "-q")
            m = small_swin(window=12, v2=v2)
            m.load_state_dict(load_safetensors(o("r.safetensors")), strict=True)
            print(f"{name} resized to 12x12 loads into SwinTransformer(window_size=[12, 12]) "
                  f"strict=True")


def check_full_swin_t(rpbtool, model, path):
    """The real swin_t (E 96 to 768, 3 to 24 heads): rpbtool's attention of an unshifted block
    of each stage against torchvision's."""
    with tempfile.TemporaryDirectory() as tmp:
        for stage, block in ((1, 0), (3, 0), (5, 2), (7, 0)):
            attn = model.features[stage][block].attn
            e = attn.qkv.weight.shape[1]
            x = torch.randn(1, 14, 7, e, generator=torch.Generator().manual_seed(stage))
            with torch.no_grad():
                ref = windows(attn(x), 7)
            np.save(os.path.join(tmp, "x.npy"), np.ascontiguousarray(windows(x, 7).numpy()))
            subprocess.run([rpbtool, "attn", "--weights", path, "--prefix",
                            f"features.{stage}.{block}.attn", "--input", os.path.join(tmp, "x.npy"),
                            "-o", os.path.join(tmp, "out.npy")], check=True)
            err = np.abs(np.load(os.path.join(tmp, "out.npy")) - ref.numpy()).max()
            print(f"swin_t features.{stage}.{block} (E {e}, {attn.num_heads} heads): "
                  f"max |rpbtool - torchvision| = {err:.3g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpbtool")
    ap.add_argument("--full-swin-t")
    ap.add_argument("--no-write", action="store_true", help="only check (needs --rpbtool)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not args.no_write:
        _, sd, _, _ = swin_goldens(args)
        swin_v2_goldens()
        family_checkpoints(sd)
        hostile_files(sd)
        beit_goldens()
        t5_goldens()
        rpbtool_vit()
    if args.full_swin_t:
        torch.manual_seed(0)
        full = swin_t().eval()
        save_safetensors(args.full_swin_t, full.state_dict())
        if args.rpbtool:
            check_full_swin_t(args.rpbtool, full, args.full_swin_t)
    if args.rpbtool:
        check_with_rpbtool(args.rpbtool)


if __name__ == "__main__":
    sys.exit(main())
