#!/usr/bin/python3
"""Peer side of scripts/bench_bias.sh: T5 relative position bias as Hugging Face
transformers computes it (T5Attention.compute_bias / _relative_position_bucket, copied in
substance below), timed in-process after import, alternating with whole-process runs of
rpbtool. Prints one tab-separated line per measurement:

    peer    <seconds>
    rpbtool <seconds> <max_rss_kb>   (max RSS from /usr/bin/time)
    peer_rss <max_rss_kb>           (ru_maxrss of this process, once at the end)
"""
import argparse
import math
import os
import resource
import subprocess
import sys
import time

import torch


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32,
                             max_distance=128):
    # transformers/models/t5/modeling_t5.py, T5Attention._relative_position_bucket
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def compute_bias(embedding, query_length, key_length, contiguous):
    # transformers T5Attention.compute_bias
    context_position = torch.arange(query_length, dtype=torch.long)[:, None]
    memory_position = torch.arange(key_length, dtype=torch.long)[None, :]
    relative_position = memory_position - context_position  # (q, k)
    bucket = relative_position_bucket(relative_position)
    values = embedding(bucket)  # (q, k, H)
    values = values.permute([2, 0, 1]).unsqueeze(0)  # (1, H, q, k), a view
    # HF returns the view; --contiguous also pays for the (1, H, q, k) C-order copy that a
    # file of that shape (what rpbtool writes) needs.
    return values.contiguous() if contiguous else values


def run_rpbtool(command, rss_file):
    # Through /usr/bin/time: a child forked from this (large) process would report the
    # parent's resident pages as its own peak until exec. The extra exec of time (about a
    # millisecond) is counted against rpbtool.
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        status = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss_file] + command,
                                 stdout=devnull)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"bench_bias_peer: {' '.join(command)} failed with status {status}")
    with open(rss_file) as f:
        return elapsed, int(f.read().split()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qlen", type=int, required=True)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--contiguous", action="store_true")
    parser.add_argument("--rss-file", default="/tmp/bench_bias_rss.txt")
    parser.add_argument("--rpbtool", nargs=argparse.REMAINDER, default=[],
                        help="the rpbtool command to alternate with (rest of the line)")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(0)
    with torch.no_grad():
        embedding = torch.nn.Embedding(32, args.heads)
        compute_bias(embedding, 16, 16, args.contiguous)  # warm-up, not timed
        for _ in range(args.reps):
            start = time.perf_counter()
            bias = compute_bias(embedding, args.qlen, args.qlen, args.contiguous)
            elapsed = time.perf_counter() - start
            assert bias.shape == (1, args.heads, args.qlen, args.qlen)
            del bias
            print(f"peer\t{elapsed:.6f}", flush=True)
            if args.rpbtool:
                seconds, rss = run_rpbtool(args.rpbtool, args.rss_file)
                print(f"rpbtool\t{seconds:.6f}\t{rss}", flush=True)
    print(f"peer_rss\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


if __name__ == "__main__":
    main()
