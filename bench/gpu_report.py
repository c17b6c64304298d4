#!/usr/bin/env python3
"""Gather the results of bench/gpu_check.sh into <dir>/gpu_check.json and a markdown table, <dir>/gpu_check.md.

Usage:
    python bench/gpu_report.py bench/results/gpu_check_cuda_<date>

Exit status: 0 if every step of the check passed (its ``<step>.status.json``), else 1.
"""
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402  (bench/machine.py)


def load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def gather(directory: Path) -> dict:
    steps = {p.name[: -len(".status.json")]: load(p) for p in sorted(directory.glob("*.status.json"))}
    steps_json = {p.stem: load(p) for p in sorted(directory.glob("bench_step_*.json")) if ".status" not in p.name}
    return dict(
        machine=dict(cpu=cpu_name(), cores=os.cpu_count(), torch=torch.__version__,
                     gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None),
        steps=steps, ot=load(directory / "bench_ot.json"),
        step={name[len("bench_step_"):]: value for name, value in steps_json.items()},
        train_check=load(directory / "train_check" / "train_check.json"),
        decode=load(directory / "bench_decode.json"))


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"GPU: {m['gpu'] or 'none'}; CPU: {m['cpu']} ({m['cores']} cores); torch {m['torch']}", "",
             "| step | status | seconds |", "|---|---|---|"]
    lines += [f"| {name} | {'ok' if s['status'] == 0 else 'FAILED (exit %d)' % s['status']} | {s['seconds']} |"
              for name, s in report["steps"].items()]
    if report["ot"]:
        lines += ["", "OT loss, forward + backward (B = %d): ctcot vs geomloss on the same device; relative error "
                  "against geomloss per utterance in float64" % report["ot"]["args"]["B"], "",
                  "| S | T | D | ctcot ms | geomloss ms | geomloss / ctcot | err ctcot | err geomloss |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in report["ot"]["rows"]:
            ms, err = r["ms"], r["rel_error"]
            lines.append(f"| {r['S']} | {r['T']} | {r['D']} | {ms['ctcot']:.1f} | {ms['geomloss']:.1f} | "
                         f"{ms['geomloss'] / ms['ctcot']:.2f} | {err['ctcot']:.1e} | {err['geomloss']:.1e} |")
    if report["step"]:
        first = next(iter(report["step"].values()))["args"]
        lines += ["", f"Pre-training step ({Path(first['conf_dir']).name} config, B = {first['B']} utterances of "
                      f"{first['F']} frames): median ms, utterances/s, peak memory MB", "",
                  "| precision | model | step ms | utts/s | peak MB |", "|---|---|---|---|---|"]
        for precision, result in report["step"].items():
            for model, r in result["results"].items():
                utts = f"{r['utts_per_s']:.1f}" if "utts_per_s" in r else "-"
                peak = f"{r['peak_mb']:.0f}" if "peak_mb" in r else "-"
                lines.append(f"| {precision} | {model} | {r['step_ms']:.1f} | {utts} | {peak} |")
    if report["train_check"]:
        lines += ["", "Training (ctcot.bin.ctcot_train on generated data): training loss per epoch", "",
                  "| run | exit | train loss | verdict |", "|---|---|---|---|"]
        for r in report["train_check"]["runs"]:
            losses = " → ".join(f"{x:.2f}" for x in r["train_loss"]) or "-"
            lines.append(f"| {r['name']} | {r['exit_status']} | {losses} | {'ok' if r['ok'] else 'FAILED'} |")
    if report["decode"]:
        lines += ["", "ST decoding (bench_decode.py): real-time factor per mode", "", "| mode | RTF |", "|---|---|"]
        lines += [f"| {mode} | {rtf:.4f} |" for mode, rtf in report["decode"]["rtf"].items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    directory = Path(sys.argv[1])
    report = gather(directory)
    (directory / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (directory / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["steps"] and all(s["status"] == 0 for s in report["steps"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
