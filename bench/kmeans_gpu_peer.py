#!/usr/bin/env python3
"""PyTorch's assignment (torch.cdist + argmin, on the device's own torch) on the shapes kmeans_gpu_bench
times: N random rows resident on the GPU, d in {8, 16, 32, 64}, k in {8, 64, 256}; best of five, timed with
CUDA events. The issue's target: segstream's assign kernel at least 2x faster on the same shapes.

    kmeans_gpu_peer.py [ROWS]     (default 2^24)

Prints `peer torch-cdist-argmin d k milliseconds`, or `peer torch missing` without torch or a GPU.
"""
import sys


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 24
    try:
        import torch
    except ImportError:
        print("peer torch missing")
        return 0
    if not torch.cuda.is_available():
        print("peer torch missing (no CUDA device)")
        return 0
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name(0)}, rows {rows}")
    gen = torch.Generator(device="cuda").manual_seed(1)
    for d in (8, 16, 32, 64):
        x = torch.rand((rows, d), device="cuda", generator=gen) * 8 - 4
        for k in (8, 64, 256):
            c = torch.rand((k, d), device="cuda", generator=gen) * 8 - 4
            best = float("inf")
            for _ in range(5):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                # In slices, as a user would, so the N x k distance matrix fits the device.
                step = max(1, (1 << 28) // k)
                for s in range(0, rows, step):
                    dist = torch.cdist(x[s:s + step], c)
                    dist.min(dim=1)
                end.record()
                torch.cuda.synchronize()
                best = min(best, start.elapsed_time(end))
            print(f"peer torch-cdist-argmin {d} {k} {best:.3f}")
        del x
    return 0


if __name__ == "__main__":
    sys.exit(main())
