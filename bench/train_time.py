#!/usr/bin/env python3
"""Where a training's wall time went, from ESPnet's ``train.log``: start-up, forward, backward, ...

Usage:
    tools/venv/bin/python bench/train_time.py egs2/mini_st/st1/exp/*/train.log
    tools/venv/bin/python bench/train_time.py --json egs2/mini_st/st1/exp/mt_train_mt/train.log

Reads the logs that ctcot's st.sh writes (``run_logged``: a ``# python -m ...`` line, ``# Started
at <date>``, ESPnet's output, and ``# Ended at <date>`` when the command succeeded; Kaldi's run.pl
``# Ended (code N) at`` is understood too) and prints a markdown table, one row per training, of
seconds and their share of its wall time (``# Started at`` to ``# Ended at``):

- start-up:  ``# Started at`` to ESPnet's ``Saving the configuration in ...`` (Python imports,
             data and model set-up). ``date`` has 1 s resolution, so this is +-1 s;
- train:     the sum of the epochs' ``[train] time=`` (their training loops' wall time), split into
             forward, backward, optimizer step (``forward_time``, ``backward_time``,
             ``optim_step_time``: per-iteration means, times the epoch's iterations, the difference
             of ``total_count``; the optimizer step per update, every ``accum_grad`` iterations),
             data (``iter_time``: the wait for the next batch) and other (the rest: building the
             epoch's iterator, moving batches, gradient clipping, zero_grad, the reporter, logging);
- valid:     the sum of the epochs' ``[valid] time=``;
- between:   each epoch's wall time from the previous epoch's results line (for the first epoch:
             from the configuration's saving) to its own, minus its train and valid time: attention
             plots, scheduler steps, reporting, matplotlib plots, checkpoints and the removal of old
             ones; before the first epoch also the loading of ``--init_param`` models, the data
             iterators' set-up and a resumption's checkpoint (``--json`` has each epoch's);
- end:       the last epoch's results line to ``# Ended at``: that epoch's checkpoint, the
             averaging of the n best models and the process's exit (+-1 s);
- s/epoch:   the wall time from the configuration's saving to the last epoch's results, per epoch.

ESPnet prints the per-iteration means with 3 decimals (so a 0.007 s mean over 93 iterations is
known to +-0.05 s) and times under a minute with 2 decimals. A log without an ``Ended`` line
(still running, killed or failed) is reported as unfinished, its wall time up to its last log line.
st.sh appends to the log, so a training that was rerun (``--resume true``) has one section per run:
each is a row of its own. ``accum_grad`` is read from the ``config.yaml`` next to the log, else the
command line, else 1 (``--accum_grad`` overrides). ``--json`` prints the numbers, with each epoch's.
"""
import argparse
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# [host] 2026-12-01 06:35:39,065 (trainer:394) INFO: message
LINE = re.compile(r"^\[[^\]]*\] (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \((\S+?):(\d+)\) (\w+): (.*)$")
RESULTS = re.compile(r"^(\d+)epoch results: (.*)$")
ENDED = re.compile(r"^# Ended(?: \(code (\d+)\))? at (.*)$")
# humanfriendly.format_timespan's units, as ESPnet prints the reporter's times ("1 minute and 5.3 seconds")
UNITS = {"nanosecond": 1e-9, "microsecond": 1e-6, "millisecond": 1e-3, "second": 1.0, "minute": 60.0,
         "hour": 3600.0, "day": 86400.0, "week": 604800.0, "year": 31449600.0}
TIMESPAN = re.compile(r"([\d.]+)\s+(" + "|".join(UNITS) + r")s?\b")
# The per-iteration means that split an epoch's training time
PARTS = {"forward": "forward_time", "backward": "backward_time", "optim": "optim_step_time", "data": "iter_time"}


@dataclass
class Epoch:
    epoch: int
    results_at: datetime               # the results line's timestamp: the epoch's end for this script
    stats: Dict[str, Dict[str, object]]  # e.g. stats["train"]["forward_time"] = 0.043
    iterations: Optional[int] = None   # training iterations (difference of total_count)


