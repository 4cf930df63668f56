#!/usr/bin/env python3
"""Runs bench_forward (fp32, and bf16 where the CPU has it) and the same forward pass in PyTorch
(pytorch_gpt2.py, with its linear layers on oneDNN and on its BLAS) on one GPT-2 folder, in
interleaved rounds, and prints each length's medians and our speed as a multiple of PyTorch's
faster fp32 path. A measurement, not a test.

    python3 tests/bench/forward_vs_pytorch.py BENCH_FORWARD FOLDER [--threads 2] [--T 8,32,128,512,1024] [--rounds 2]

Needs python3-torch (Debian's 1.13) for the PyTorch side; without it, prints ours alone.
"""
import argparse
import json
import os
import subprocess
import sys


def lines(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bench_forward")
    parser.add_argument("folder")
    parser.add_argument("--threads", default="2")
    parser.add_argument("--T", default="8,32,128,512,1024")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True)
        torch = True
    except subprocess.CalledProcessError:
        torch = False
    bf16 = subprocess.run([args.bench_forward, "--model", args.folder, "--T", "8", "--precision", "bf16", "--json"],
                          capture_output=True, text=True).returncode == 0
    best = {}  # (what, T) -> the lowest median over the rounds
    peak = None
    for _ in range(args.rounds):
        runs = [("fp32", [args.bench_forward, "--model", args.folder, "--threads", args.threads, "--T", args.T, "--json"])]
        if bf16:
            runs.append(("bf16", runs[0][1] + ["--precision", "bf16"]))
        if torch:
            for linear in ("onednn", "blas"):
                runs.append((f"pytorch-{linear}", [sys.executable, os.path.join(here, "pytorch_gpt2.py"), args.folder,
                                                   "--threads", args.threads, "--T", args.T, "--linear", linear]))
        for what, command in runs:
            for line in lines(command):
                key = (what, line["T"])
                best[key] = min(best.get(key, float("inf")), line["median_ms"])
                if what == "fp32":
                    peak = line.get("peak_gflops", peak)
                    best[("linear-share", line["T"])] = max(best.get(("linear-share", line["T"]), 0), line["linear_share_of_peak"])
                if what == "bf16":
                    best[("bf16-deviation", line["T"])] = line["max_deviation"]
    lengths = [int(t) for t in args.T.split(",")]
    print(f"forward with every attention, {args.threads} threads, medians in ms (best of {args.rounds} interleaved rounds); "
          f"fp32 peak {peak} GFLOP/s")
    header = "   T    fp32  linear/peak" + ("    bf16  max dev" if bf16 else "") + \
             ("   PyTorch oneDNN   PyTorch BLAS   fp32 speed-up" + ("   bf16 speed-up" if bf16 else "") if torch else "")
    print(header)
    for t in lengths:
        row = f"{t:4d} {best[('fp32', t)]:7.1f}  {100 * best[('linear-share', t)]:8.0f} %"
        if bf16:
            row += f" {best[('bf16', t)]:7.1f}  {best[('bf16-deviation', t)]:.4f}"
        if torch:
            reference = min(best[("pytorch-onednn", t)], best[("pytorch-blas", t)])
            row += f"   {best[('pytorch-onednn', t)]:14.1f} {best[('pytorch-blas', t)]:14.1f}   {reference / best[('fp32', t)]:12.2f}×"
            if bf16:
                row += f"   {reference / best[('bf16', t)]:12.2f}×"
        print(row)


if __name__ == "__main__":
    main()
