"""bench/gpu_check.sh on CPU (its reduced sizes): every step runs and the report gathers them."""
import json
import subprocess

from conftest import REPO


def test_gpu_check_runs_on_cpu_and_reports(tmp_path):
    result = subprocess.run([str(REPO / "bench" / "gpu_check.sh"), "--device", "cpu", "--output_dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert set(report["steps"]) >= {"test_ot", "bench_ot", "bench_step_fp32", "bench_step_bf16", "train_check"}
    assert all(step["status"] == 0 for step in report["steps"].values())
    assert [(r["S"], r["T"]) for r in report["ot"]["rows"]] == [(100, 20), (300, 20)]
    assert all(r["rel_error"]["ctcot"] < 1e-5 for r in report["ot"]["rows"])
    for precision in ("fp32", "bf16"):
        results = report["step"][precision]["results"]
        assert set(results) == {"ctc_ot", "ctc", "st", "sinkhorn"} and results["ctc_ot"]["utts_per_s"] > 0
    run = report["train_check"]["runs"][0]
    assert run["ok"] and run["train_loss"][-1] < run["train_loss"][0]
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| fp32 | ctc_ot |" in table and "geomloss / ctcot" in table

    bad = subprocess.run([str(REPO / "bench" / "gpu_check.sh"), "--device", "tpu"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--device cuda or cpu" in bad.stderr