@dataclass
class Run:
    """One ``# Started at`` section of a log: one training process."""
    log: str
    command: str = ""
    started: Optional[datetime] = None
    ended: Optional[datetime] = None
    exit_code: Optional[int] = None        # from run.pl's "# Ended (code N) at"
    config_saved: Optional[datetime] = None
    output_dir: Optional[str] = None
    last_line_at: Optional[datetime] = None
    epochs: List[Epoch] = field(default_factory=list)


def parse_timespan(text: str) -> float:
    """Seconds of a humanfriendly timespan: '10.75 seconds', '1 hour, 2 minutes and 5.5 seconds'."""
    parts = TIMESPAN.findall(text)
    if not parts:
        raise ValueError(f"not a timespan: {text!r}")
    return sum(float(number) * UNITS[unit] for number, unit in parts)


def parse_value(text: str) -> object:
    """A reporter value: a float, an int, a timespan in seconds, else the text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_timespan(text)
    except ValueError:
        return text


def parse_results(text: str) -> Dict[str, Dict[str, object]]:
    """'[train] a=1, time=2 seconds, [valid] ...' -> {'train': {'a': 1, 'time': 2.0}, 'valid': ...}."""
    stats: Dict[str, Dict[str, object]] = {}
    # Sections start at "[key] "; a timespan's own ", " is not followed by "name=", hence the split
    for key, body in re.findall(r"\[(\w+)\] (.*?)(?=, \[\w+\] |$)", text):
        items = re.split(r", (?=\w+=)", body)
        stats[key] = {k: parse_value(v) for k, v in (item.split("=", 1) for item in items if "=" in item)}
    return stats


def parse_date(text: str) -> Optional[datetime]:
    """The output of ``date`` in the C locale ('Tue Dec  1 06:35:23 UTC 2026'), zone dropped.

    ESPnet's timestamps are in the same local time, without a zone. None if not parseable.
    """
    fields = text.split()
    if len(fields) < 5:
        return None
    try:
        return datetime.strptime(" ".join([fields[1], fields[2], fields[3], fields[-1]]), "%b %d %H:%M:%S %Y")
    except ValueError:
        return None


def parse_log(path: Path) -> List[Run]:
    """The runs of one log file, in order, with their epochs' iteration counts filled in."""
    runs: List[Run] = []
    command = ""
    current: Optional[Run] = None
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("# Started at "):
            current = Run(log=str(path), command=command, started=parse_date(line[len("# Started at "):]))
            runs.append(current)
            continue
        match = ENDED.match(line)
        if match:
            if current is not None:
                current.ended = parse_date(match.group(2))
                current.exit_code = int(match.group(1)) if match.group(1) else None
            continue
        if line.startswith("# "):
            command = line[2:]  # the command of the next "# Started at"
            continue
        match = LINE.match(line)
        if not match:
            continue  # the model's printout, tracebacks, warnings of other libraries
        if current is None:  # a log without st.sh's header
            current = Run(log=str(path))
            runs.append(current)
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        message = match.group(5)
        current.last_line_at = at
        if message.startswith("Saving the configuration in "):
            current.config_saved = at
            current.output_dir = str(Path(message[len("Saving the configuration in "):].strip()).parent)
            continue
        results = RESULTS.match(message)
        if results:
            current.epochs.append(Epoch(int(results.group(1)), at, parse_results(results.group(2))))
    count_iterations(runs)
    return runs


def count_iterations(runs: List[Run]) -> None:
    """Each epoch's iterations: its total_count minus the previous epoch's (the reporter's count is
    cumulative, also across a resumption, whose previous epoch may be in an earlier run of the log).
    None where the previous epoch is not in the log (``summarize`` estimates it)."""
    counts: Dict[int, int] = {}  # epoch -> train total_count, the latest seen
    for run in runs:
        for epoch in run.epochs:
            total = epoch.stats.get("train", {}).get("total_count")
            if not isinstance(total, int):
                continue
            if epoch.epoch == 1:
                epoch.iterations = total
            elif epoch.epoch - 1 in counts:
                epoch.iterations = total - counts[epoch.epoch - 1]
            counts[epoch.epoch] = total


