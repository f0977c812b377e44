#!/usr/bin/python3
"""Load a model file written by `rpbtool train` (formats.md "Model files") into the PyTorch
ViT of scripts/vit_reference.py with load_state_dict(strict=True) and print its accuracy and
mean cross-entropy (no label smoothing) on a split, for manual cross-checks of
`rpbtool eval`. Not part of the test suite.

    /usr/bin/python3 scripts/check_model.py MODEL.safetensors [--data DIR] [--split test|train]
        [--logits OUT.npy] [--float64]

Prints one JSON line: {"model", "split", "images", "accuracy", "loss", "config"}.
Compare --logits with `rpbtool eval --logits` (float32, (N, K), file order).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_reference as V  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--split", choices=["test", "train"], default="test")
    ap.add_argument("--logits", help="write the (N, K) float32 logits as .npy")
    ap.add_argument("--float64", action="store_true", help="evaluate in float64")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, config = V.load_model(args.model, torch.float64 if args.float64 else torch.float32)
    images, labels = V.load_split(args.data, args.split)
    if list(images.shape[1:]) != list(config["image_size"]):
        sys.exit(f"check_model: {args.data}: images {images.shape[1:]} but the model expects "
                 f"{config['image_size']}")
    if labels.size and labels.max() >= config["num_classes"]:
        sys.exit(f"check_model: label {labels.max()} >= num_classes {config['num_classes']}")
    logits, acc, loss = V.evaluate(model, images, labels)
    if args.logits:
        np.save(args.logits, logits.numpy().astype(np.float32))
    print(json.dumps({"model": args.model, "split": args.split, "images": int(len(images)),
                      "accuracy": acc, "loss": loss, "config": config}))


if __name__ == "__main__":
    main()
