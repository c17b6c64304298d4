"""bench/train_time.py: the wall time of ESPnet trainings split from their train.log."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "train_time.py"
spec = importlib.util.spec_from_file_location("train_time", SCRIPT)
train_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_time)

HOST = "[vm] 2026-12-01"


def results(epoch: int, train: str, valid: str) -> str:
    return f"{HOST} {{}} (trainer:394) INFO: {epoch}epoch results: [train] {train}, [valid] {valid}"


def train_stats(forward: float, total_count: int, time: str) -> str:
    return (f"iter_time=0.030, forward_time={forward:.3f}, loss=35.936, acc=0.255, backward_time=0.050, "
            f"clip=0.000e+00, optim_step_time=0.020, optim0_lr0=0.002, train_time=0.200, time={time}, "
            f"total_count={total_count}")


# A 3-epoch training as st.sh logs it. Started 10:00:00; configuration saved 10:00:12.5 (start-up 12.5 s).
# epoch 1: results at 10:00:35.0, 100 iterations, train 20 s, valid 1.5 s -> wall 22.5, between 1.0
# epoch 2: results at 10:00:58.0, 100 iterations, train 20.5 s, valid 1.5 s -> wall 23.0, between 1.0
# epoch 3: results at 10:02:22.25, 50 iterations, train 80.25 s, valid 2 s -> wall 84.25, between 2.0
# Ended 10:02:25 (end 2.75 s); wall 145 s = 12.5 + 120.75 train + 5 valid + 4 between + 2.75 end.
HEAD = [
    "# python -m espnet2.bin.st_train --ngpu 0 --config conf/train_st.yaml --output_dir exp/st_train_a",
    "# Started at Tue Dec  1 10:00:00 UTC 2026",
    f"{HOST} 10:00:11,000 (abs_task:1455) INFO: pytorch.version=2.13.0+cpu, cuda.available=False",
    f"{HOST} 10:00:11,001 (abs_task:1456) INFO: Model structure:",
    "ESPnetSTModel(",  # the model's printout: lines without ESPnet's prefix
    "  (frontend): DefaultFrontend()",
    ")",
    f"{HOST} 10:00:12,500 (abs_task:1469) INFO: Saving the configuration in exp/st_train_a/config.yaml",
    f"{HOST} 10:00:12,600 (trainer:336) INFO: 1/3epoch started",
    # a log_interval line: per-batch means, not an epoch's results
    f"{HOST} 10:00:22,000 (trainer:811) INFO: 1epoch:train:1-50batch: iter_time=0.9, forward_time=9.0, "
    "train_time=9.9",
    results(1, train_stats(0.08, 100, "20 seconds"), "loss=22.2, time=1.5 seconds, total_count=10").format(
        "10:00:35,000"),
    f"{HOST} 10:00:35,050 (trainer:462) INFO: The best model has been updated: valid.acc",
    f"{HOST} 10:00:35,060 (trainer:324) INFO: 2/3epoch started. Estimated time to finish: 45 seconds",
    results(2, train_stats(0.08, 200, "20.5 seconds"), "loss=16.0, time=1.5 seconds, total_count=20").format(
        "10:00:58,000"),
]
TAIL = [
    f"{HOST} 10:00:58,050 (trainer:324) INFO: 3/3epoch started. Estimated time to finish: 23 seconds",
    results(3, train_stats(0.1, 250, "1 minute and 20.25 seconds"),
            "loss=12.7, time=2 seconds, total_count=30").format("10:02:22,250"),
    f"{HOST} 10:02:22,300 (trainer:534) INFO: The training was finished at 3 epochs ",
    f"{HOST} 10:02:22,300 (average_nbest_models:70) INFO: Averaging 3best models: criterion=\"valid.acc\"",
    "# Ended at Tue Dec  1 10:02:25 UTC 2026",
]
# Unfinished: the log stops 10 s into epoch 3 (a log_interval line), without an Ended line.
UNFINISHED_TAIL = [f"{HOST} 10:01:08,000 (trainer:811) INFO: 3epoch:train:1-50batch: iter_time=0.030"]


def write_log(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_finished_log_is_split_exactly(tmp_path):
    (s,) = train_time.analyze([write_log(tmp_path / "exp/st_train_a/train.log", HEAD + TAIL)])
    assert s["name"] == "st_train_a" and s["finished"] and s["epochs"] == 3
    assert s["wall"] == 145.0
    assert s["startup"] == 12.5
    assert s["train"] == 120.75
    assert [e["iterations"] for e in s["epoch_details"]] == [100, 100, 50]
    # per-iteration means x iterations: forward 0.08 x 100 + 0.08 x 100 + 0.1 x 50
    assert s["forward"] == 21.0
    assert s["percent"]["forward"] == round(100 * 21.0 / 145.0, 3)
    assert (s["backward"], s["optim"], s["data"]) == (12.5, 5.0, 7.5)
    assert s["other"] == 120.75 - 21.0 - 12.5 - 5.0 - 7.5
    assert s["valid"] == 5.0
    assert [e["between"] for e in s["epoch_details"]] == [1.0, 1.0, 2.0]
    assert s["between"] == 4.0
    assert s["end"] == 2.75
    assert s["per_epoch"] == round((22.5 + 23.0 + 84.25) / 3, 3)
    # the parts add up to the wall time
    assert s["startup"] + s["train"] + s["valid"] + s["between"] + s["end"] == s["wall"]


def test_unfinished_log_is_reported_as_such(tmp_path):
    log = write_log(tmp_path / "exp/st_train_a/train.log", HEAD + UNFINISHED_TAIL)
    (s,) = train_time.analyze([log])
    assert not s["finished"] and train_time.status(s) == "unfinished"
    assert s["epochs"] == 2 and s["end"] is None
    assert s["wall"] == 68.0  # up to the last log line
    assert s["after_last_epoch"] == 10.0  # from epoch 2's results to that line
    text = train_time.table([s])
    assert "| st_train_a | unfinished | 2 |" in text
    assert "no '# Ended at' line" in text


def test_accum_grad_from_config_counts_optimizer_steps_per_update(tmp_path):
    log = write_log(tmp_path / "exp/st_train_a/train.log", HEAD + TAIL)
    (log.parent / "config.yaml").write_text("max_epoch: 3\naccum_grad: 2\npatience: null\n")
    (s,) = train_time.analyze([log])
    assert s["accum_grad"] == 2
    assert s["optim"] == 0.02 * (50 + 50 + 25)  # one step per 2 iterations
    assert s["forward"] == 21.0  # every iteration


def test_rerun_appended_to_the_log_is_a_run_of_its_own(tmp_path):
    # st.sh appends: a failed first run (epochs 1-2), then a --resume run that trains epoch 3
    rerun = [HEAD[0], "# Started at Tue Dec  1 11:00:00 UTC 2026",
             f"{HOST} 11:00:10,000 (abs_task:1469) INFO: Saving the configuration in exp/st_train_a/config.yaml",
             results(3, train_stats(0.1, 250, "20 seconds"), "time=2 seconds, total_count=30").format(
                 "11:00:33,000"),
             "# Ended at Tue Dec  1 11:00:35 UTC 2026"]
    first, second = train_time.analyze([write_log(tmp_path / "exp/st_train_a/train.log", HEAD + rerun)])
    assert (first["name"], first["finished"]) == ("st_train_a (run 1/2)", False)
    assert (second["name"], second["finished"], second["resumed_from_epoch"]) == ("st_train_a (run 2/2)", True, 3)
    # epoch 3's iterations from epoch 2's total_count in the first run
    assert second["epoch_details"][0]["iterations"] == 50 and not second["epoch_details"][0]["iterations_estimated"]
    assert (second["wall"], second["startup"], second["between"], second["end"]) == (35.0, 10.0, 1.0, 2.0)


@pytest.mark.parametrize("text, seconds", [
    ("0.25 seconds", 0.25), ("1 second", 1.0), ("1 minute", 60.0), ("2 minutes and 5.04 seconds", 125.04),
    ("1 hour, 2 minutes and 5.5 seconds", 3725.5)])
def test_results_times_in_humanfriendly_format(text, seconds):
    stats = train_time.parse_results(f"[train] loss=1.0, time={text}, total_count=7, [valid] time=1 second")
    assert stats["train"]["time"] == pytest.approx(seconds)
    assert stats["train"]["total_count"] == 7 and stats["valid"]["time"] == 1.0


def test_cli_prints_a_table_row_per_log(tmp_path):
    a = write_log(tmp_path / "exp/st_train_a/train.log", HEAD + TAIL)
    b = write_log(tmp_path / "exp/st_train_b/train.log",
                  [line.replace("st_train_a", "st_train_b") for line in HEAD + UNFINISHED_TAIL])
    out = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b)], capture_output=True, text=True, check=True)
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| training | status | epochs | wall s | start-up s |")
    assert len(rows) == 3  # header + one per log
    assert rows[1].startswith("| st_train_a | finished | 3 | 145.0 | 12.5 (8.6%) | 120.8 (83.3%) | 21.0 (14.5%) |")
    assert rows[2].startswith("| st_train_b | unfinished | 2 | 68.0 | 12.5 (18.4%) |")
    assert rows[2].endswith("| 10.0 (14.7%) * | 22.8 |")
    out = subprocess.run([sys.executable, str(SCRIPT), "--json", str(a)], capture_output=True, text=True, check=True)
    assert '"startup": 12.5' in out.stdout
