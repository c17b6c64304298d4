"""The ablation driver: its plan, its scheduler, its table and its significance tests."""
import json
import os
import statistics
import time
from pathlib import Path

import pytest
from scipy import stats

from ctcot.ablation import Variant, plan_jobs, run_jobs
from ctcot.ablation_report import (
    collect_runs,
    figure5,
    plot_figure5,
    significance,
    summarize,
    welch_contrast,
    write_summary,
)
from ctcot.recipe import stage_number

PRETRAIN_CTC = f"--stage {stage_number('pretrain')} --stop_stage {stage_number('pretrain')} --pretrain ctc"

ALL = [Variant(p, d) for p in ("none", "ce", "ctc", "ctc_ce", "ctc_ot") for d in (False, True)]


def option(job, name):
    return job.args[job.args.index(name) + 1]


def test_plan_shares_stages_and_orders_dependencies():
    jobs = plan_jobs(ALL, [1, 2, 3], "--max_epoch 5")
    names = [j.name for j in jobs]
    assert names[:5] == ["shared", "pretrain_ce", "pretrain_ctc", "pretrain_ctc_ce", "pretrain_ctc_ot"]
    assert [n for n in names if n.startswith("gap_")] == ["gap_ce", "gap_ctc", "gap_ctc_ce", "gap_ctc_ot"]
    st = [j for j in jobs if j.name.startswith("st_")]
    assert len(st) == 30 and len(jobs) == 1 + 4 + 4 + 30
    # Every seed of every variant once; seed-major order, so early results cover all variants.
    assert [(j.variant, j.seed) for j in st] == [(v, s) for s in (1, 2, 3) for v in ALL]
    for job in jobs:  # dependencies come earlier in the list
        assert all(dep in names[:names.index(job.name)] for dep in job.after)
    job = next(j for j in st if j.name == "st_ctc_ot_mtdec_seed2")
    assert job.after == ("shared", "pretrain_ctc_ot")
    assert option(job, "--st_args") == "--max_epoch 5 --seed 2"
    assert option(job, "--st_tag") == "ctc_ot_mtdec_seed2"
    assert option(job, "--st_init_decoder_from_mt") == "true"
    assert option(job, "--stage") == str(stage_number("st_train"))
    assert option(job, "--stop_stage") == str(stage_number("st_score"))
    assert next(j for j in st if j.name == "st_none_seed1").after == ("shared",)
    assert option(next(j for j in jobs if j.name == "gap_ctc"), "--gap_curves") == "true"  # off in run.sh
    # The shared stages train the MT model because some variant uses it.
    assert option(jobs[0], "--pretrain") == "ctc_ot" and option(jobs[0], "--stop_stage") == str(stage_number("mt"))


def test_plan_without_mt_has_no_mt_and_no_gap():
    jobs = plan_jobs([Variant("ctc", False), Variant("none", False)], [7])
    assert [j.name for j in jobs] == ["shared", "pretrain_ctc", "st_ctc_seed7", "st_none_seed7"]
    assert option(jobs[0], "--st_init_decoder_from_mt") == "false" and option(jobs[0], "--pretrain") == "none"


@pytest.mark.parametrize("variants, seeds, message", [
    ([Variant("ctc_ot_x", True)], [1], "unknown pre-training 'ctc_ot_x'"),
    ([Variant("ctc", True)], [1, 1], "seeds must be distinct"),
    ([], [1], "at least one variant"),
])
def test_plan_rejects_bad_requests(variants, seeds, message):
    with pytest.raises(ValueError, match=message):
        plan_jobs(variants, seeds)


