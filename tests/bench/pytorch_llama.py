#!/usr/bin/env python3
"""The comparison for bench_llama: the same Llama forward pass (every layer's attention with its
weights kept, the last MLP and the LM head left out, as Attention Studio runs it) in plain PyTorch,
eager attention as transformers runs it with output_attentions, on the same BF16 checkpoint.

    python3 tests/bench/pytorch_llama.py FOLDER float32|bfloat16

float32: every weight converted to float32 when loaded (transformers' torch_dtype=torch.float32);
bfloat16: weights and arithmetic in bfloat16. Needs python3-torch (Debian), which the app does not.
Prints load time, the median of three forward passes at 128 tokens on 2 threads, and peak memory.
"""
import os
import resource
import sys
import time

import torch

from torch_checkpoint import load_checkpoint


def forward(config, w, ids, dtype):
    H, KV = config["num_attention_heads"], config["num_key_value_heads"]
    C = config["hidden_size"]
    d = C // H
    eps = config["rms_norm_eps"]
    T = len(ids)
    inv = 1.0 / (config.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    angles = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat([angles, angles], dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)

    def rms(x, g):
        x32 = x.to(torch.float32)
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(dtype) * g

    def rotate(x):
        return torch.cat([-x[..., d // 2:], x[..., :d // 2]], dim=-1)

    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    attentions = []
    layers = config["num_hidden_layers"]
    for l in range(layers):
        p = "model.layers.%d." % l
        h = rms(x, w[p + "input_layernorm.weight"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, H, d).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, d).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, d).transpose(0, 1)
        q = q * cos + rotate(q) * sin
        k = k * cos + rotate(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        scores = q @ k.transpose(1, 2) / d ** 0.5 + mask
        weights = torch.softmax(scores.to(torch.float32), dim=-1).to(dtype)
        attentions.append(weights)
        context = (weights @ v).transpose(0, 1).reshape(T, H * d)
        x = x + context @ w[p + "self_attn.o_proj.weight"].T
        if l + 1 == layers:
            break
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return attentions


def main():
    folder, mode = sys.argv[1], sys.argv[2]
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[mode]
    torch.set_num_threads(2)
    start = time.perf_counter()
    config, weights = load_checkpoint(folder, dtype)
    load_ms = (time.perf_counter() - start) * 1000
    ids = [1] + [(i * 7919) % 31000 + 100 for i in range(127)]
    runs = []
    with torch.no_grad():
        for _ in range(3):
            start = time.perf_counter()
            forward(config, weights, ids, dtype)
            runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    size = os.path.getsize(os.path.join(folder, "model.safetensors")) / 1e6
    print("PyTorch %s (%s): load %.0f ms, forward 128 tokens 2 threads median %.0f ms (runs %.0f / %.0f), "
          "peak resident %.0f MB = %.2f x the file" % (torch.__version__, mode, load_ms, runs[1], runs[0], runs[2], peak, peak / size))


if __name__ == "__main__":
    main()
