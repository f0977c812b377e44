#!/usr/bin/python3
"""Make tests/golden/erase/erase.json from torchvision's RandomErasing (the random erasing of
`rpbtool train --augment crop,flip,erase`; docs/cli.md). Deterministic; takes about 10 s.

    /usr/bin/python3 scripts/gen_erase_golden.py [--out tests/golden/erase/erase.json]

Two parts:
- "boxes": the box size of single attempts. For seed k, torch.manual_seed(k) and the first
  attempt's two draws (area fraction, log aspect ratio) as RandomErasing.get_params makes
  them; then, from the same seed, get_params itself. When that first attempt fits, get_params
  returns its box, so (h, w) is torchvision's size for those two float32 values. Cases whose
  first attempt does not fit are listed with "fits": false (get_params went on drawing).
- "distribution": RandomErasing(p=0.5, value=0) on 28x28 images, many draws: the share of
  images erased, and the mean and standard deviation of h, w, top row and left column over
  the erased ones. The test compares rpbtool's draws (its own generator) with these within
  a few standard errors.
"""
import argparse
import json
import math
import os

import torch
import torchvision
from torchvision import transforms as T

SCALE = (0.02, 0.33)
RATIO = (0.3, 3.3)
SIZE = 28
BOX_CASES = 400
DRAWS = 40000


def boxes():
    image = torch.zeros(1, SIZE, SIZE)
    log_ratio = torch.log(torch.tensor(RATIO))
    out = []
    for seed in range(BOX_CASES):
        torch.manual_seed(seed)
        scale = torch.empty(1).uniform_(SCALE[0], SCALE[1])
        ratio = torch.empty(1).uniform_(log_ratio[0], log_ratio[1])
        torch.manual_seed(seed)
        i, j, h, w, _ = T.RandomErasing.get_params(image, scale=SCALE, ratio=RATIO, value=[0])
        # Whether the first attempt fitted, told by replaying its draws in get_params' order:
        # the returned box is that attempt's when, from the same seed, the next two draws are
        # its randint(i) and randint(j) and nothing else was drawn before.
        torch.manual_seed(seed)
        torch.empty(1).uniform_(SCALE[0], SCALE[1])
        torch.empty(1).uniform_(log_ratio[0], log_ratio[1])
        fits = (h < SIZE and w < SIZE and (h, w) != (SIZE, SIZE)
                and torch.randint(0, SIZE - h + 1, size=(1,)).item() == i
                and torch.randint(0, SIZE - w + 1, size=(1,)).item() == j)
        out.append({"scale": scale.item(), "log_ratio": ratio.item(), "fits": bool(fits),
                    "h": h if fits else 0, "w": w if fits else 0})
    return out


def distribution():
    torch.manual_seed(12345)
    erase = T.RandomErasing(p=0.5, scale=SCALE, ratio=RATIO, value=0)
    rows = []
    erased = 0
    for _ in range(DRAWS):
        image = torch.ones(1, SIZE, SIZE)
        result = erase(image)
        mask = result[0] == 0
        if mask.any():
            erased += 1
            ys = torch.nonzero(mask.any(dim=1)).flatten()
            xs = torch.nonzero(mask.any(dim=0)).flatten()
            rows.append((len(ys), len(xs), ys[0].item(), xs[0].item()))
    stats = {"draws": DRAWS, "erased": erased}
    for k, name in enumerate(["h", "w", "y", "x"]):
        values = [r[k] for r in rows]
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        stats[name] = {"mean": mean, "sd": sd}
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "golden", "erase",
                                                      "erase.json"))
    args = parser.parse_args()
    golden = {
        "made_by": "scripts/gen_erase_golden.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "image": [SIZE, SIZE],
        "scale": list(SCALE),
        "ratio": list(RATIO),
        "boxes": boxes(),
        "distribution": distribution(),
    }
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    fitted = sum(b["fits"] for b in golden["boxes"])
    print(f"{args.out}: {fitted} of {BOX_CASES} first attempts fit; "
          f"{golden['distribution']['erased']} of {DRAWS} images erased")


if __name__ == "__main__":
    main()
