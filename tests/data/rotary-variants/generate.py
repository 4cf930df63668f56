#!/usr/bin/env python3
"""Writes the rotary-model variants the tests check against: small Llama, Qwen2 and Llama-3-style
checkpoints (random weights, F32 safetensors, config.json, a tiny tokenizer.json) and their
attentions computed here in float64 by a forward pass written from the Hugging Face transformers
conventions, independently of Attention Studio's C++ code.

    python3 tests/data/rotary-variants/generate.py    (writes tests/data/checkpoints/<variant>/ and
                                                       tests/data/reference/<variant>.json)
Plain Python, no third-party modules; deterministic (seeded).
"""
import json
import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)

VARIANTS = {
    # Qwen2: biases on q, k and v only; a sliding window (3) from layer 1 on; θ = 10⁶.
    "qwen2-variant-tiny": dict(
        model_type="qwen2", heads=4, kv_heads=2, head_dim=None, rope_theta=1e6,
        extra={"use_sliding_window": True, "sliding_window": 3, "max_window_layers": 1}),
    # Llama: an explicit head_dim (12) wider than hidden / heads, one key/value head, biases on
    # every projection and the MLP, and Llama 3's rotary scaling.
    "llama-variant-tiny": dict(
        model_type="llama", heads=4, kv_heads=1, head_dim=12, rope_theta=10000.0,
        extra={"attention_bias": True, "mlp_bias": True,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 16}}),
    # Llama with the newer rope_parameters form and linear scaling; plain multi-head attention.
    "llama-linear-tiny": dict(
        model_type="llama", heads=4, kv_heads=None, head_dim=None, rope_theta=None,
        extra={"rope_parameters": {"rope_type": "linear", "rope_theta": 500.0, "factor": 2.0}}),
}
HIDDEN, INTER, LAYERS, VOCAB, POSITIONS, EPS = 32, 48, 2, 300, 64, 1e-5


