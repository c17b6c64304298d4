#!/usr/bin/env python3
"""The summary of bench/gpu_run.sh: <dir>/gpu_run.json, <dir>/RESULTS.md and <dir>/ot_time.png.

Usage:
    python bench/gpu_run_report.py OUTDIR [--budget_s N] [--seconds N]

Reads the parts' ``<part>.status.json`` (install, gpu_check, recipe), bench/gpu_check.sh's
``gpu_check/gpu_check.json`` and ``gpu_check.md``, and the mini recipe's ``recipe/run.log`` (the
stages it finished) and ``recipe/exp/**/RESULTS.md``. The standard library only (it also runs
when the install failed); the plot of the OT loss's time against the speech length needs
matplotlib and is left out without it. Exit status: 0 if every part that ran passed, else 1.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

PARTS = ("install", "gpu_check", "recipe")


def load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def gpu_names() -> list:
    """``name, memory, driver`` of each GPU by nvidia-smi, [] where there is none."""
    if not shutil.which("nvidia-smi"):
        return []
    result = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                            capture_output=True, text=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()] if result.returncode == 0 else []


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def recipe_summary(directory: Path) -> dict:
    """The stages that the recipe's run.log says were done (with seconds), the last one begun, its results."""
    log = directory / "run.log"
    text = log.read_text(errors="replace") if log.is_file() else ""
    done = {int(stage): int(seconds) for stage, seconds in re.findall(r"Stage (\d+) done in (\d+)s", text)}
    begun = [int(stage) for stage in re.findall(r"Stage (\d+): ", text)]
    results = {str(p.relative_to(directory)): p.read_text(errors="replace")
               for p in sorted(directory.glob("exp/**/RESULTS.md"))}
    return dict(stages_done=done, last_stage_begun=begun[-1] if begun else None, results=results)


def plot_ot(report: dict, path: Path) -> bool:
    """Milliseconds of the OT loss (fwd+bwd) against the speech length, ctcot and geomloss; False without it."""
    rows = (report.get("ot") or {}).get("rows") or []
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not rows:
        return False
    figure, axes = plt.subplots(figsize=(6, 4))
    for (T, D) in sorted({(r["T"], r["D"]) for r in rows}):
        chosen = sorted((r for r in rows if (r["T"], r["D"]) == (T, D)), key=lambda r: r["S"])
        for method, style in (("ctcot", "-o"), ("geomloss", "--s")):
            if all(method in r["ms"] for r in chosen):
                axes.plot([r["S"] for r in chosen], [r["ms"][method] for r in chosen], style,
                          label=f"{method} T={T} D={D}")
    axes.set(xscale="log", yscale="log", xlabel="speech length S (frames)", ylabel="ms, forward + backward",
             title=f"OT loss, B = {report['ot']['args']['B']}, {report['machine'].get('gpu') or 'CPU'}")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def gather(directory: Path, budget_s: int, seconds: int) -> dict:
    check = load(directory / "gpu_check" / "gpu_check.json")
    return dict(
        budget_s=budget_s, seconds=seconds,
        machine=dict(gpus=gpu_names(), cpu=cpu_name(), cores=os.cpu_count(),
                     torch=(check or {}).get("machine", {}).get("torch")),
        parts={name: load(directory / f"{name}.status.json") for name in PARTS
               if (directory / f"{name}.status.json").is_file()},
        gpu_check=check,
        recipe=recipe_summary(directory / "recipe") if (directory / "recipe").is_dir() else None)


def markdown(report: dict, directory: Path) -> str:
    m = report["machine"]
    lines = ["# bench/gpu_run.sh", "",
             f"GPU: {'; '.join(m['gpus']) or 'none'}; CPU: {m['cpu']} ({m['cores']} cores); torch {m['torch']}; "
             f"{report['seconds']} s of a budget of {report['budget_s']} s.", "",
             "| part | status | seconds | limit s |", "|---|---|---|---|"]
    for name, s in report["parts"].items():
        status = "ok" if s["status"] == 0 else ("time limit" if s["status"] == 124 else f"FAILED (exit {s['status']})")
        lines.append(f"| {name} | {status} | {s['seconds']} | {s['limit_s']} |")
    check_md = directory / "gpu_check" / "gpu_check.md"
    if check_md.is_file():
        lines += ["", "## bench/gpu_check.sh", "", check_md.read_text().rstrip()]
    if (directory / "ot_time.png").is_file():
        lines += ["", "![OT loss time against S](ot_time.png)"]
    recipe = report["recipe"]
    if recipe:
        done = ", ".join(f"{stage} ({s} s)" for stage, s in sorted(recipe["stages_done"].items())) or "none"
        lines += ["", "## The mini recipe", "", f"Stages done: {done}; last begun: {recipe['last_stage_begun']}."]
        for path, text in recipe["results"].items():
            lines += ["", f"### {path}", "", text.rstrip()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--budget_s", type=int, default=0, help="the run's time budget (for the record)")
    parser.add_argument("--seconds", type=int, default=0, help="the seconds the run took until the report")
    args = parser.parse_args(argv)
    report = gather(args.outdir, args.budget_s, args.seconds)
    if report["gpu_check"]:
        plot_ot(report["gpu_check"], args.outdir / "ot_time.png")
    (args.outdir / "gpu_run.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report, args.outdir)
    (args.outdir / "RESULTS.md").write_text(text)
    print(text)
    return 0 if report["parts"] and all(s["status"] == 0 for s in report["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
