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
import resource
import time

import torch

from bench_peer_common import relative_position_bucket, run_rpbtool


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qlen", type=int, required=True)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--contiguous", action="store_true")
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
                seconds, rss = run_rpbtool(args.rpbtool)
                print(f"rpbtool\t{seconds:.6f}\t{rss}", flush=True)
    print(f"peer_rss\t{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


if __name__ == "__main__":
    main()