def inverse_frequencies(config, d):
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    kind = params.get("rope_type", params.get("type", "default"))
    out = []
    for i in range(d // 2):
        base = theta ** (-2.0 * i / d)
        if kind == "linear":
            base /= params["factor"]
        elif kind == "llama3":
            factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
            original = params["original_max_position_embeddings"]
            wavelength = 2 * math.pi / base
            if wavelength > original / low:
                base /= factor
            elif wavelength >= original / high:
                smooth = (original / wavelength - low) / (high - low)
                base = (1 - smooth) * base / factor + smooth * base
        out.append(base)
    return out


def linear(x, w, b):  # w is [out][in]
    return [[sum(xi * wi for xi, wi in zip(row, wrow)) + (b[o] if b else 0.0) for o, wrow in enumerate(w)] for row in x]


def rms_norm(x, g):
    out = []
    for row in x:
        scale = 1.0 / math.sqrt(sum(v * v for v in row) / len(row) + EPS)
        out.append([v * scale * gi for v, gi in zip(row, g)])
    return out


def forward(config, weights, ids):
    H, KV = config["num_attention_heads"], config.get("num_key_value_heads") or config["num_attention_heads"]
    d = config.get("head_dim") or HIDDEN // H
    group = H // KV
    freqs = inverse_frequencies(config, d)
    windows = []
    for layer in range(LAYERS):
        window = 0
        if config["model_type"] == "qwen2" and config.get("use_sliding_window") and layer >= config.get("max_window_layers", 28):
            window = config["sliding_window"]
        windows.append(window)
    x = [list(weights["model.embed_tokens.weight"][i]) for i in ids]
    T = len(ids)
    attentions = []
    for layer in range(LAYERS):
        p = "model.layers.%d." % layer
        h = rms_norm(x, weights[p + "input_layernorm.weight"])
        q = linear(h, weights[p + "self_attn.q_proj.weight"], weights.get(p + "self_attn.q_proj.bias"))
        k = linear(h, weights[p + "self_attn.k_proj.weight"], weights.get(p + "self_attn.k_proj.bias"))
        v = linear(h, weights[p + "self_attn.v_proj.weight"], weights.get(p + "self_attn.v_proj.bias"))

        def rope(row, heads):
            out = list(row)
            for head in range(heads):
                for i in range(d // 2):
                    a, b = row[head * d + i], row[head * d + i + d // 2]
                    angle = position * freqs[i]
                    out[head * d + i] = a * math.cos(angle) - b * math.sin(angle)
                    out[head * d + i + d // 2] = b * math.cos(angle) + a * math.sin(angle)
            return out

        for position in range(T):
            q[position] = rope(q[position], H)
            k[position] = rope(k[position], KV)
        layer_maps = []
        context = [[0.0] * (H * d) for _ in range(T)]
        for head in range(H):
            kv = head // group
            rows = []
            for i in range(T):
                logits = []
                for j in range(T):
                    visible = j <= i and (windows[layer] == 0 or j > i - windows[layer])
                    if visible:
                        s = sum(q[i][head * d + c] * k[j][kv * d + c] for c in range(d)) / math.sqrt(d)
                        logits.append(s)
                    else:
                        logits.append(None)
                top = max(l for l in logits if l is not None)
                e = [math.exp(l - top) if l is not None else 0.0 for l in logits]
                total = sum(e)
                w = [v_ / total for v_ in e]
                rows.append(w)
                for c in range(d):
                    context[i][head * d + c] = sum(w[j] * v[j][kv * d + c] for j in range(T))
            layer_maps.append(rows)
        attentions.append(layer_maps)
        o = linear(context, weights[p + "self_attn.o_proj.weight"], weights.get(p + "self_attn.o_proj.bias"))
        x = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(x, o)]
        h = rms_norm(x, weights[p + "post_attention_layernorm.weight"])
        gate = linear(h, weights[p + "mlp.gate_proj.weight"], weights.get(p + "mlp.gate_proj.bias"))
        up = linear(h, weights[p + "mlp.up_proj.weight"], weights.get(p + "mlp.up_proj.bias"))
        act = [[g / (1 + math.exp(-g)) * u for g, u in zip(r1, r2)] for r1, r2 in zip(gate, up)]
        down = linear(act, weights[p + "mlp.down_proj.weight"], weights.get(p + "mlp.down_proj.bias"))
        x = [[a + b for a, b in zip(r1, r2)] for r1, r2 in zip(x, down)]
    return attentions


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tokenizer_json():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece in ["\u2581", "\u2581a", "\u2581b"]:
        vocab[piece] = len(vocab)
    return {"version": "1.0", "normalizer": None,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
            "added_tokens": [{"id": 1, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
            "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
            "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True, "vocab": vocab, "merges": ["\u2581 a", "\u2581 b"]}}


def main():
    for name, spec in VARIANTS.items():
        rng = random.Random(name)
        config = {"model_type": spec["model_type"], "architectures": ["%sForCausalLM" % ("Qwen2" if spec["model_type"] == "qwen2" else "Llama")],
                  "hidden_size": HIDDEN, "intermediate_size": INTER, "num_hidden_layers": LAYERS,
                  "num_attention_heads": spec["heads"], "vocab_size": VOCAB, "max_position_embeddings": POSITIONS,
                  "rms_norm_eps": EPS, "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32"}
        if spec["kv_heads"]:
            config["num_key_value_heads"] = spec["kv_heads"]
        if spec["head_dim"]:
            config["head_dim"] = spec["head_dim"]
        if spec["rope_theta"]:
            config["rope_theta"] = spec["rope_theta"]
        config.update(spec["extra"])
        H = spec["heads"]
        KV = spec["kv_heads"] or H
        d = spec["head_dim"] or HIDDEN // H
        qwen = spec["model_type"] == "qwen2"
        attention_bias = config.get("attention_bias", False)
        mlp_bias = config.get("mlp_bias", False)

        def matrix(rows, cols, std):
            return [[rng.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]

        def vector(n, std, mean=0.0):
            return [mean + rng.gauss(0.0, std) for _ in range(n)]

        weights = {"model.embed_tokens.weight": matrix(VOCAB, HIDDEN, 1.0), "model.norm.weight": vector(HIDDEN, 0.1, 1.0),
                   "lm_head.weight": matrix(VOCAB, HIDDEN, 0.1)}
        for layer in range(LAYERS):
            p = "model.layers.%d." % layer
            weights[p + "input_layernorm.weight"] = vector(HIDDEN, 0.1, 1.0)
            weights[p + "post_attention_layernorm.weight"] = vector(HIDDEN, 0.1, 1.0)
            for proj, out in (("q", H * d), ("k", KV * d), ("v", KV * d)):
                weights[p + "self_attn.%s_proj.weight" % proj] = matrix(out, HIDDEN, 0.45 if proj != "v" else 0.2)
                if qwen or attention_bias:
                    weights[p + "self_attn.%s_proj.bias" % proj] = vector(out, 0.3)
            weights[p + "self_attn.o_proj.weight"] = matrix(HIDDEN, H * d, 0.2)
            if attention_bias:
                weights[p + "self_attn.o_proj.bias"] = vector(HIDDEN, 0.1)
            for proj, out, inp in (("gate", INTER, HIDDEN), ("up", INTER, HIDDEN), ("down", HIDDEN, INTER)):
                weights[p + "mlp.%s_proj.weight" % proj] = matrix(out, inp, 0.2)
                if mlp_bias:
                    weights[p + "mlp.%s_proj.bias" % proj] = vector(out, 0.1)
        ids = [1] + [rng.randrange(3, VOCAB) for _ in range(13)]
        attentions = forward(config, weights, ids)

        folder = os.path.join(DATA, "checkpoints", name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(tokenizer_json(), f)
        flat = {}
        for key, value in sorted(weights.items()):
            if isinstance(value[0], list):
                flat[key] = ([len(value), len(value[0])], [v for row in value for v in row])
            else:
                flat[key] = ([len(value)], value)
        write_safetensors(os.path.join(folder, "model.safetensors"), flat)
        # The float64 results use the float32 weights the file holds.
        stored = {key: ([struct.unpack("<f", struct.pack("<f", v))[0] for v in values], shape) for key, (shape, values) in flat.items()}
        as_read = {}
        for key, (values, shape) in stored.items():
            as_read[key] = [values[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])] if len(shape) == 2 else values
        attentions = forward(config, as_read, ids)
        row_max = [max(row) for layer in attentions for head in layer for row in head]
        with open(os.path.join(DATA, "reference", name + ".json"), "w") as f:
            json.dump({"checkpoint": "checkpoints/" + name, "config": config, "ids": ids,
                       "attention_layout": "attentions[layer][head][query_pos][key_pos], softmax over key_pos, causal",
                       "attentions_shape": [LAYERS, H, len(ids), len(ids)], "attentions": attentions,
                       "checks": {"mean_row_max": sum(row_max) / len(row_max)}}, f)
        print(name, "mean row max %.3f" % (sum(row_max) / len(row_max)))


if __name__ == "__main__":
    main()
