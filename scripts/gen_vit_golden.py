#!/usr/bin/python3
"""Make the ViT goldens in tests/golden/vit/ (see its README.md) with the PyTorch reference
of scripts/vit_reference.py. Takes a few seconds; the output is deterministic on one machine.

    /usr/bin/python3 scripts/gen_vit_golden.py [--out tests/golden/vit]
        [--fashion /usr/share/datasets/fashion-mnist]

Prints the float32-vs-float64 differences it measures (the tolerances the README quotes).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_reference as V  # noqa: E402

SMALL = dict(in_chans=1, image_size=[12, 12], patch_size=4, num_classes=10, embed_dim=16,
             depth=2, num_heads=2, mlp_dim=32)
GRAD_CASES = [  # folder, pos, pool, num_buckets, max_distance, seed
    ("rpb2d_cls", "rpb-2d", "cls", 32, 128, 1),
    ("rpb2d_mean", "rpb-2d", "mean", 32, 128, 2),
    ("rpb1d_cls", "rpb-1d", "cls", 32, 128, 3),
    ("t5_cls", "t5", "cls", 8, 16, 4),
    ("ape_cls", "ape", "cls", 32, 128, 5),
    ("none_mean", "none", "mean", 32, 128, 6),
]
N_TRAIN, N_TEST, BATCH = 96, 48, 6
TRAIN_RUNS = {
    "train_adamw": dict(optimizer="adamw", lr=2e-3, min_lr=1e-5, warmup=3, weight_decay=0.05,
                        momentum=0.0, label_smoothing=0.1, clip_grad=1.0),
    "train_sgd": dict(optimizer="sgd", lr=0.05, min_lr=1e-5, warmup=0, weight_decay=1e-4,
                      momentum=0.9, label_smoothing=0.0, clip_grad=None),
}


def downsample(images28):
    """(N, 28, 28) u8 -> (N, 12, 12) u8: drop the 2-pixel border, mean of 2x2 blocks,
    rounded half up."""
    x = images28[:, 2:26, 2:26].astype(np.int32).reshape(-1, 12, 2, 12, 2).sum(axis=(2, 4))
    return ((x + 2) // 4).astype(np.uint8)


def make_data(fashion, out):
    tr_x, tr_y = V.load_split(fashion, "train")
    te_x, te_y = V.load_split(fashion, "test")
    data = os.path.join(out, "data")
    os.makedirs(data, exist_ok=True)
    sets = {"train": (downsample(tr_x[:N_TRAIN]), tr_y[:N_TRAIN].astype(np.uint8)),
            "t10k": (downsample(te_x[:N_TEST]), te_y[:N_TEST].astype(np.uint8))}
    for prefix, (x, y) in sets.items():
        V.write_idx(os.path.join(data, f"{prefix}-images-idx3-ubyte.gz"), x)
        V.write_idx(os.path.join(data, f"{prefix}-labels-idx1-ubyte"), y)
    # read back through the reader the tools use
    tx, ty = V.load_split(data, "train")
    vx, vy = V.load_split(data, "test")
    assert (tx == sets["train"][0]).all() and (vy == sets["t10k"][1]).all()
    return tx, ty, vx, vy


def rel_err(a, b):
    """max |a - b| / max |b| (0 when b is all zero)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    s = np.abs(b).max()
    return float(np.abs(a - b).max() / s) if s > 0 else float(np.abs(a).max())


def grads_of(model, x, y):
    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.backward()
    g = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return logits.detach(), loss.detach(), g


