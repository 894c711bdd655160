"""What every torch reference script shares: the error measure and the loop over cases.

A C++ test writes its cases to a safetensors file (tensors under "<case>/..." keys, the list of case
descriptions as JSON in the metadata entry "cases"); a script recomputes each case with torch in float64
and writes {"torch_version": ..., "cases": {name: {key: error, ...} or {"error": message}}}.
"""
import json
import sys

import numpy as np
import torch

import safetensors_np


def rel_err(ours, ref):
    """max |ours - ref| / max |ref| (norm-wise relative error); inf when the shapes differ."""
    ours = np.asarray(ours, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    if ours.shape != ref.shape:
        return float("inf")
    if ref.size == 0:
        return 0.0
    scale = max(np.abs(ref).max(), 1e-6)
    return float(np.abs(ours - ref).max() / scale)


def main(run_case):
    """Usage: script.py cases.safetensors results.json — runs run_case(tensors, case) for every case."""
    tensors, meta = safetensors_np.load(sys.argv[1])
    results = {"torch_version": torch.__version__, "cases": {}}
    for case in json.loads(meta["cases"]):
        try:
            results["cases"][case["name"]] = run_case(tensors, case)
        except Exception as e:  # report, don't hide: the C++ side fails the case with this message
            results["cases"][case["name"]] = {"error": f"{type(e).__name__}: {e}"}
    with open(sys.argv[2], "w") as f:
        json.dump(results, f, indent=1)