def test_scheduler_runs_in_dependency_order_in_parallel_and_skips_after_failures(tmp_path):
    # A fake run.sh: records start/end times, sleeps, fails for pretrain_ctc.
    script = tmp_path / "run.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f"echo \"start $* $(date +%s.%N)\" >> {tmp_path}/calls\n"
        "sleep 0.3\n"
        f"if [ \"$*\" = '{PRETRAIN_CTC}' ]; then exit 3; fi\n"
        f"echo \"end $* $(date +%s.%N)\" >> {tmp_path}/calls\n")
    script.chmod(0o755)
    jobs = plan_jobs([Variant("none", True), Variant("ctc", True), Variant("ctc_ot", True)], [1, 2])
    done = []
    status = run_jobs(jobs, [str(script)], tmp_path / "logs", parallel=3,
                      on_done=lambda job, s, seconds: done.append(job.name))
    assert status["pretrain_ctc"] == "failed"
    assert status["gap_ctc"] == status["st_ctc_mtdec_seed1"] == status["st_ctc_mtdec_seed2"] == "skipped"
    assert all(status[n] == "done" for n in ("shared", "pretrain_ctc_ot", "gap_ctc_ot", "st_none_mtdec_seed1",
                                            "st_ctc_ot_mtdec_seed2"))
    assert "st_ctc_mtdec_seed1" not in done  # skipped jobs never ran
    calls = [line.split() for line in (tmp_path / "calls").read_text().splitlines()]
    times = {(c[0], " ".join(c[1:-1])): float(c[-1]) for c in calls}
    shared_end = times[("end", " ".join(jobs[0].args))]
    assert all(t >= shared_end for (kind, _), t in times.items() if kind == "start" and _ != " ".join(jobs[0].args))
    # Several jobs overlapped: some job started before another one ended.
    starts = sorted(t for (k, _), t in times.items() if k == "start")
    ends = sorted(t for (k, _), t in times.items() if k == "end")
    assert starts[2] < ends[1]
    assert (tmp_path / "logs" / "pretrain_ctc.log").read_text().startswith(f"# {script} {PRETRAIN_CTC}")


def test_an_interrupted_ablation_stops_its_running_jobs(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/usr/bin/env bash\n"
                      f"if [ \"$*\" = '{PRETRAIN_CTC}' ]; then echo $$ > {tmp_path}/pid; sleep 60; fi\n")
    script.chmod(0o755)

    def interrupt(job, status, seconds):
        if job.name == "pretrain_ce":
            while not (tmp_path / "pid").exists():
                time.sleep(0.05)
            raise KeyboardInterrupt

    jobs = plan_jobs([Variant("ce", False), Variant("ctc", False)], [1])
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_jobs(jobs, [str(script)], tmp_path / "logs", parallel=2, on_done=interrupt, poll_seconds=0.05)
    assert time.monotonic() - start < 30
    with pytest.raises(ProcessLookupError):  # the sleeping job was stopped
        os.kill(int((tmp_path / "pid").read_text()), 0)


def write_result(expdir: Path, tag: str, test_set: str, bleu: float, chrf: float):
    path = expdir / f"st_{tag}" / "decode_decode_st_valid.acc.ave" / test_set / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(dict(bleu=bleu, chrf=chrf, ter=80.0, num_sentences=200)))


