"""The machine a measurement ran on: its CPU and its matrix-multiply speed.

Wall times from different machines are only comparable through a measure of their speed.
``python bench/machine.py`` prints the CPU, the core count and the fp32 matmul throughput
(GFLOP/s) of torch on 1 thread and on all cores; the README's times are given with it.
Two 2-core machines of the same cloud measured 3.5x apart on the same recipe, and the probe
tells them apart: a machine whose two vCPUs share one physical core gains little from 2 threads.
"""
import argparse
import json
import os
import platform
import time


def cpu_name() -> str:
    """The CPU's model name (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor()


def matmul_gflops(threads: int, size: int = 512, seconds: float = 1.0) -> float:
    """Best fp32 throughput of ``size`` x ``size`` matmuls on ``threads`` threads, in GFLOP/s.

    Runs repeated ``torch.mm`` for about ``seconds`` in 5 rounds and keeps the best round
    (the least disturbed by other processes).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        out = torch.empty(size, size)
        torch.mm(a, b, out=out)  # warm-up
        best = 0.0
        for _ in range(5):
            count, start = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - start) < seconds / 5:
                torch.mm(a, b, out=out)
                count += 1
            best = max(best, 2 * size ** 3 * count / elapsed / 1e9)
        return best
    finally:
        torch.set_num_threads(previous)


def describe(seconds: float = 1.0) -> dict:
    """CPU name, cores and matmul GFLOP/s on 1 thread and on all cores."""
    cores = len(os.sched_getaffinity(0))
    return {"cpu": cpu_name(), "cores": cores,
            "gflops_1_thread": round(matmul_gflops(1, seconds=seconds), 1),
            f"gflops_{cores}_threads": round(matmul_gflops(cores, seconds=seconds), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="Time per measurement")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a line")
    args = parser.parse_args()
    info = describe(args.seconds)
    if args.json:
        print(json.dumps(info))
    else:
        print(", ".join(f"{k}: {v}" for k, v in info.items()))


if __name__ == "__main__":
    main()
