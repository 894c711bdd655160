#!/usr/bin/python3
"""Grows a translation Transformer folder (attn train translate --arch transformer, pre-LN) without changing what
it computes, so that training can go on with more capacity from where it is (a "function-preserving" widening
and deepening, as in Net2Net, Chen et al. 2016):

  - every feed-forward block gets FF - FF0 new hidden units: random input weights, zero bias, zero output
    weights — they add 0 to the residual stream until training moves them;
  - each stack (encoder, decoder) gets LAYERS - LAYERS0 new last layers: random q/k/v projections and first
    feed-forward weights, every *output* projection (attention out_proj, linear2) and bias zero, LayerNorm
    copied from the last layer — with pre-LN, x + 0 + 0 = x: an identity layer.

    /usr/bin/python3 scripts/grow_translation.py SRC_DIR OUT_DIR LAYERS FF
    attn translate --model OUT_DIR --eval val --eval-beam 1     # the same BLEU as SRC_DIR, to the digit
    attn train translate --arch transformer --init OUT_DIR --out DIR ...

Weights are read and written as float32 safetensors (an F16 folder is widened); config.json gets the new sizes,
spm.model is copied."""
import json
import os
import shutil
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    dtypes = {"F32": np.float32, "F16": np.float16}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, expected F32 or F16")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).astype(np.float32)
    return tensors, header.get("__metadata__")


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    src, out, layers, ff = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cfg = json.load(open(os.path.join(src, "config.json")))
    m = cfg["model"]
    L0, FF0, D = m["layers"], m["ff"], m["embed"]
    if cfg.get("arch") != "transformer" or not m.get("norm_first", True):
        raise SystemExit(f"{src}: a pre-LN transformer is needed (a new layer is an identity only with pre-LN)")
    if layers < L0 or ff < FF0:
        raise SystemExit(f"grow only: layers {layers} < {L0} or ff {ff} < {FF0}")
    t, meta = load_safetensors(os.path.join(src, "model.safetensors"))
    rng = np.random.default_rng(7)

    def uniform(*shape, fan_in):  # PyTorch's Linear init range
        return (rng.uniform(-1, 1, shape) / np.sqrt(fan_in)).astype(np.float32)

    n = dict(t)
    for stack in ("encoder", "decoder"):
        for i in range(L0):  # wider feed-forward blocks; the new units' outputs start at zero
            p = f"{stack}.layers.{i}."
            n[p + "linear1.weight"] = np.concatenate([t[p + "linear1.weight"], uniform(ff - FF0, D, fan_in=D)])
            n[p + "linear1.bias"] = np.concatenate([t[p + "linear1.bias"], np.zeros(ff - FF0, np.float32)])
            n[p + "linear2.weight"] = np.concatenate([t[p + "linear2.weight"], np.zeros((D, ff - FF0), np.float32)], axis=1)
        last = f"{stack}.layers.{L0 - 1}."
        for i in range(L0, layers):  # new identity layers at the top of the stack
            p = f"{stack}.layers.{i}."
            for key in [k for k in t if k.startswith(last)]:
                name = key[len(last):]
                if name.startswith("norm"):
                    n[p + name] = t[key].copy()
                elif name.endswith("in_proj_weight"):
                    n[p + name] = uniform(3 * D, D, fan_in=D)
                elif name == "linear1.weight":
                    n[p + name] = uniform(ff, D, fan_in=D)
                elif name == "linear1.bias":
                    n[p + name] = np.zeros(ff, np.float32)
                elif name == "linear2.weight":
                    n[p + name] = np.zeros((D, ff), np.float32)
                elif name.endswith("out_proj.weight"):
                    n[p + name] = np.zeros((D, D), np.float32)
                elif name.endswith("bias"):
                    n[p + name] = np.zeros_like(t[key])
                else:
                    raise SystemExit(f"unexpected tensor {key}")
    m["layers"], m["ff"] = layers, ff
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(src, "spm.model"), out)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    save_safetensors(os.path.join(out, "model.safetensors"), n, meta)
    print(f"{src} -> {out}: layers {L0} -> {layers}, ff {FF0} -> {ff}, {sum(v.size for v in n.values()):,} parameters")


if __name__ == "__main__":
    main()
