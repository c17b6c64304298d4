"""bench/gpu_run.sh on CPU (gpu_check.sh's reduced sizes, the tiny recipe's first stages): every part
runs within its limit, a step stopped at its limit does not stop the others, and the report gathers them."""
import json
import subprocess

import pytest
from conftest import REPO


@pytest.mark.recipe  # minutes: every benchmark, a training and the tiny recipe's first stages
def test_gpu_run_on_cpu_checks_reports_and_limits(tmp_path):
    out = tmp_path / "out"
    # test_ot gets 1 s (it runs in this suite anyway): it is stopped, and the rest goes on. The budget
    # is 5 times the GPU's (each limit too), room for slow CPUs: the parts take what they need.
    result = subprocess.run([str(REPO / "bench" / "gpu_run.sh"), "--device", "cpu", "--budget_s", "2400",
                             "--wheelhouse", "none",
                             "--limit", "test_ot=1", "--recipe_args", "--stop_stage 3 --nj 1",
                             "--work_dir", str(tmp_path / "work"), str(out)],
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "gpu_run.json").read_text())
    parts = summary["parts"]
    assert set(parts) == {"gpu_check", "recipe"}  # no wheelhouse: tools/venv as it is
    assert parts["gpu_check"]["status"] == 1 and parts["recipe"]["status"] == 0, parts
    assert parts["gpu_check"]["limit_s"] == 5 * (40 + 60 + 3 * 35 + 70 + 40) + 30

    report = summary["gpu_check"]
    steps = report["steps"]
    assert set(steps) == {"test_ot", "bench_ot", "bench_step_fp32", "bench_step_bf16", "train_check", "decode"}
    assert steps["test_ot"]["status"] == 124 and steps["test_ot"]["seconds"] <= 3
    assert all(step["status"] == 0 for name, step in steps.items() if name != "test_ot"), steps
    assert [(r["S"], r["T"]) for r in report["ot"]["rows"]] == [(100, 20), (300, 20)]
    assert all(r["rel_error"]["ctcot"] < 1e-5 for r in report["ot"]["rows"])
    for precision in ("fp32", "bf16"):
        results = report["step"][precision]["results"]
        assert set(results) == {"ctc_ot", "ctc", "st", "ctc_compress_ot", "sinkhorn"}
        assert results["ctc_ot"]["utts_per_s"] > 0 and results["ctc_compress_ot"]["utts_per_s"] > 0
    run = report["train_check"]["runs"][0]
    assert run["ok"] and run["train_loss"][-1] < run["train_loss"][0]
    assert report["decode"]["args"]["random_config"].endswith("conf/tiny/train_st.yaml")
    assert all(rtf > 0 for rtf in report["decode"]["rtf"].values())

    recipe = summary["recipe"]
    assert sorted(int(s) for s in recipe["stages_done"]) == [1, 3] and recipe["last_stage_begun"] == 3  # 2: no sp
    run_log = (out / "recipe" / "run.log").read_text()
    assert "Stage 1: data preparation: local/data.sh --level hard --size tiny" in run_log
    assert (tmp_path / "work" / "ctcot" / "egs2" / "mini_st" / "st1" / "data" / "train" / "wav.scp").is_file()

    results = (out / "RESULTS.md").read_text()
    assert "| gpu_check | FAILED (exit 1) |" in results and "| recipe | ok |" in results
    assert "| test_ot | FAILED (exit 124) |" in results and "| fp32 | ctc_ot |" in results
    assert "Stages done: 1 (" in results
    assert (out / "ot_time.png").stat().st_size > 1000

    bad = subprocess.run([str(REPO / "bench" / "gpu_run.sh"), "--device", "tpu", str(out)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--device cuda or cpu" in bad.stderr
    bad = subprocess.run([str(REPO / "bench" / "gpu_check.sh"), "--limit", "decode"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--limit STEP=SECONDS" in bad.stderr
