#!/usr/bin/python3
"""Training/evaluation peer of bench.md: the ViT of math.md 6 (scripts/vit_reference.py:
nn.Linear, nn.LayerNorm, F.gelu, bias gathered from each block's table) trained with AdamW
on Fashion-MNIST, timed in-process after import and data loading.

    /usr/bin/python3 scripts/bench_train_peer.py [--steps 20] [--eval-images 10000]
        [--mode train|eval|both] [--batch-size 128] [--eval-batch 1000] [--threads 2]

Defaults are bench.md's model: E=64, depth 6, 4 heads, patch 4, M=128, rpb-2d, cls, 28x28,
10 classes, batch 128. Training steps: shuffle off (batches in file order), no augmentation,
AdamW (lr 1e-3, warm-up 0, cosine to 1e-5 over --steps, weight decay 0.05 on 2-D+ weights),
label smoothing 0.1, gradient clipping 1.0; each step = set lr, zero_grad, forward, loss,
backward, clip, optimizer.step, timed with perf_counter; the median of the steps after
--warmup-steps (2) untimed ones. Evaluation: torch.no_grad(), model.eval(), --eval-batch
images per forward, over the first --eval-images test images, after one untimed batch.

OpenBLAS: Debian's 0.3.21 falls back to its Prescott (SSE3) kernel on CPUs it does not know
(bench.md). With --blas fair (the default) this script re-executes itself once with
OPENBLAS_CORETYPE=SkylakeX (CPU with avx512f) or Haswell (avx2) in its own environment only,
when OpenBLAS's pick is below that (Prescott, or an AVX2 kernel on an AVX-512 CPU); an
OPENBLAS_CORETYPE set by the caller is kept (bench_train.sh starts this script without the one
a machine may set for every process). --blas as-is never changes it. The JSON says
which core was in effect (openblas_get_corename) and whether this script chose it.

Prints one JSON line.
"""
import argparse
import ctypes
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
import vit_reference as V  # noqa: E402


def openblas_info():
    """The OpenBLAS library this process loaded, its core and config (None if not found)."""
    path = None
    with open("/proc/self/maps") as f:
        for line in f:
            if "openblas" in line.lower() or "libblas" in line:
                path = line.split()[-1]
                if "openblas" in path.lower():
                    break
    info = {"library": path, "core": None, "config": None}
    if path:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["core"] = lib.openblas_get_corename().decode()
            info["config"] = lib.openblas_get_config().decode()
            info["threads"] = lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            pass
    return info


