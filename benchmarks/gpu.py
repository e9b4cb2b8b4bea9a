"""The torch engine and a one-pass summary on a device, against the device's own memory bandwidth.

    python benchmarks/gpu.py                        # CUDA: n = 1e7, d = 16, K = 1000
    python benchmarks/gpu.py --device cpu --n 1e6   # the same measurements on the CPU (a check of the script)

Methods (each the best of --repeat runs, the device synchronized around the clock; the data are made on the
device, so no host-to-device copy is timed):

- ``floor-read``: ``X.sum()`` and ``y.sum()`` — one read of the data, the device's bandwidth for this shape;
- ``floor-copy``: ``X.clone()`` — a read and a write, for the copy bandwidth the vendor quotes;
- ``summary float64``: the stats engine's summary on the device, ``Σ (z − K)(z − K)ᵀ`` and ``Σ (z − K)`` over
  z = [x, y] (K the first block's mean, as ``stats.summarize`` shifts), one matrix product per block of rows;
- ``summary float32→64``: the same on float32 data, each block's product in float32 (TF32 off) and the blocks
  summed in float64: half the bytes to read; its error against the float64 summary is printed;
- ``torch engine``: ``gradfit.fit(X, y, engine="torch", device=…, iters=K, tol=None)`` end to end
  (lr="auto" on the torch engine, K full-batch iterations of nn.Linear, MSELoss, backward, SGD);
- ``torch engine float32``: the same with ``dtype="float32"``.

Ratios are to ``floor-read`` of the same dtype's data (the float32 rows to the float32 read). GB/s counts the
bytes of X and y read once. Record the device, the driver and torch's version with the table
(benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synchronize(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_of(torch, device, f, repeat: int) -> float:
    f()                                            # warm: kernels loaded, memory pools grown
    synchronize(torch, device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        synchronize(torch, device)
        best = min(best, time.perf_counter() - start)
    return best


def summary(torch, X, y, block_rows: int, accumulate=None):
    """(n, S, s) about the shift K = the first block's mean, one product per block; float64 sums."""
    accumulate = accumulate or X.dtype
    d = X.shape[1]
    shift = torch.cat([X[:block_rows].mean(0), y[:block_rows].mean(0, keepdim=True)])
    S = torch.zeros((d + 1, d + 1), dtype=torch.float64, device=X.device)
    s = torch.zeros(d + 1, dtype=torch.float64, device=X.device)
    for start in range(0, X.shape[0], block_rows):
        Z = torch.cat([X[start:start + block_rows], y[start:start + block_rows, None]], dim=1) - shift
        S += (Z.T @ Z).to(accumulate)
        s += Z.sum(0, dtype=torch.float64)
    return X.shape[0], S, s, shift.to(torch.float64)


def moments(n, S, s, shift):
    """The summary's means and centred co-moments, M = S − n·(s/n)(s/n)ᵀ."""
    mean = s / n
    return shift + mean, S - n * torch_outer(mean)


def torch_outer(v):
    return v[:, None] * v[None, :]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=lambda v: int(float(v)), default=10_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=1000, help="iterations of the torch engine")
    parser.add_argument("--block-rows", type=lambda v: int(float(v)), default=1 << 20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run with --device cpu, or on a machine with a GPU")
    torch.backends.cuda.matmul.allow_tf32 = False    # float32 products in float32, not TF32
    generator = torch.Generator(device=device).manual_seed(20260101)
    X = torch.randn((args.n, args.d), dtype=torch.float64, device=device, generator=generator)
    X += torch.linspace(-1.0, 1.0, args.d, dtype=torch.float64, device=device)
    y = X @ torch.linspace(1.0, -1.0, args.d, dtype=torch.float64, device=device) + 0.5
    y += 0.1 * torch.randn(args.n, dtype=torch.float64, device=device, generator=generator)
    X32, y32 = X.float(), y.float()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {name}, torch {torch.__version__}, n = {args.n:.0e}, d = {args.d}, K = {args.k}, "
          f"best of {args.repeat}")

    rows = [row for label, data in (("float64", (X, y)), ("float32", (X32, y32)))
            for row in measure(torch, device, args, label, *data)]
    reference = moments(*summary(torch, X, y, args.block_rows))
    low = moments(*summary(torch, X32, y32, args.block_rows, torch.float64))
    exact64 = moments(*summary(torch, X32.double(), y32.double(), args.block_rows))
    print(f"summary float32→64: M within {rel(low[1], exact64[1]):.1e} of the float64 summary of the same "
          f"(float32) values; float64 data vs float32 data: {rel(low[1], reference[1]):.1e}")
    print("| method | seconds | × floor-read | GB/s (X and y once) |\n|---|---|---|---|")
    for label, seconds, floor, nbytes in rows:
        print(f"| {label} | {seconds:.4g} | {seconds / floor:.2f} | {nbytes / seconds / 1e9:.0f} |")


def measure(torch, device, args, label: str, X, y) -> list[tuple[str, float, float, int]]:
    """(method, seconds, the floor's seconds, bytes of X and y) for one dtype's data."""
    import gradfit

    nbytes = X.element_size() * (X.numel() + y.numel())
    floor = best_of(torch, device, lambda: (X.sum(), y.sum()), args.repeat)

    def engine():
        return gradfit.fit(X, y, engine="torch", device=args.device, dtype=label, iters=args.k, tol=None)

    return [
        (f"floor-read {label}", floor, floor, nbytes),
        (f"floor-copy {label}", best_of(torch, device, lambda: X.clone(), args.repeat), floor, nbytes),
        ("summary float64" if label == "float64" else "summary float32→64",
         best_of(torch, device, lambda: summary(torch, X, y, args.block_rows, torch.float64), args.repeat),
         floor, nbytes),
        (f"torch engine {label}, K = {args.k}", best_of(torch, device, engine, min(args.repeat, 3)), floor, nbytes),
    ]


def rel(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