def gradient_goldens(out, images, labels, mean, std, report):
    x_u8 = images[:BATCH]
    y = labels[:BATCH]
    for folder, pos, pool, nb, md, seed in GRAD_CASES:
        config = dict(SMALL, pos=pos, pool=pool, num_buckets=nb, max_distance=md, mean=mean,
                      std=std, classes=list(V.FASHION_CLASSES))
        model32 = V.init_large(V.ViT(config), seed)  # float32 weights: stored exactly
        d = os.path.join(out, folder)
        os.makedirs(d, exist_ok=True)
        V.save_model(os.path.join(d, "model.safetensors"), model32)
        model64, _ = V.load_model(os.path.join(d, "model.safetensors"), torch.float64)
        yt = torch.from_numpy(y.astype(np.int64))
        logits, loss, g = grads_of(model64, model64.pixels(x_u8), yt)
        np.save(os.path.join(d, "images.npy"), x_u8.astype(np.uint8))
        np.save(os.path.join(d, "labels.npy"), y.astype(np.int32))
        np.save(os.path.join(d, "pixels.npy"), V.normalise(x_u8, mean, std, np.float32))
        np.save(os.path.join(d, "logits.npy"), logits.numpy().astype(np.float32))
        np.save(os.path.join(d, "loss.npy"), np.array(float(loss), dtype=np.float32))
        V.save_safetensors(os.path.join(d, "grads.safetensors"),
                           {n: v.numpy().astype(np.float32) for n, v in g.items()})
        # float32 PyTorch on the same weights and float32 pixels
        l32, loss32, g32 = grads_of(model32, model32.pixels(x_u8), yt)
        worst = max(((rel_err(g32[n], g[n]), n) for n in g), key=lambda t: t[0])
        smallest = min(((float(np.abs(v.numpy()).max()), n) for n, v in g.items()),
                       key=lambda t: t[0])
        report[folder] = {
            "loss": float(loss),
            "loss_abs_diff_f32": abs(float(loss32) - float(loss)),
            "logits_rel_err_f32": rel_err(l32, logits),
            "grad_worst_rel_err_f32": worst,
            "smallest_max_abs_grad": smallest,
            "accuracy_of_batch": float((logits.argmax(1) == yt).double().mean()),
        }
        if pos == "t5":
            idx = V.build_index(pos, 3, 3, pool == "cls", nb, md)
            report[folder]["t5_buckets_hit"] = sorted(set(idx.ravel().tolist()))


def training_goldens(out, tx, ty, vx, vy, mean, std, report):
    config = dict(SMALL, pos="rpb-2d", pool="cls", num_buckets=32, max_distance=128, mean=mean,
                  std=std, classes=list(V.FASHION_CLASSES))
    init_path = os.path.join(out, "train_init.safetensors")
    V.save_model(init_path, V.init_timm(V.ViT(config), seed=0))
    for folder, opts in TRAIN_RUNS.items():
        d = os.path.join(out, folder)
        os.makedirs(d, exist_ok=True)
        model, _ = V.load_model(init_path, torch.float32)
        rec = V.train(model, tx, ty, batch_size=16, epochs=2, **opts)
        V.save_model(os.path.join(d, "final.safetensors"), model)
        logits, acc, loss = V.evaluate(model, vx, vy)
        np.save(os.path.join(d, "losses.npy"), np.array(rec["losses"], dtype=np.float32))
        np.save(os.path.join(d, "lrs.npy"), np.array(rec["lrs"], dtype=np.float32))
        np.save(os.path.join(d, "grad_norms.npy"), np.array(rec["grad_norms"], dtype=np.float32))
        np.save(os.path.join(d, "test_logits.npy"), logits.numpy().astype(np.float32))
        _, tr_acc, tr_loss = V.evaluate(model, tx, ty)
        metrics = {"test_accuracy": acc, "test_loss": loss, "test_images": int(len(vx)),
                   "train_accuracy": tr_acc, "train_loss": tr_loss, "steps": len(rec["losses"]),
                   "options": opts}
        with open(os.path.join(d, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
            f.write("\n")
        # the same run in float64 (from the same float32 initial weights)
        m64, _ = V.load_model(init_path, torch.float64)
        rec64 = V.train(m64, tx, ty, batch_size=16, epochs=2, **opts)
        l64, acc64, loss64 = V.evaluate(m64, vx, vy)
        final32 = dict(model.named_parameters())
        report[folder] = {
            "losses": rec["losses"],
            "grad_norms": rec["grad_norms"],
            "loss_max_abs_diff_f64": float(np.abs(np.subtract(rec["losses"], rec64["losses"])).max()),
            "loss_diff_per_step": np.subtract(rec["losses"], rec64["losses"]).tolist(),
            "final_weights_worst_rel_err_f64": max(
                (rel_err(final32[n].detach(), p.detach()), n) for n, p in m64.named_parameters()),
            "test_logits_max_abs_diff_f64": float((logits.double() - l64).abs().max()),
            "test_accuracy": acc, "test_accuracy_f64": acc64,
            "test_loss": loss, "test_loss_f64": loss64,
        }


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "tests", "golden", "vit"))
    ap.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    tx, ty, vx, vy = make_data(args.fashion, args.out)
    mean, std = V.normalisation(tx)
    report = {"mean": mean, "std": std}
    gradient_goldens(args.out, tx, ty, mean, std, report)
    training_goldens(args.out, tx, ty, vx, vy, mean, std, report)
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
