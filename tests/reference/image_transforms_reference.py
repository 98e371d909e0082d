#!/usr/bin/python3
"""Golden values for DistillSharp's decode-time image transforms (Data/BilinearResampler.cs, ResizeCenterCrop.cs,
RandomResizedCrop.cs), computed with PyTorch's own interpolation, not with the C# code.

The source image is a 300 x 400 (height x width) RGB picture of 6 x 10 flat blocks, each 50 rows by 40 columns:

    pixel(c, y, x) = (67 * (y // 50) + 29 * (x // 40) + 101 * c + 13) mod 256

Cases, each resized with torch.nn.functional.interpolate(mode="bilinear", align_corners=False) on float64, once with
antialias=True (PIL's bilinear filter, what torchvision's Resize uses on PIL images) and once with antialias=False:

  "eval":     torchvision's Resize(256) then CenterCrop(224). The sizes follow torchvision's documented rule: the
              shorter side becomes 256, the longer int(256 * long / short); the crop's top-left corner is
              (int(round((h - 224) / 2)), int(round((w - 224) / 2))) with Python's round (halves to even).
  "box_up":   the box rows 37..239, columns 51..207 (203 x 157) resized to 224 x 224 (upscaling).
  "box_down": the box rows 10..289, columns 20..369 (280 x 350) resized to 224 x 224 (downscaling).

Run with Debian's PyTorch (1.13):

    /usr/bin/python3 tests/reference/image_transforms_reference.py

It writes tests/reference/golden/image_transforms.json: the image's formula constants, the eval sizes, and for each
case and mode the float values of some whole rows of the 3 x 224 x 224 output (rows crossing block edges, the first
and the last), rounded to 1e-4.
"""
import json
import os

import torch
import torch.nn.functional as F

H, W, BLOCK_H, BLOCK_W = 300, 400, 50, 40
RESIZE, CROP = 256, 224


def image():
    y = torch.arange(H, dtype=torch.int64).view(1, H, 1)
    x = torch.arange(W, dtype=torch.int64).view(1, 1, W)
    c = torch.arange(3, dtype=torch.int64).view(3, 1, 1)
    return ((67 * (y // BLOCK_H) + 29 * (x // BLOCK_W) + 101 * c + 13) % 256).to(torch.float64).unsqueeze(0)


def resized_size(h, w, size):
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)   # (height, width)


def main():
    img = image()
    rh, rw = resized_size(H, W, RESIZE)
    top, left = int(round((rh - CROP) / 2.0)), int(round((rw - CROP) / 2.0))
    cases = {}
    for antialias in (True, False):
        mode = "antialias" if antialias else "plain"
        resized = F.interpolate(img, size=(rh, rw), mode="bilinear", align_corners=False, antialias=antialias)
        cases[f"eval/{mode}"] = resized[0, :, top:top + CROP, left:left + CROP]
        for name, (bt, bl, bh, bw) in {"box_up": (37, 51, 203, 157), "box_down": (10, 20, 280, 350)}.items():
            box = img[:, :, bt:bt + bh, bl:bl + bw]
            cases[f"{name}/{mode}"] = F.interpolate(box, size=(CROP, CROP), mode="bilinear", align_corners=False, antialias=antialias)[0]
    rows = [0, 26, 27, 69, 70, 111, 112, 150, 223]
    out = {
        "height": H, "width": W, "block_height": BLOCK_H, "block_width": BLOCK_W,
        "eval": {"resize": RESIZE, "crop": CROP, "resized_height": rh, "resized_width": rw, "top": top, "left": left},
        "boxes": {"box_up": [37, 51, 203, 157], "box_down": [10, 20, 280, 350]},
        "rows": rows,
        "cases": {k: [[[round(float(v), 4) for v in t[c, r]] for r in rows] for c in range(3)] for k, t in cases.items()},
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "image_transforms.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: eval resize {rh}x{rw}, crop at ({top}, {left})")


if __name__ == "__main__":
    main()
