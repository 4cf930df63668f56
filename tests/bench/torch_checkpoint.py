"""Reads a Hugging Face folder's config.json and model.safetensors into PyTorch tensors, for the
PyTorch comparisons beside the benchmarks (pytorch_gpt2.py, pytorch_llama.py)."""
import json
import mmap
import os
import struct

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def load_checkpoint(folder, dtype=None):
    """(config, {name: tensor}); each tensor converted to dtype when one is given."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (length,) = struct.unpack("<Q", mapped[:8])
    header = json.loads(mapped[8:8 + length])
    base = 8 + length
    weights = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensor = torch.frombuffer(bytearray(mapped[base + start:base + end]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        weights[name] = tensor.to(dtype) if dtype is not None else tensor
    return config, weights