def test_summary_table_statistics_and_plot(tmp_path):
    expdir = tmp_path / "exp"
    variants = [Variant("ce", False), Variant("ce", True), Variant("ctc_ot", True)]
    scores = {"ce": [1.0, 2.0, 4.0], "ce_mtdec": [3.0, 3.5, 4.5], "ctc_ot_mtdec": [5.0, 6.0]}  # a seed missing
    for tag, values in scores.items():
        for seed, bleu in enumerate(values, 1):
            write_result(expdir, f"{tag}_seed{seed}", "test", bleu, 10 * bleu)
    write_result(expdir, "ce_seed1", "dev", 99.0, 99.0)  # another set: ignored
    gap = expdir / "pretrain_ctc_ot" / "modality_gap_dev" / "gap.json"
    gap.parent.mkdir(parents=True)
    gap.write_text(json.dumps(dict(sinkhorn=1.2345, cosine_margin=0.5, linear_cka=0.75, retrieval_top1=0.9,
                                   zero_shot=dict(test=dict(bleu=7.891, chrf=30.0, ter=90.0, num_sentences=200)))))

    own = expdir / "pretrain_ctc_ot" / "modality_gap_dev_own_text" / "gap.json"
    own.parent.mkdir(parents=True)
    own.write_text(json.dumps(dict(sinkhorn=0.5, cosine_margin=0.25, linear_cka=0.8, retrieval_top1=0.1,
                                   retrieval_chance_top1=0.005)))
    results_md = write_summary(tmp_path / "out", expdir, variants, [1, 2, 3], "test", "dev", "the command")
    text = results_md.read_text()
    assert "8 of 9 ST runs finished" in text and "Command: `the command`" in text
    ce = f"{statistics.fmean([1, 2, 4]):.2f} ± {statistics.stdev([1, 2, 4]):.2f}"
    row = next(line for line in text.splitlines() if line.startswith("| ce |"))
    assert row.split(" | ")[1] == ce  # BLEU with a random decoder
    assert row.split(" | ")[3] == f"{statistics.fmean([10, 20, 40]):.2f} ± {statistics.stdev([10, 20, 40]):.2f}"
    assert row.endswith("| 3 | – | – | – | – | – |")  # 3 seeds, no zero-shot BLEU or gap figures for ce
    row = next(line for line in text.splitlines() if line.startswith("| ctc_ot |"))
    assert row.split(" | ")[1] == "–" and row.split(" | ")[2] == "5.50 ± 0.71"
    assert row.endswith("| 2 | 7.89 | 1.234 | 0.500 | 0.750 | 0.900 |")
    assert "| ctc_ot | 0.500 | 0.250 | 0.800 | 0.100 | 0.005 |" in text  # against its own text encoder
    summary = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(summary["runs"]) == 8 and summary["gaps"]["ctc_ot"]["linear_cka"] == 0.75
    # None of these pairs is one of the paper's comparisons.
    assert summary["significance"] == [] and "None of the paper's comparisons is among these variants." in text
    assert len((tmp_path / "out" / "runs.tsv").read_text().splitlines()) == 9
    png = (tmp_path / "out" / "bleu_chrf.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert summarize([], variants) == []


def test_welch_contrast_against_a_hand_computation():
    groups = [[1, 2, 3], [0, 0, 3], [2, 4], [1, 1, 4, 6]]  # means 2, 1, 3, 3; variances 1, 3, 2, 6
    test = welch_contrast(groups, (1, -1, -1, 1))
    # estimate 2 - 1 - 3 + 3; Σ s²/n = 1/3 + 3/3 + 2/2 + 6/4 = 23/6;
    # df = (23/6)² / ((1/3)²/2 + 1²/2 + 1²/1 + 1.5²/3) = (529/36) / (83/36)
    assert test["estimate"] == pytest.approx(1.0)
    assert test["se"] == pytest.approx((23 / 6) ** 0.5)
    assert test["df"] == pytest.approx(529 / 83)
    assert test["t"] == pytest.approx(1 / (23 / 6) ** 0.5)
    assert test["p"] == pytest.approx(stats.t.sf(1 / (23 / 6) ** 0.5, 529 / 83))
    assert 0.3 < test["p"] < 0.4
    # The other direction: the complementary p-value.
    assert welch_contrast(groups, (-1, 1, 1, -1))["p"] == pytest.approx(1 - test["p"])
    with pytest.raises(ValueError, match="at least 2"):
        welch_contrast([[1.0], [1.0, 2.0]], (1, -1))
    with pytest.raises(ValueError, match="no variance"):
        welch_contrast([[1.0, 1.0], [2.0, 2.0]], (1, -1))


def test_welch_contrast_of_two_groups_is_scipys_welch_test():
    a, b = [20.1, 21.3, 19.8, 22.0], [18.0, 18.5, 17.2]
    test = welch_contrast([a, b], (1, -1))
    scipy_test = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert test["t"] == pytest.approx(scipy_test.statistic)
    assert test["df"] == pytest.approx(scipy_test.df)
    assert test["p"] == pytest.approx(scipy_test.pvalue)
    assert test["df"] != pytest.approx(len(a) + len(b) - 2)  # not the pooled-variance test


def test_summary_significance_table(tmp_path):
    expdir = tmp_path / "exp"
    scores = {"none_mtdec": [10.0, 10.6, 9.5], "ctc_mtdec": [14.0, 14.1, 13.8], "ctc_ot_mtdec": [14.1, 13.7, 14.0],
              "ctc": [8.0, 8.3, 7.9], "ce": [9.0, 9.2, 8.8], "ce_mtdec": [9.5]}  # no "none" run; ce_mtdec: 1 seed
    for tag, values in scores.items():
        for seed, bleu in enumerate(values, 1):
            write_result(expdir, f"{tag}_seed{seed}", "test", bleu, 3 * bleu)
    variants = [Variant(p, d) for p in ("none", "ce", "ctc", "ctc_ot") for d in (False, True)]
    results_md = write_summary(tmp_path / "out", expdir, variants, [1, 2, 3], "test", "dev")
    text = results_md.read_text()
    # After the existing table, with the test named.
    assert text.index("## Significance") > text.index("| ctc_ot |")
    assert "Welch's t-test over seeds, one-sided in the direction the paper claims; p < 0.05 marked" in text
    tests = {(t["claim"], t["metric"]): t for t in json.loads((tmp_path / "out" / "results.json").read_text())
             ["significance"]}
    assert len(tests) == 2 * 8  # 2 metrics x (2 x 2 vs none, 2 contrasts, 2 ctc_ot vs ctc)

    clear = tests[("ctc > none, MT dec.", "bleu")]  # clearly significant
    expected = stats.ttest_ind(scores["ctc_mtdec"], scores["none_mtdec"], equal_var=False, alternative="greater")
    assert clear["p"] == pytest.approx(expected.pvalue) and clear["p"] < 0.01
    assert clear["t"] == pytest.approx(expected.statistic) and clear["df"] == pytest.approx(expected.df)
    assert clear["mean_a"] == pytest.approx(13.9667, abs=1e-4)
    assert clear["difference"] == pytest.approx(3.9333, abs=1e-4)
    assert clear["seeds"] == [3, 3] and clear["skipped"] is None
    assert clear["df"] < 3.5  # Welch: unequal variances, fewer than the pooled test's 4
    row = next(line for line in text.splitlines() if line.startswith("| ctc > none, MT dec. | BLEU |"))
    assert row == (f"| ctc > none, MT dec. | BLEU | 13.97 | 10.03 | +3.93 | {clear['t']:.2f} | {clear['df']:.1f} | "
                   f"{clear['p']:.3g} * | 3/3 |")
    unclear = tests[("ctc_ot > ctc, MT dec.", "bleu")]  # clearly not significant
    assert unclear["p"] > 0.3 and unclear["difference"] < 0
    row = next(line for line in text.splitlines() if line.startswith("| ctc_ot > ctc, MT dec. | BLEU |"))
    assert row.split(" | ")[7] == f"{unclear['p']:.3g}"  # not marked
    # chrF is 3 x BLEU here: the same t and p.
    assert tests[("ctc > none, MT dec.", "chrf")]["p"] == pytest.approx(clear["p"])

    # Groups with fewer than 2 seeds: skipped, with the reason.
    assert tests[("ctc > none, random dec.", "bleu")]["skipped"] == "fewer than 2 seeds (none: 0)"
    contrast = tests[("MT-dec. gain: ctc > ce", "bleu")]
    assert contrast["skipped"] == "fewer than 2 seeds (ce_mtdec: 1)" and contrast["p"] is None
    assert contrast["groups"] == ["ctc_mtdec", "ctc", "ce_mtdec", "ce"] and contrast["seeds"] == [3, 3, 1, 3]
    skipped = "| – | – | – | – | – | skipped: fewer than 2 seeds (ce_mtdec: 1) | 3/3/1/3 |"
    assert f"| MT-dec. gain: ctc > ce | BLEU {skipped}" in text


def test_significance_contrast_of_the_mt_decoder_gain():
    gains = {("ctc", True): [20.0, 21.0, 22.5], ("ctc", False): [10.0, 10.5, 11.5],
             ("ce", True): [12.0, 12.4, 12.9], ("ce", False): [11.0, 11.5, 12.0, 11.2]}
    runs = [dict(pretrain=p, mt_decoder=d, seed=s, bleu=b, chrf=b) for (p, d), values in gains.items()
            for s, b in enumerate(values, 1)]
    variants = [Variant(p, d) for p, d in gains]
    tests = significance(runs, variants, metrics=("bleu",))
    assert [t["claim"] for t in tests] == ["MT-dec. gain: ctc > ce"]  # no none or ctc_ot: nothing else
    test = tests[0]
    hand = welch_contrast(list(gains.values()), (1, -1, -1, 1))
    assert test["difference"] == pytest.approx(hand["estimate"]) and test["p"] == pytest.approx(hand["p"])
    mean = statistics.fmean
    assert test["mean_a"] == pytest.approx(mean(gains[("ctc", True)]) - mean(gains[("ctc", False)]))
    assert test["mean_b"] == pytest.approx(mean(gains[("ce", True)]) - mean(gains[("ce", False)]))
    assert test["difference"] == pytest.approx(test["mean_a"] - test["mean_b"])  # ≈ 9.83 - 0.6
    assert test["p"] < 0.01 and test["seeds"] == [3, 3, 3, 4]


def test_figure5_gains_and_intervals_equal_the_table(tmp_path):
    expdir = tmp_path / "exp"
    scores = {"ce": [9.0, 9.4, 8.5], "ce_mtdec": [9.5, 9.9, 9.1], "ctc": [8.0, 8.3, 7.9],
              "ctc_mtdec": [14.0, 14.1, 13.8], "ctc_ot_mtdec": [15.0]}
    for tag, values in scores.items():
        for seed, bleu in enumerate(values, 1):
            write_result(expdir, f"{tag}_seed{seed}", "test", bleu, 3 * bleu)
    variants = [Variant(p, d) for p in ("ce", "ctc", "ctc_ot") for d in (False, True)]
    runs = collect_runs(expdir, variants, [1, 2, 3], "test")
    points = {p["tag"]: p for p in figure5(runs, variants)}
    assert list(points) == ["ce", "ce_mtdec", "ctc", "ctc_mtdec", "ctc_ot_mtdec"]
    assert points["ce"]["gain"] == 0 and points["ce"]["ci_low"] is None
    assert points["ctc_ot_mtdec"]["ci_low"] is None and points["ctc_ot_mtdec"]["seeds"] == 1  # one seed: no CI
    for tag in ("ce_mtdec", "ctc", "ctc_mtdec"):
        # scipy's Welch interval of the difference of means
        interval = stats.ttest_ind(scores[tag], scores["ce"], equal_var=False).confidence_interval(0.95)
        assert (points[tag]["ci_low"], points[tag]["ci_high"]) == pytest.approx((interval.low, interval.high))

    text = write_summary(tmp_path / "out", expdir, variants, [1, 2, 3], "test", "dev").read_text()
    means = {}  # the main table's BLEU means, by tag
    for line in text[:text.index("## Figure 5")].splitlines():
        cells = line.split(" | ")
        if line.startswith("| ") and cells[0][2:] in ("ce", "ctc", "ctc_ot"):
            for cell, suffix in zip(cells[1:3], ("", "_mtdec")):
                if cell != "–":
                    means[cells[0][2:] + suffix] = float(cell.split(" ± ")[0])
    assert text.index("## Figure 5") > text.index("| ctc_ot |")
    section = text[text.index("## Figure 5"):].splitlines()
    for tag in points:
        row = next(line for line in section if line.startswith(f"| {tag} | "))
        assert float(row.split(" | ")[1]) == pytest.approx(means[tag] - means["ce"], abs=0.011)
    assert "| ctc_mtdec | +5.00 | [" in text
    # The plot draws the same numbers.
    drawn = plot_figure5(figure5(runs, variants), ["ce", "ctc", "ctc_ot"], tmp_path / "f5.png")
    assert {d["tag"]: d["gain"] for d in drawn} == {t: p["gain"] for t, p in points.items()}
    assert (tmp_path / "out" / "figure5.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["figure5"][2]["tag"] == "ctc"


def test_summary_draws_every_pretrainings_gap_curve(tmp_path):
    from ctcot.gap_curves import read_curve, write_curve

    expdir = tmp_path / "exp"
    write_result(expdir, "ctc_seed1", "test", 5.0, 20.0)
    for pretrain, epochs in (("ctc", 3), ("ctc_ot", 2)):
        rows = [dict(epoch=e, model=f"{e}epoch.pth", sinkhorn=12.0 / e, linear_cka=0.25 * e, retrieval_top1=0.2,
                     cosine_margin=0.01, zero_shot_bleu=None if pretrain == "ctc" else 1.5 * e)
                for e in range(1, epochs + 1)]
        directory = expdir / f"pretrain_{pretrain}" / "modality_gap_dev"
        directory.mkdir(parents=True)
        write_curve(rows, directory, pretrain)
        assert read_curve(directory / "curves.tsv") == rows
    write_summary(tmp_path / "out", expdir, [Variant("ctc", False), Variant("ctc_ot", False)], [1], "test", "dev")
    lines = (tmp_path / "out" / "gap_curves.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:2] == ["pretrain", "epoch"] and len(lines) == 1 + 3 + 2
    assert lines[-1].split("\t")[:3] == ["ctc_ot", "2", "6"] and lines[-1].endswith("\t3")
    assert lines[1].endswith("\tNA")  # ctc: no zero-shot curve
    assert (tmp_path / "out" / "gap_curves.png").stat().st_size > 10_000


MULTITASK = [Variant(p, True, m) for m in (False, True) for p in ("none", "ctc", "ctc_ot")]


def test_plan_of_the_multitask_comparison():
    """Vanilla and multi-task ST from each pre-training, same options but --st_multitask; no stage 12."""
    jobs = plan_jobs(MULTITASK, [1, 2, 3], "--max_epoch 6", gap=False)
    assert [j.name for j in jobs][:3] == ["shared", "pretrain_ctc", "pretrain_ctc_ot"]
    assert not [j for j in jobs if j.name.startswith("gap_")]
    st = [j for j in jobs if j.name.startswith("st_")]
    assert len(st) == 18
    vanilla, multitask = (next(j for j in st if j.name == name)
                          for name in ("st_ctc_ot_mtdec_seed3", "st_ctc_ot_mtdec_multitask_seed3"))
    assert option(vanilla, "--st_multitask") == "false" and option(multitask, "--st_multitask") == "true"
    assert option(multitask, "--st_tag") == "ctc_ot_mtdec_multitask_seed3"
    # The same options otherwise: the same budget.
    differ = [(a, b) for a, b in zip(vanilla.args, multitask.args) if a != b]
    assert len(vanilla.args) == len(multitask.args)
    assert differ == [("false", "true"), ("ctc_ot_mtdec_seed3", "ctc_ot_mtdec_multitask_seed3")]
    assert option(jobs[0], "--pretrain") == "ctc_ot" and option(jobs[0], "--st_init_decoder_from_mt") == "true"


def test_summary_of_the_multitask_comparison(tmp_path):
    expdir = tmp_path / "exp"
    scores = {"none_mtdec": [10.0, 10.6, 9.5], "ctc_mtdec": [14.0, 14.1, 13.8], "ctc_ot_mtdec": [14.1, 14.6, 14.0],
              "none_mtdec_multitask": [11.0, 11.2, 10.1], "ctc_mtdec_multitask": [15.0, 15.3, 14.9],
              "ctc_ot_mtdec_multitask": [16.0, 15.2, 15.9]}
    for tag, values in scores.items():
        for seed, bleu in enumerate(values, 1):
            write_result(expdir, f"{tag}_seed{seed}", "test", bleu, 2 * bleu)
    text = write_summary(tmp_path / "out", expdir, MULTITASK, [1, 2, 3], "test", "dev").read_text()
    assert "| pre-training | BLEU, MT dec. | BLEU, multi-task | chrF, MT dec. | chrF, multi-task | seeds |" in text
    assert "| ctc_ot | 14.23 ± 0.32 | 15.70 ± 0.44 | 28.47 ± 0.64 | 31.40 ± 0.87 | 3 |" in text
    tests = {(t["claim"], t["metric"]): t for t in json.loads((tmp_path / "out" / "results.json").read_text())
             ["significance"]}
    claims = {claim for claim, _ in tests}
    assert claims == {"ctc > none, MT dec.", "ctc_ot > none, MT dec.", "ctc_ot > ctc, MT dec.",
                      "ctc > none, multi-task", "ctc_ot > none, multi-task", "ctc_ot > ctc, multi-task",
                      "multi-task > MT dec., none", "multi-task > MT dec., ctc", "multi-task > MT dec., ctc_ot"}
    for claim, a, b in (("multi-task > MT dec., ctc_ot", "ctc_ot_mtdec_multitask", "ctc_ot_mtdec"),
                        ("ctc_ot > none, multi-task", "ctc_ot_mtdec_multitask", "none_mtdec_multitask")):
        expected = stats.ttest_ind(scores[a], scores[b], equal_var=False, alternative="greater")
        assert tests[(claim, "bleu")]["p"] == pytest.approx(expected.pvalue)
        assert tests[(claim, "bleu")]["groups"] == [a, b]
    tsv = (tmp_path / "out" / "runs.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["pretrain", "mt_decoder", "multitask"] and len(tsv) == 1 + 18
    assert "ctc_ot\ttrue\ttrue\t3\t15.90\t31.80\t" in "\n".join(tsv)
    assert (tmp_path / "out" / "bleu_chrf.png").read_bytes().startswith(b"\x89PNG")


def fake_run_sh(path: Path, body: str = "", test_sets: str = "tst-COMMON.en-de tst-HE.en-de") -> Path:
    """A run.sh that names its sets as MuST-C's does (st.sh --print_sets) and otherwise runs ``body``."""
    path.write_text("#!/usr/bin/env bash\n"
                    "if [[ \" $* \" == *' --print_sets true '* ]]; then\n"
                    "  printf 'train_set=train.en-de\\nvalid_set=dev.en-de\\n'\n"
                    f"  printf 'test_sets={test_sets}\\nexpdir=exp\\n'; exit 0\n"
                    f"fi\n{body}\n")
    path.chmod(0o755)
    return path


def test_the_ablation_tabulates_the_test_set_that_run_sh_names(tmp_path, monkeypatch):
    """MuST-C's run.sh names its sets: the table uses them (it once said '0 of 1' and exited 0)."""
    from ctcot.bin.ablation import main

    monkeypatch.chdir(tmp_path)
    run_sh = fake_run_sh(tmp_path / "run.sh")
    write_result(tmp_path / "exp", "ctc_mtdec_seed1", "tst-COMMON.en-de", 21.5, 50.0)
    (tmp_path / "exp/st_ctc_mtdec_seed1/.done").write_text("x")
    gap = tmp_path / "exp/pretrain_ctc/modality_gap_dev.en-de/gap.json"
    gap.parent.mkdir(parents=True)
    gap.write_text(json.dumps(dict(sinkhorn=1.5, cosine_margin=0.1, linear_cka=0.2, retrieval_top1=0.3)))
    common = ["--run_sh", str(run_sh), "--pretrains", "ctc", "--mt_decoder_init", "true", "--seeds", "1"]
    assert main([*common, "--summarize_only"]) == 0
    text = (tmp_path / "exp/ablation/RESULTS.md").read_text()
    assert "1 of 1 ST runs finished" in text and "# Ablation: ST from each pre-training, tst-COMMON.en-de" in text
    assert "| ctc | 21.50 ± 0.00 | 50.00 ± 0.00 | 1 | – | 1.500 |" in text
    # The second test set has no result: an error naming what the run did score.
    assert main([*common, "--summarize_only", "--test_set", "tst-HE.en-de"]) == 1
    text = (tmp_path / "exp/ablation/RESULTS.md").read_text()
    assert "0 of 1 ST runs finished" in text
    assert "tst-HE.en-de/result.json does not exist (sets scored: tst-COMMON.en-de)" in text
    assert main([*common, "--summarize_only", "--test_set", "test"]) == 1  # not one of the recipe's sets


def test_a_finished_ablation_job_without_its_result_is_an_error(tmp_path, monkeypatch, caplog):
    """run.sh exits 0 but scores another set than the one tabulated: exit 1, not an empty table."""
    from ctcot.bin.ablation import main

    monkeypatch.chdir(tmp_path)
    body = ('for a in "$@"; do case "$prev" in --st_tag) tag=$a ;; esac; prev=$a; done\n'
            'if [ -n "${tag:-}" ]; then mkdir -p exp/st_$tag/decode_x/test; echo x > exp/st_$tag/.done;\n'
            '  echo \'{"bleu": 1, "chrf": 2, "ter": 3, "num_sentences": 4}\' \\\n'
            '    > exp/st_$tag/decode_x/test/result.json; fi')
    run_sh = fake_run_sh(tmp_path / "run.sh", body, test_sets="tst-COMMON.en-de")
    assert main(["--run_sh", str(run_sh), "--pretrains", "none", "--mt_decoder_init", "false", "--seeds", "1"]) == 1
    assert "exp/st_none_seed1/decode_*/tst-COMMON.en-de/result.json does not exist (sets scored: test)" in caplog.text


def test_killing_the_ablation_ends_its_jobs(tmp_path):
    """kill -9 of the ablation (or the OOM killer) ends each run.sh job with everything it started."""
    import signal
    import subprocess
    import sys

    # The job's run.sh starts a grandchild (as st.sh starts a training) and waits for it.
    run_sh = fake_run_sh(tmp_path / "run.sh", f"sleep 120 & echo $! > {tmp_path}/grandchild; wait")
    ablation = subprocess.Popen([sys.executable, "-m", "ctcot.bin.ablation", "--run_sh", str(run_sh),
                                 "--pretrains", "none", "--mt_decoder_init", "false", "--seeds", "1"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (tmp_path / "grandchild").is_file() or not (tmp_path / "grandchild").read_text().strip():
        assert time.monotonic() < deadline and ablation.poll() is None
        time.sleep(0.05)
    grandchild = int((tmp_path / "grandchild").read_text())
    ablation.send_signal(signal.SIGKILL)
    ablation.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the job's process outlived the ablation"
        time.sleep(0.05)


def test_held_locks_names_the_holder(tmp_path):
    import fcntl

    from ctcot.ablation import held_locks

    locks = tmp_path / ".locks"
    locks.mkdir()
    (locks / "free.lock").write_text("process 1, since then: ./run.sh\n")
    with open(locks / "st_ctc.lock", "w") as held:
        held.write("process 4242, since 2026-01-01T00:00:00: ./run.sh --stage 8\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert held_locks([locks, tmp_path / "absent"]) == [
            (locks / "st_ctc.lock", "process 4242, since 2026-01-01T00:00:00: ./run.sh --stage 8")]
    assert held_locks([locks]) == []


def test_compressed_pretraining_is_compared_with_ctc_ot_and_ctc_after_st(tmp_path):
    expdir = tmp_path / "exp"
    scores = {"ctc_mtdec": [34.0, 34.5, 34.2], "ctc_ot_mtdec": [35.0, 36.1, 35.4],
              "ctc_compress_ot_mtdec": [33.0, 36.0, 33.4]}
    for tag, values in scores.items():
        for seed, bleu in enumerate(values, 1):
            write_result(expdir, f"{tag}_seed{seed}", "test", bleu, 2 * bleu)
    variants = [Variant(p, True) for p in ("ctc", "ctc_ot", "ctc_compress_ot")]
    write_summary(tmp_path / "out", expdir, variants, [1, 2, 3], "test", "dev")
    tests = {(t["claim"], t["metric"]): t for t in json.loads((tmp_path / "out" / "results.json").read_text())
             ["significance"]}
    for other in ("ctc_ot", "ctc"):
        test = tests[(f"ctc_compress_ot > {other}, MT dec.", "bleu")]
        expected = stats.ttest_ind(scores["ctc_compress_ot_mtdec"], scores[f"{other}_mtdec"], equal_var=False,
                                   alternative="greater")
        assert test["p"] == pytest.approx(expected.pvalue)
        assert test["groups"] == ["ctc_compress_ot_mtdec", f"{other}_mtdec"]