def fair_blas(mode):
    """Re-execute this script with OPENBLAS_CORETYPE set when OpenBLAS picked a kernel below
    what the CPU runs: Prescott on a CPU with AVX2, or an AVX2 kernel on a CPU with AVX-512
    (bench.md: the peer's fair BLAS, for the peer's process only). On an AMD EPYC (Zen 5),
    SkylakeX instead of Haswell made the peer's training 1.4x faster (275 against 387 img/s,
    bench_train.sh on 2026-12-07; rerun with PEER_CORETYPE=Haswell, then SkylakeX)."""
    if mode != "fair" or os.environ.get("OPENBLAS_CORETYPE"):
        return
    own = (openblas_info().get("core") or "").lower()
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    core = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None
    avx512_cores = ("skylakex", "cooperlake", "sapphirerapids")
    if core == "SkylakeX" and own in avx512_cores or core == "Haswell" and own != "prescott":
        return
    if core:
        env = dict(os.environ, OPENBLAS_CORETYPE=core, BENCH_PEER_CORETYPE_SET="1")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def torch_blas_lines():
    """The lines of torch.__config__.show() about BLAS/LAPACK/CPU kernels (only the BLAS and
    LAPACK entries of the long build-settings line)."""
    out = []
    for line in torch.__config__.show().splitlines():
        line = line.strip().lstrip("- ")
        if line.startswith("Build settings:"):
            out += [kv for kv in line[len("Build settings:"):].strip().rstrip(",").split(", ")
                    if "BLAS" in kv or "LAPACK" in kv]
        elif any(w in line for w in ("BLAS", "LAPACK", "CPU capability", "MKL", "OpenMP")):
            out.append(line)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--mode", choices=["train", "eval", "both"], default="both")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps")
    ap.add_argument("--warmup-steps", type=int, default=2, help="untimed steps first")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--eval-images", type=int, default=10000)
    ap.add_argument("--eval-batch", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pos", default="rpb-2d", choices=V.POS_KINDS)
    ap.add_argument("--pool", default="cls", choices=["cls", "mean"])
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp-dim", type=int, default=None, help="default 2 x embed-dim")
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas", choices=["fair", "as-is"], default="fair",
                    help="fair: the best AVX core the CPU runs when OpenBLAS picks a lesser one")
    args = ap.parse_args()
    fair_blas(args.blas)

    torch.set_num_threads(args.threads)
    tr_x, tr_y = V.load_split(args.data, "train")
    te_x, te_y = V.load_split(args.data, "test")
    mean, std = V.normalisation(tr_x)
    config = V.default_config(image_size=list(tr_x.shape[1:]), patch_size=args.patch,
                              embed_dim=args.embed_dim, depth=args.depth, num_heads=args.heads,
                              mlp_dim=args.mlp_dim or 2 * args.embed_dim, pos=args.pos,
                              pool=args.pool, mean=mean, std=std)
    model = V.init_timm(V.ViT(config), args.seed)
    result = {"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "config": {k: v for k, v in config.items() if k not in ("classes", "mean", "std")},
              "batch_size": args.batch_size}

    if args.mode in ("train", "both"):
        b = args.batch_size
        total = args.warmup_steps + args.steps
        per_epoch = len(tr_x) // b
        x_all = model.pixels(tr_x[:min(total, per_epoch) * b])  # normalised before timing
        y_all = torch.from_numpy(tr_y[:min(total, per_epoch) * b])
        opt = V.make_optimizer(model, "adamw", args.lr, 0.05)
        model.train()
        times, losses = [], []
        for step in range(total):
            i = step % per_epoch
            x, y = x_all[i * b:(i + 1) * b], y_all[i * b:(i + 1) * b]
            start = time.perf_counter()
            rate = V.lr_at(step, total, args.lr, 1e-5, 0)
            for g in opt.param_groups:
                g["lr"] = rate
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            elapsed = time.perf_counter() - start
            losses.append(float(loss))
            if step >= args.warmup_steps:
                times.append(elapsed)
        med = statistics.median(times)
        result["train"] = {"steps": len(times), "step_seconds_median": med,
                           "step_seconds_min": min(times), "step_seconds_max": max(times),
                           "images_per_second": b / med, "first_loss": losses[0],
                           "last_loss": losses[-1]}

    if args.mode in ("eval", "both"):
        n = min(args.eval_images, len(te_x))
        x_all = model.pixels(te_x[:n])
        y_all = torch.from_numpy(te_y[:n])
        model.eval()
        with torch.no_grad():
            model(x_all[:args.eval_batch])  # warm-up
            start = time.perf_counter()
            correct = 0
            for s in range(0, n, args.eval_batch):
                logits = model(x_all[s:s + args.eval_batch])
                correct += int((logits.argmax(1) == y_all[s:s + args.eval_batch]).sum())
            elapsed = time.perf_counter() - start
        result["eval"] = {"images": n, "batch": args.eval_batch, "seconds": elapsed,
                          "images_per_second": n / elapsed, "accuracy": correct / n}

    blas = openblas_info()
    result["blas"] = {
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "coretype_set_by_peer": os.environ.get("BENCH_PEER_CORETYPE_SET") == "1",
        "openblas_core": blas.get("core"),
        "openblas_config": blas.get("config"),
        "openblas_library": blas.get("library"),
        "torch_config": torch_blas_lines(),
    }
    result["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
