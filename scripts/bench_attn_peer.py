#!/usr/bin/python3
"""Peer side of scripts/bench_attn.sh: self-attention with relative position bias as the
published PyTorch models compute it, timed in-process after import, alternating with
whole-process runs of rpbtool.

- t5: Hugging Face T5Attention (bucket map over all (q, k) pairs in float32, embedding
  gather, permute to (1, H, q, k)), with the qkv/output linears and the materialised bias;
  logits scaled by --scale (T5 itself uses 1 and skips the multiply).
- swin: Swin Transformer WindowAttention.forward (relative_position_index is a buffer made
  at construction, as in Swin; the table gather, permute and add are timed).

Prints one tab-separated line per measurement:

    peer     <seconds>
    rpbtool  <seconds> <max_rss_kb>  (whole process, run under /usr/bin/time -v)
    sgemm    <gflops>              (torch.mm of two 2048 x 2048 float32 matrices)
    peer_rss <max_rss_kb>          (ru_maxrss of this process, once at the end)
"""
import argparse
import resource
import time

import torch
import torch.nn.functional as F

from bench_peer_common import relative_position_bucket, run_rpbtool


def t5_compute_bias(embedding, length):
    # transformers T5Attention.compute_bias
    context_position = torch.arange(length, dtype=torch.long)[:, None]
    memory_position = torch.arange(length, dtype=torch.long)[None, :]
    bucket = relative_position_bucket(memory_position - context_position)
    return embedding(bucket).permute([2, 0, 1]).unsqueeze(0)  # (1, H, q, k)


def swin_relative_position_index(wh, ww):
    # Swin WindowAttention.__init__
    coords = torch.stack(torch.meshgrid([torch.arange(wh), torch.arange(ww)], indexing="ij"))
    coords_flatten = torch.flatten(coords, 1)
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()
    relative_coords[:, :, 0] += wh - 1
    relative_coords[:, :, 1] += ww - 1
    relative_coords[:, :, 0] *= 2 * ww - 1
    return relative_coords.sum(-1)


class Layer:
    def __init__(self, args):
        e, h = args.embed_dim, args.heads
        self.heads = h
        self.scale = args.scale if args.scale is not None else (e // h) ** -0.5
        self.qkv = torch.nn.Linear(e, 3 * e)
        self.proj = torch.nn.Linear(e, e)
        if args.case == "t5":
            self.embedding = torch.nn.Embedding(32, h)
        else:
            self.wh, self.ww = args.window
            self.table = torch.randn((2 * self.wh - 1) * (2 * self.ww - 1), h) * 0.02
            self.index = swin_relative_position_index(self.wh, self.ww)
        self.case = args.case

    def bias(self, n):
        if self.case == "t5":
            return t5_compute_bias(self.embedding, n)
        # Swin WindowAttention.forward
        bias = self.table[self.index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.scale != 1.0:
            q = q * self.scale
        attn = q @ k.transpose(-2, -1) + self.bias(n)
        attn = F.softmax(attn, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


def sgemm_gflops(reps):
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / sorted(times)[len(times) // 2] / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["t5", "swin"], required=True)
    parser.add_argument("--qlen", type=int, default=4096)
    parser.add_argument("--window", type=lambda s: tuple(int(v) for v in s.split("x")),
                        default=(7, 7))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--embed-dim", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rpbtool", nargs=argparse.REMAINDER, default=[],
                        help="the rpbtool command to alternate with (rest of the line)")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(0)
    with torch.no_grad():
        layer = Layer(args)
        n = args.qlen if args.case == "t5" else args.window[0] * args.window[1]
        x = torch.randn(args.batch, n, args.embed_dim)
        layer.forward(x[:, : min(n, 64)] if args.case == "t5" else x[:1])  # warm-up
        print(f"sgemm\t{sgemm_gflops(args.reps):.2f}", flush=True)
        for _ in range(args.reps):
            start = time.perf_counter()
            out = layer.forward(x)
            elapsed = time.perf_counter() - start
            assert out.shape == (args.batch, n, args.embed_dim)
            del out
            print(f"peer\t{elapsed:.6f}", flush=True)
            if args.rpbtool:
                seconds, rss = run_rpbtool(args.rpbtool)
                print(f"rpbtool\t{seconds:.6f}\t{rss}", flush=True)
        print(f"sgemm\t{sgemm_gflops(args.reps):.2f}", flush=True)
    print(f"peer_rss\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


if __name__ == "__main__":
    main()