def read_accum_grad(run: Run) -> int:
    """accum_grad of the training: config.yaml next to the log, else the command line, else 1."""
    config = Path(run.log).parent / "config.yaml"
    if config.is_file():
        match = re.search(r"^accum_grad: (\d+)\s*$", config.read_text(errors="replace"), re.M)
        if match:
            return int(match.group(1))
    match = re.search(r"--accum_grad[ =](\d+)", run.command)
    return int(match.group(1)) if match else 1


def seconds(later: Optional[datetime], earlier: Optional[datetime]) -> Optional[float]:
    return None if later is None or earlier is None else (later - earlier).total_seconds()


def number(stats: Dict[str, object], key: str) -> float:
    value = stats.get(key, 0.0)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0.0


def summarize(run: Run, name: str, accum_grad: Optional[int] = None) -> dict:
    """The run's wall time split into start-up, train (forward, backward, optim, data, other),
    valid, between epochs and end, in seconds; None where the log does not tell."""
    accum_grad = accum_grad or read_accum_grad(run)
    finished = run.ended is not None and not run.exit_code
    last = run.ended if run.ended is not None else run.last_line_at  # where the wall time stops
    first = run.started if run.started is not None else run.config_saved
    wall = seconds(last, first)
    parts = {p: 0.0 for p in PARTS}
    epochs, previous_end, parts_known = [], run.config_saved, True
    for epoch in run.epochs:
        train, valid = epoch.stats.get("train", {}), epoch.stats.get("valid", {})
        iterations, estimated = epoch.iterations, False
        if iterations is None and number(train, "train_time") > 0:
            # resumed, the previous epoch not in the log: train_time is the mean time of an update (of
            # accum_grad iterations, data loading included), so the epoch's time / it counts the updates
            iterations, estimated = round(number(train, "time") / number(train, "train_time")) * accum_grad, True
        row = {"epoch": epoch.epoch, "wall": seconds(epoch.results_at, previous_end),
               "train": number(train, "time"), "valid": number(valid, "time"),
               "att_plot": number(epoch.stats.get("att_plot", {}), "time"),
               "iterations": iterations, "iterations_estimated": estimated}
        row["between"] = None if row["wall"] is None else row["wall"] - row["train"] - row["valid"]
        if iterations is None:
            parts_known = False
        else:
            for part, key in PARTS.items():
                # the optimizer steps once per accum_grad iterations, the others every iteration
                n = iterations // accum_grad if part == "optim" else iterations
                row[part] = number(train, key) * n
                parts[part] += row[part]
        epochs.append(row)
        previous_end = epoch.results_at
    train_total = sum((e["train"] for e in epochs), 0.0)
    betweens = [e["between"] for e in epochs]
    last_results = run.epochs[-1].results_at if run.epochs else None
    epoch_walls = seconds(last_results, run.config_saved)
    known = parts_known and bool(epochs)
    out = {
        "name": name, "log": run.log, "finished": finished, "exit_code": run.exit_code,
        "resumed_from_epoch": run.epochs[0].epoch if run.epochs and run.epochs[0].epoch > 1 else None,
        "accum_grad": accum_grad, "epochs": len(epochs), "wall": wall,
        "startup": seconds(run.config_saved, run.started), "train": train_total,
        **{p: (parts[p] if known else None) for p in PARTS},
        "other": train_total - sum(parts.values()) if known else None,
        "valid": sum((e["valid"] for e in epochs), 0.0),
        "between": None if None in betweens else sum(betweens, 0.0),
        # finished: checkpoint averaging and exit
        "end": seconds(run.ended, last_results) if run.ended is not None else None,
        # unfinished: the last results (or the configuration's saving) to the last log line: the epoch in
        # progress, or what failed
        "after_last_epoch": None if run.ended is not None else seconds(run.last_line_at, previous_end),
        "per_epoch": epoch_walls / len(epochs) if epoch_walls is not None and epochs else None,
    }
    out["percent"] = {key: None if out[key] is None or not wall else 100 * out[key] / wall
                      for key in [*(k for k, _ in COLUMNS), "after_last_epoch"]}
    out["epoch_details"] = epochs
    return rounded(out)


