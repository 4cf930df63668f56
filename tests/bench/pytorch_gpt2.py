#!/usr/bin/env python3
"""The comparison for bench_forward: the same GPT-2 forward pass (every layer's attention weights
kept, the last layer's MLP left out, as Attention Studio runs it) in eager PyTorch, as transformers'
GPT2Attention computes it: q kᵀ / √d, the causal mask, softmax, then the weighted sum of v.

    python3 tests/bench/pytorch_gpt2.py FOLDER [--threads 2] [--T 8,32,128] [--linear blas|onednn]

--linear blas: the linear layers as transformers' Conv1D runs them (torch.addmm, on the BLAS that
PyTorch was built with: Debian's picks OpenBLAS); onednn: on oneDNN's inner product
(torch._C._nn.mkldnn_linear) with the weights reordered to oneDNN's layout once, at load.
Needs python3-torch (Debian's 1.13), which the app does not. Prints one JSON line per length:
{"T": …, "threads": …, "linear": …, "median_ms": …, "min_ms": …}.
"""
import argparse
import json
import math
import time

import torch

from torch_checkpoint import load_checkpoint


class Linear:
    def __init__(self, weight, bias, backend):
        # Conv1D stores [in, out]; oneDNN's inner product takes [out, in].
        self.backend = backend
        self.bias = bias
        self.weight = weight.t().contiguous().to_mkldnn() if backend == "onednn" else weight

    def __call__(self, x):
        if self.backend == "onednn":
            return torch._C._nn.mkldnn_linear(x.to_mkldnn(), self.weight, self.bias).to_dense()
        return torch.addmm(self.bias, x, self.weight)


def model(config, w, backend):
    layers = []
    for i in range(config["n_layer"]):
        p = f"h.{i}."
        layers.append({
            "ln1": (w[p + "ln_1.weight"], w[p + "ln_1.bias"]),
            "qkv": Linear(w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"], backend),
            "proj": Linear(w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"], backend),
            "ln2": (w[p + "ln_2.weight"], w[p + "ln_2.bias"]),
            "fc": Linear(w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"], backend),
            "out": Linear(w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"], backend),
        })
    return layers


def forward(config, w, layers, ids):
    c, heads = config["n_embd"], config["n_head"]
    d = c // heads
    eps = config.get("layer_norm_epsilon", 1e-5)
    t = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][:t]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    smallest = torch.finfo(torch.float32).min
    attentions = []
    for i, layer in enumerate(layers):
        h = torch.nn.functional.layer_norm(x, (c,), *layer["ln1"], eps)
        q, k, v = layer["qkv"](h).split(c, dim=1)
        q, k, v = (m.view(t, heads, d).transpose(0, 1) for m in (q, k, v))  # (H, T, d)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
        scores = torch.where(causal, scores, torch.tensor(smallest))
        weights = torch.softmax(scores, dim=-1)
        attentions.append(weights)
        context = torch.matmul(weights, v).transpose(0, 1).reshape(t, c)
        x = x + layer["proj"](context)
        if i + 1 == len(layers):
            break  # the last MLP changes no attention weight
        h = torch.nn.functional.layer_norm(x, (c,), *layer["ln2"], eps)
        x = x + layer["out"](torch.nn.functional.gelu(layer["fc"](h), approximate="tanh"))
    return attentions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--T", default="8,32,128,512,1024")
    parser.add_argument("--linear", choices=["blas", "onednn"], default="blas")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config, loaded = load_checkpoint(args.folder, torch.float32)
    weights = {name.removeprefix("transformer."): tensor for name, tensor in loaded.items()}
    layers = model(config, weights, args.linear)
    generator = torch.Generator().manual_seed(7)
    with torch.inference_mode():
        for t in (int(x) for x in args.T.split(",")):
            ids = torch.randint(0, config["vocab_size"], (t,), generator=generator)
            forward(config, weights, layers, ids)  # warm up
            runs = 5 if t >= 1024 else 7 if t >= 512 else 21
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                forward(config, weights, layers, ids)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            print(json.dumps({"T": t, "threads": args.threads, "linear": args.linear,
                              "median_ms": round(times[len(times) // 2], 2), "min_ms": round(times[0], 2)}), flush=True)


if __name__ == "__main__":
    main()
