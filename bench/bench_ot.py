#!/usr/bin/env python3
"""Time ctcot's Sinkhorn divergence against geomloss and POT (forward + backward).

Usage:
    tools/venv/bin/python bench/bench_ot.py                 # the full grid, CPU
    tools/venv/bin/python bench/bench_ot.py --S 100 --T 20 --D 256 --repeats 5
    tools/venv/bin/python bench/bench_ot.py --device cuda   # on a GPU machine

For each shape, all methods solve the same B full-length problems (no padding, so geomloss's
batched mode is correct here) with the default ``ctcot.ot.SinkhornOptions`` (blur, scaling and
position coordinate, printed in the header):

- ctcot:    ``ctcot.ot.sinkhorn_divergence``, one batched solve;
- geomloss: ``SamplesLoss("sinkhorn", p=2, blur, scaling)`` tensorized, batched, with weights;
- POT:      ``ot.batch.solve_sample_batch`` (log-domain Sinkhorn, envelope gradient), three
            solves for the debiased divergence, at eps = blur^2 without eps-scaling.

Columns: median wall time of forward + backward in ms, the ratio of each reference's time to
ctcot's (> 1: ctcot is faster), and each method's largest relative deviation of the loss from
geomloss run per utterance in float64 (the definition ctcot reproduces).
"""
import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import torch
from geomloss import SamplesLoss

from ctcot.ot import SinkhornOptions, append_positions, sinkhorn_divergence

OPTIONS = SinkhornOptions()


def ctcot_loss(x, y):
    lengths_x = torch.full((x.size(0),), x.size(1), device=x.device)
    lengths_y = torch.full((y.size(0),), y.size(1), device=y.device)
    return sinkhorn_divergence(x, lengths_x, y, lengths_y, options=OPTIONS)


def with_positions(x, y):
    lengths_x = torch.full((x.size(0),), x.size(1), device=x.device)
    lengths_y = torch.full((y.size(0),), y.size(1), device=y.device)
    return (append_positions(x, lengths_x, OPTIONS.position_weight),
            append_positions(y, lengths_y, OPTIONS.position_weight))


def geomloss_loss(x, y):
    xp, yp = with_positions(x, y)
    a = torch.full(xp.shape[:2], 1.0 / xp.size(1), device=x.device, dtype=x.dtype)
    b = torch.full(yp.shape[:2], 1.0 / yp.size(1), device=y.device, dtype=y.dtype)
    return SamplesLoss("sinkhorn", p=2, blur=OPTIONS.blur, scaling=OPTIONS.scaling, backend="tensorized")(a, xp, b, yp)


def pot_loss(x, y, max_iter, tol):
    # POT's sqeuclidean cost is ||x - y||^2 = 2 C, so reg = 2 eps gives the same plan; halve the value.
    import ot  # here: POT is needed for this method only (a GPU machine's install may leave it out)

    xp, yp = with_positions(x, y)
    reg = 2 * OPTIONS.blur**2

    def value(u, v):
        return ot.batch.solve_sample_batch(
            u, v, reg=reg, metric="sqeuclidean", method="log_sinkhorn", reg_type="kl",
            max_iter=max_iter, tol=tol, grad="envelope").value

    return 0.5 * (value(xp, yp) - 0.5 * value(xp, xp) - 0.5 * value(yp, yp))


def reference_loss(x, y):
    """geomloss per utterance in float64: the value each method should reproduce."""
    loss = SamplesLoss("sinkhorn", p=2, blur=OPTIONS.blur, scaling=OPTIONS.scaling)
    xp, yp = with_positions(x.double(), y.double())
    return torch.stack([loss(xp[b], yp[b]) for b in range(x.size(0))])


def time_fwd_bwd(fn, x, y, repeats):
    """Median seconds of fn(x, y).sum().backward(); also returns the loss of the last run."""
    times = []
    for i in range(repeats + 1):  # the first run warms up
        xg, yg = x.detach().requires_grad_(), y.detach().requires_grad_()
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = fn(xg, yg)
        loss.sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times), loss.detach()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--B", type=int, default=16, help="batch size")
    parser.add_argument("--S", type=int, nargs="+", default=[100, 300, 750], help="speech lengths")
    parser.add_argument("--T", type=int, nargs="+", default=[20, 60], help="text lengths")
    parser.add_argument("--D", type=int, nargs="+", default=[256, 512], help="feature sizes")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (after 1 warm-up)")
    parser.add_argument("--methods", nargs="+", default=["ctcot", "geomloss", "pot"],
                        choices=["ctcot", "geomloss", "pot"], help="methods to time")
    parser.add_argument("--pot_max_iter", type=int, default=1000, help="POT's iteration cap per solve")
    parser.add_argument("--pot_tol", type=float, default=1e-5, help="POT's marginal tolerance")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="also write the rows here, e.g. bench/results/ot.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    methods = {
        "ctcot": ctcot_loss,
        "geomloss": geomloss_loss,
        "pot": lambda x, y: pot_loss(x, y, args.pot_max_iter, args.pot_tol),
    }
    print(f"# device={args.device} threads={torch.get_num_threads()} torch={torch.__version__} "
          f"B={args.B} blur={OPTIONS.blur} scaling={OPTIONS.scaling} position_weight={OPTIONS.position_weight}; "
          f"times: median fwd+bwd ms over {args.repeats} runs")
    header = f"{'S':>5} {'T':>4} {'D':>4}"
    for name in args.methods:
        header += f" {name + ' ms':>12}"
    for name in args.methods:
        if name != "ctcot":
            header += f" {name + '/ctcot':>15}"
    for name in args.methods:
        header += f" {'err ' + name:>13}"
    print(header)
    torch.manual_seed(0)
    rows = []
    for S, T, D in itertools.product(args.S, args.T, args.D):
        # Encoder-like states: unit variance per dimension, the text side slightly shifted.
        x = torch.randn(args.B, S, D, device=args.device)
        y = torch.randn(args.B, T, D, device=args.device) + 0.1
        reference = reference_loss(x, y)  # on the device: float64 on a GPU is far faster than on the CPU
        row = f"{S:>5} {T:>4} {D:>4}"
        times, errors = {}, {}
        for name in args.methods:
            seconds, loss = time_fwd_bwd(methods[name], x, y, args.repeats)
            times[name] = seconds
            errors[name] = ((loss.double() - reference).abs() / reference.abs()).max().item()
            row += f" {1000 * seconds:>12.1f}"
        for name in args.methods:
            if name != "ctcot":
                row += f" {times[name] / times['ctcot']:>15.2f}" if "ctcot" in times else f" {'-':>15}"
        for name in args.methods:
            row += f" {errors[name]:>13.1e}"
        print(row, flush=True)
        rows.append(dict(S=S, T=T, D=D, ms={k: 1000 * v for k, v in times.items()}, rel_error=errors))
        if args.json:  # after every row: a run stopped at its time limit keeps the rows it finished
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(dict(args=vars(args), rows=rows), indent=2) + "\n")


if __name__ == "__main__":
    main()