def rounded(value: object) -> object:
    """Floats to 3 decimals (ms; the log's precision is lower), in nested dicts and lists."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def name_of(run: Run, path: Path) -> str:
    """exp/<name> from the configuration's path, else --output_dir, else the log's directory."""
    if run.output_dir:
        return Path(run.output_dir).name
    match = re.search(r"--output_dir[ =](\S+)", run.command)
    return Path(match.group(1).strip("'\"")).name if match else path.parent.name


def analyze(paths: List[Path], accum_grad: Optional[int] = None) -> List[dict]:
    """One summary per run of each log (a log holds more than one run after a rerun)."""
    summaries = []
    for path in paths:
        runs = parse_log(path)
        if not runs:
            summaries.append({"name": path.parent.name, "log": str(path), "finished": False, "epochs": 0,
                              "error": "no ESPnet log lines"})
        for i, run in enumerate(runs, 1):
            name = name_of(run, path) + (f" (run {i}/{len(runs)})" if len(runs) > 1 else "")
            summaries.append(summarize(run, name, accum_grad))
    return summaries


COLUMNS: List[Tuple[str, str]] = [
    ("startup", "start-up"), ("train", "train"), ("forward", "forward"), ("backward", "backward"),
    ("optim", "optim step"), ("data", "data"), ("other", "other"), ("valid", "valid"),
    ("between", "between epochs"), ("end", "end")]


def cell(value: Optional[float], wall: Optional[float]) -> str:
    """'12.3 (4.5%)' of the wall time."""
    if value is None:
        return "-"
    if not wall:
        return f"{value:.1f}"
    return f"{value:.1f} ({100 * value / wall:.1f}%)"


def status(s: dict) -> str:
    if s.get("error"):
        return s["error"]
    if s["finished"]:
        return "finished"
    if s.get("exit_code"):
        return f"failed (code {s['exit_code']})"
    return "unfinished"


def table(summaries: List[dict]) -> str:
    """A markdown table, one row per run, and notes on the unfinished and estimated ones."""
    header = ["training", "status", "epochs", "wall s", *[f"{title} s" for _, title in COLUMNS], "s/epoch"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|"]
    notes = []
    for s in summaries:
        if s.get("error"):
            lines.append(f"| {s['name']} | {status(s)} |" + " - |" * (len(header) - 2))
            continue
        wall = s["wall"]
        cells = [cell(s[key], wall) for key, _ in COLUMNS]
        if s["end"] is None and s["after_last_epoch"] is not None:  # unfinished: the time after the last epoch
            cells[-1] = cell(s["after_last_epoch"], wall) + " *"
        row = [s["name"], status(s), str(s["epochs"]), "-" if wall is None else f"{wall:.1f}", *cells,
               "-" if s["per_epoch"] is None else f"{s['per_epoch']:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
        if status(s) == "unfinished":
            after = s["after_last_epoch"]
            notes.append(f"{s['name']}: unfinished, no '# Ended at' line (still running, killed or failed): wall "
                         "time up to its last log line" + ("" if after is None else
                         f"; * end: {after:.1f} s from the last epoch's results (or the start-up's end) to that "
                         "line, the epoch in progress or what failed") + f" ({s['log']})")
        if s["resumed_from_epoch"]:
            notes.append(f"{s['name']}: resumed at epoch {s['resumed_from_epoch']}")
        if any(e["iterations_estimated"] for e in s["epoch_details"]):
            notes.append(f"{s['name']}: the first epoch's iterations estimated as its time / mean train_time "
                         "(the previous epoch is not in the log)")
        if s["accum_grad"] != 1:
            notes.append(f"{s['name']}: accum_grad={s['accum_grad']}: one optimizer step per "
                         f"{s['accum_grad']} iterations")
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", type=Path, help="ESPnet training logs (exp/<name>/train.log)")
    parser.add_argument("--json", action="store_true", help="Print JSON (with each epoch's numbers) instead "
                        "of the table")
    parser.add_argument("--accum_grad", type=int, default=None, help="The trainings' accum_grad (default: "
                        "from config.yaml next to each log, else its command line, else 1)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.logs if not p.is_file()]
    if missing:
        parser.error("no such log: " + ", ".join(missing))
    summaries = analyze(args.logs, args.accum_grad)
    if args.json:
        print(json.dumps(summaries, indent=1, default=str))
    else:
        print(table(summaries))


if __name__ == "__main__":
    main()
