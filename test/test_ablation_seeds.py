"""Pre-training seeds in the ablation (--pretrain_seeds): the plan, and the zero-shot and cascade report."""
import json
import statistics
from pathlib import Path

import pytest
from scipy import stats

from ctcot.ablation import Variant, plan_jobs, pretrain_tags, st_pretrain_tag
from ctcot.ablation_report import collect_pretrain_runs, write_summary, zero_shot_significance, zero_shot_summary
from ctcot.recipe import stage_number

DATA = Path(__file__).parent / "data"


def option(job, name):
    return job.args[job.args.index(name) + 1]


# The plans of the ablation before --pretrain_seeds, made by it (test/data/ablation_plans.json).
PLANS_BEFORE = {
    "all_mtdec_both": ([Variant(p, d) for p in ("none", "ce", "ctc", "ctc_ce", "ctc_ot", "ctc_ot_frozen")
                        for d in (False, True)], [1, 2, 3], "--max_epoch 5", True),
    "multitask_nogap": ([Variant(p, True, m) for m in (False, True) for p in ("none", "ctc", "ctc_ot")],
                        [4, 2], "", False),
    "no_mt": ([Variant("ctc", False), Variant("none", False)], [7], "", True),
}


@pytest.mark.parametrize("case", sorted(PLANS_BEFORE))
def test_one_pretraining_seed_is_the_plan_of_before(case):
    variants, seeds, st_args, gap = PLANS_BEFORE[case]
    expected = json.loads((DATA / "ablation_plans.json").read_text())[case]
    for jobs in (plan_jobs(variants, seeds, st_args, gap=gap),
                 plan_jobs(variants, seeds, st_args, gap=gap, pretrain_seeds=1)):
        assert [dict(name=j.name, args=j.args, after=list(j.after), seed=j.seed) for j in jobs] == expected


def test_three_pretraining_seeds():
    variants = [Variant("none", True), Variant("ctc_ot", False), Variant("ctc_ot", True), Variant("ctc", True)]
    seeds = [5, 9, 2, 7]
    jobs = plan_jobs(variants, seeds, "--max_epoch 2", pretrain_seeds=3, pretrain_args="--max_epoch 4")
    names = [j.name for j in jobs]
    assert names[:7] == ["shared", "pretrain_ctc_ot_pseed1", "pretrain_ctc_pseed1", "pretrain_ctc_ot_pseed2",
                         "pretrain_ctc_pseed2", "pretrain_ctc_ot_pseed3", "pretrain_ctc_pseed3"]
    assert names[7:13] == ["gap_ctc_ot_pseed1", "gap_ctc_pseed1", "gap_ctc_ot_pseed2", "gap_ctc_pseed2",
                           "gap_ctc_ot_pseed3", "gap_ctc_pseed3"]
    for job in jobs:  # dependencies come earlier in the list
        assert all(dep in names[:names.index(job.name)] for dep in job.after)
    by_name = {j.name: j for j in jobs}
    for pretrain in ("ctc", "ctc_ot"):
        for k in (1, 2, 3):
            job = by_name[f"pretrain_{pretrain}_pseed{k}"]
            assert job.after == ("shared",)
            assert option(job, "--pretrain") == pretrain and option(job, "--pretrain_tag") == f"{pretrain}_pseed{k}"
            assert option(job, "--pretrain_args") == f"--max_epoch 4 --seed {k}"
            assert option(job, "--stage") == option(job, "--stop_stage") == str(stage_number("pretrain"))
            gap = by_name[f"gap_{pretrain}_pseed{k}"]
            assert gap.after == (f"pretrain_{pretrain}_pseed{k}",)
            assert option(gap, "--pretrain_tag") == f"{pretrain}_pseed{k}" and option(gap, "--gap_curves") == "true"
            assert option(gap, "--stage") == str(stage_number("gap")) and "--pretrain_args" not in gap.args
    st = [j for j in jobs if j.name.startswith("st_")]
    assert [(j.variant, j.seed) for j in st] == [(v, s) for s in seeds for v in variants]
    assert len(jobs) == 1 + 6 + 6 + 16
    # The i-th ST seed starts from pre-training seed (i - 1) mod 3 + 1; its ST tag is as before.
    for i, seed in enumerate(seeds, 1):
        k = (i - 1) % 3 + 1
        for variant in variants:
            job = by_name[f"st_{variant.st_tag(seed)}"]
            assert option(job, "--st_tag") == variant.st_tag(seed) == f"{variant.tag}_seed{seed}"
            assert option(job, "--st_args") == f"--max_epoch 2 --seed {seed}"
            if variant.pretrain == "none":
                assert job.after == ("shared",) and "--pretrain_tag" not in job.args
            else:
                tag = f"{variant.pretrain}_pseed{k}"
                assert job.after == ("shared", f"pretrain_{tag}") and option(job, "--pretrain_tag") == tag
                assert st_pretrain_tag(variant.pretrain, i - 1, 3) == tag
    assert option(by_name["st_ctc_ot_seed7"], "--pretrain_tag") == "ctc_ot_pseed1"  # the 4th seed: back to 1


def test_pretraining_seed_tags_and_bad_counts():
    assert pretrain_tags("ctc_ot") == pretrain_tags("ctc_ot", 1) == ["ctc_ot"]
    assert pretrain_tags("ctc", 2) == ["ctc_pseed1", "ctc_pseed2"]
    assert [st_pretrain_tag("ctc", i) for i in range(3)] == ["ctc"] * 3
    # One pre-training seed and extra pre-training options: the same jobs, with --pretrain_args.
    jobs = plan_jobs([Variant("ctc", True)], [1, 2], pretrain_args="--max_epoch 4")
    assert [j.name for j in jobs] == ["shared", "pretrain_ctc", "gap_ctc", "st_ctc_mtdec_seed1", "st_ctc_mtdec_seed2"]
    assert option(jobs[1], "--pretrain_args") == "--max_epoch 4" and "--pretrain_tag" not in jobs[1].args
    # More pre-training seeds than ST seeds: every pre-training run (and its gap job) is planned.
    jobs = plan_jobs([Variant("ctc", True)], [1], pretrain_seeds=3)
    assert [j.name for j in jobs if j.name.startswith(("pretrain_", "gap_"))] == [
        "pretrain_ctc_pseed1", "pretrain_ctc_pseed2", "pretrain_ctc_pseed3",
        "gap_ctc_pseed1", "gap_ctc_pseed2", "gap_ctc_pseed3"]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="pretrain_seeds must be a whole number of at least 1"):
            plan_jobs([Variant("ctc", True)], [1], pretrain_seeds=bad)


# --- the zero-shot and cascade report ---------------------------------------------------------------

ZERO_SHOT = {"ctc_ot": [10.0, 11.0, 12.5], "ctc_compress_ot": [12.0, 13.0, 13.5]}
CASCADE = {"ctc_ot": [9.0, 9.5, 11.0], "ctc_compress_ot": [8.0, 9.0, 9.25]}
CTC_ERROR = {"ctc_ot": [0.2, 0.22, 0.19], "ctc_compress_ot": [0.3, 0.25, 0.26]}


def write_json(path: Path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def write_pretrain_run(expdir: Path, tag: str, test_set: str, zero_shot=None, cascade=None, error_rate=None):
    """What stage 12 writes in exp/pretrain_<tag>: the zero-shot ST's and the cascade's result.json (chrF
    2 x BLEU), the cascade's ctc_error.json."""
    exp = expdir / f"pretrain_{tag}"
    for name, bleu in (("zero_shot", zero_shot), ("cascade", cascade)):
        if bleu is not None:
            write_json(exp / name / "decode_decode_st" / test_set / "result.json",
                       dict(bleu=bleu, chrf=2 * bleu, ter=70.0, num_sentences=100))
    if error_rate is not None:
        write_json(exp / "cascade" / test_set / "ctc_error.json",
                   dict(error_rate=error_rate, substitutions=1, deletions=2, insertions=0, reference_tokens=10))


def fake_three_seed_tree(expdir: Path, cascade: bool = True):
    for pretrain in ZERO_SHOT:
        for k in (1, 2, 3):
            write_pretrain_run(expdir, f"{pretrain}_pseed{k}", "test", ZERO_SHOT[pretrain][k - 1],
                               CASCADE[pretrain][k - 1] if cascade else None,
                               CTC_ERROR[pretrain][k - 1] if cascade else None)
        write_pretrain_run(expdir, f"{pretrain}_pseed1", "dev", 99.0, 99.0, 0.9)  # another set: ignored
    write_pretrain_run(expdir, "ctc_ot", "test", 50.0, 50.0, 0.5)  # the run of one pre-training seed: not these


def welch(a, b):
    return stats.ttest_ind(a, b, equal_var=False, alternative="greater")


def test_zero_shot_and_cascade_over_pretraining_seeds(tmp_path):
    expdir = tmp_path / "exp"
    fake_three_seed_tree(expdir)
    pretrains = ["ctc_ot", "ctc_compress_ot"]
    runs = collect_pretrain_runs(expdir, ["none", *pretrains], 3, "test")
    assert [(r["tag"], r["pretrain_seed"]) for r in runs] == [
        (f"{p}_pseed{k}", k) for p in pretrains for k in (1, 2, 3)]
    assert runs[1]["zero_shot_bleu"] == 11.0 and runs[1]["cascade_chrf"] == 19.0 and runs[1]["ctc_error_rate"] == 0.22
    assert runs[1]["zero_shot_result"].endswith("pretrain_ctc_ot_pseed2/zero_shot/decode_decode_st/test/result.json")

    rows = {r["pretrain"]: r for r in zero_shot_summary(runs, pretrains)}
    for pretrain in pretrains:
        row = rows[pretrain]
        assert row["zero_shot_tags"] == row["cascade_tags"] == [f"{pretrain}_pseed{k}" for k in (1, 2, 3)]
        assert row["zero_shot_bleu_mean"] == pytest.approx(statistics.fmean(ZERO_SHOT[pretrain]))
        assert row["zero_shot_bleu_std"] == pytest.approx(statistics.stdev(ZERO_SHOT[pretrain]))
        assert row["cascade_bleu_mean"] == pytest.approx(statistics.fmean(CASCADE[pretrain]))
        assert row["cascade_chrf_std"] == pytest.approx(2 * statistics.stdev(CASCADE[pretrain]))
        ratio = statistics.fmean(ZERO_SHOT[pretrain]) / statistics.fmean(CASCADE[pretrain])
        assert row["ratio"] == pytest.approx(ratio)
        assert row["ctc_error_rate_mean"] == pytest.approx(statistics.fmean(CTC_ERROR[pretrain]))

    tests = {(t["claim"], t["metric"]): t for t in zero_shot_significance(runs, pretrains)}
    assert set(tests) == {(c, m) for c in ("ctc_ot: zero-shot > cascade", "ctc_compress_ot: zero-shot > cascade",
                                           "ctc_compress_ot > ctc_ot, zero-shot") for m in ("bleu", "chrf")}
    for claim, a, b in (("ctc_ot: zero-shot > cascade", ZERO_SHOT["ctc_ot"], CASCADE["ctc_ot"]),
                        ("ctc_compress_ot: zero-shot > cascade", ZERO_SHOT["ctc_compress_ot"],
                         CASCADE["ctc_compress_ot"]),
                        ("ctc_compress_ot > ctc_ot, zero-shot", ZERO_SHOT["ctc_compress_ot"], ZERO_SHOT["ctc_ot"])):
        for metric, scale in (("bleu", 1), ("chrf", 2)):
            test, expected = tests[(claim, metric)], welch([scale * x for x in a], [scale * x for x in b])
            assert test["skipped"] is None and test["seeds"] == [3, 3]
            assert test["p"] == pytest.approx(expected.pvalue) and test["t"] == pytest.approx(expected.statistic)
            assert test["df"] == pytest.approx(expected.df)
            assert test["difference"] == pytest.approx(scale * (statistics.fmean(a) - statistics.fmean(b)))
    assert tests[("ctc_compress_ot > ctc_ot, zero-shot", "bleu")]["groups"] == [
        "ctc_compress_ot zero-shot", "ctc_ot zero-shot"]
    # The other direction is the same test: p and 1 - p.
    reverse = welch(CASCADE["ctc_ot"], ZERO_SHOT["ctc_ot"]).pvalue
    assert tests[("ctc_ot: zero-shot > cascade", "bleu")]["p"] == pytest.approx(1 - reverse)


def with_ctc_compress_ot(monkeypatch):
    """ctc_compress_ot among the pre-trainings (a row of ctcot.recipe.PRETRAININGS)."""
    import ctcot.bin.ablation
    import ctcot.recipe

    pretrains = tuple(dict.fromkeys((*ctcot.recipe.PRETRAINS, "ctc_compress_ot")))
    monkeypatch.setattr(ctcot.recipe, "PRETRAINS", pretrains)
    monkeypatch.setattr(ctcot.bin.ablation, "PRETRAINS", pretrains)


def test_results_md_and_json_with_three_pretraining_seeds(tmp_path, monkeypatch):
    with_ctc_compress_ot(monkeypatch)
    expdir = tmp_path / "exp"
    fake_three_seed_tree(expdir)
    for k, (sinkhorn, bleu) in enumerate(((1.0, 10.0), (2.0, 11.0), (4.5, 12.5)), 1):  # ctc_ot's gap.json
        write_json(expdir / f"pretrain_ctc_ot_pseed{k}" / "modality_gap_dev" / "gap.json",
                   dict(sinkhorn=sinkhorn, cosine_margin=0.1 * k, linear_cka=None, retrieval_top1=0.5,
                        zero_shot=dict(test=dict(bleu=bleu, chrf=2 * bleu))))
    variants = [Variant("ctc_ot", True), Variant("ctc_compress_ot", True)]
    text = write_summary(tmp_path / "out", expdir, variants, [1, 2, 3], "test", "dev", pretrain_seeds=3).read_text()
    assert "Each pre-training ran 3 times" in text
    # The main table: means over the pre-training runs.
    row = next(line for line in text.splitlines() if line.startswith("| ctc_ot |"))
    assert row.endswith("| 0 | 11.17 | 2.500 | 0.200 | – | 0.500 |")
    assert "## Zero-shot and cascade" in text
    assert ("| pre-training | runs (zero-shot/cascade) | zero-shot BLEU (test) | cascade BLEU (test) | "
            "zero-shot / cascade | CTC error rate (%) |") in text
    zs, cascade, error = ZERO_SHOT["ctc_compress_ot"], CASCADE["ctc_compress_ot"], CTC_ERROR["ctc_compress_ot"]
    assert (f"| ctc_compress_ot | 3/3 | {statistics.fmean(zs):.2f} ± {statistics.stdev(zs):.2f} | "
            f"{statistics.fmean(cascade):.2f} ± {statistics.stdev(cascade):.2f} | "
            f"{statistics.fmean(zs) / statistics.fmean(cascade):.2f} | "
            f"{100 * statistics.fmean(error):.2f} ± {100 * statistics.stdev(error):.2f} |") in text
    p = welch(ZERO_SHOT["ctc_compress_ot"], ZERO_SHOT["ctc_ot"]).pvalue
    assert "| ctc_compress_ot > ctc_ot, zero-shot | BLEU | 12.83 | 11.17 | +1.67 |" in text
    assert f"| {p:.3g}{' *' if p < 0.05 else ''} | 3/3 |" in text
    summary = json.loads((tmp_path / "out" / "results.json").read_text())
    assert summary["pretrain_seeds"] == 3 and len(summary["pretrain_runs"]) == 6
    assert sorted(summary["gaps"]) == ["ctc_ot_pseed1", "ctc_ot_pseed2", "ctc_ot_pseed3"]  # each run's
    assert [r["pretrain"] for r in summary["zero_shot_cascade"]] == ["ctc_ot", "ctc_compress_ot"]
    tests = {(t["claim"], t["metric"]): t for t in summary["zero_shot_significance"]}
    assert tests[("ctc_compress_ot > ctc_ot, zero-shot", "bleu")]["p"] == pytest.approx(p)
    assert tests[("ctc_ot: zero-shot > cascade", "chrf")]["p"] == pytest.approx(
        welch([2 * x for x in ZERO_SHOT["ctc_ot"]], [2 * x for x in CASCADE["ctc_ot"]]).pvalue)


def test_without_a_cascade_only_the_zero_shot(tmp_path, monkeypatch):
    with_ctc_compress_ot(monkeypatch)
    expdir = tmp_path / "exp"
    fake_three_seed_tree(expdir, cascade=False)
    variants = [Variant("ctc_ot", False), Variant("ctc_compress_ot", False)]
    text = write_summary(tmp_path / "out", expdir, variants, [1], "test", "dev", pretrain_seeds=3).read_text()
    assert "| ctc_ot | 3/0 | 11.17 ± 1.26 | – | – | – |" in text
    assert "| ctc_compress_ot | – | – | 0 | 12.83 | – | – | – | – |" in text  # no gap.json: the result.json's
    summary = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {t["claim"] for t in summary["zero_shot_significance"]} == {"ctc_compress_ot > ctc_ot, zero-shot"}
    assert all(r["cascade_bleu"] is None and r["ctc_error_rate"] is None for r in summary["pretrain_runs"])
    # One pre-training seed (the default): its one run each; the test is kept, skipped.
    text = write_summary(tmp_path / "out1", expdir, variants, [1], "test", "dev").read_text()
    assert "| ctc_ot | 1/1 | 50.00 ± 0.00 | 50.00 ± 0.00 | 1.00 | 50.00 ± 0.00 |" in text
    assert "| ctc_compress_ot |" not in text.split("## Zero-shot and cascade")[1].split("Welch")[0]
    tests = json.loads((tmp_path / "out1" / "results.json").read_text())["zero_shot_significance"]
    assert [(t["claim"], t["skipped"]) for t in tests] == [
        ("ctc_ot: zero-shot > cascade", "fewer than 2 pre-training seeds (ctc_ot zero-shot: 1, ctc_ot cascade: 1)")] * 2
    # No pre-training run has a result: no section.
    text = write_summary(tmp_path / "out2", tmp_path / "empty", variants, [1], "test", "dev").read_text()
    assert "Zero-shot and cascade" not in text


def test_several_zero_shot_decodings_must_be_chosen(tmp_path):
    expdir = tmp_path / "exp"
    write_pretrain_run(expdir, "ctc", "test", 5.0)
    write_json(expdir / "pretrain_ctc/zero_shot/decode_other/test/result.json", dict(bleu=6.0, chrf=1.0))
    with pytest.raises(ValueError, match="choose one with --zero_shot_decode_dir"):
        collect_pretrain_runs(expdir, ["ctc"], 1, "test")
    assert collect_pretrain_runs(expdir, ["ctc"], 1, "test", "decode_other")[0]["zero_shot_bleu"] == 6.0


def test_the_cli_plans_pretraining_seeds_and_takes_any_pretraining(tmp_path, monkeypatch, capsys):
    from ctcot.bin.ablation import get_parser, main

    with_ctc_compress_ot(monkeypatch)
    help_text = get_parser().format_help()
    assert "--pretrain_seeds" in help_text and "--pretrain_args" in help_text and "ctc_compress_ot" in help_text
    monkeypatch.chdir(tmp_path)
    run_sh = tmp_path / "run.sh"
    run_sh.write_text("#!/usr/bin/env bash\n"
                      "if [[ \" $* \" == *' --print_sets true '* ]]; then\n"
                      "  printf 'train_set=train\\nvalid_set=dev\\ntest_sets=test\\nexpdir=exp\\n'; exit 0\nfi\n"
                      f"echo \"$*\" >> {tmp_path}/calls\n")
    run_sh.chmod(0o755)
    common = ["--run_sh", str(run_sh), "--pretrains", "ctc_ot", "ctc_compress_ot", "--mt_decoder_init", "true",
              "--seeds", "1", "2"]
    assert main([*common, "--pretrain_seeds", "0"]) == 2
    assert main([*common, "--pretrain_seeds", "2", "--pretrain_args", "--max_epoch 4"]) == 0
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 1 + 4 + 4 + 4
    assert sum("--pretrain ctc_compress_ot --pretrain_tag ctc_compress_ot_pseed2 --pretrain_args --max_epoch 4 "
               "--seed 2" in c for c in calls) == 1
    st = [c for c in calls if "--st_tag ctc_compress_ot_mtdec_seed2 " in c]
    assert len(st) == 1 and "--pretrain_tag ctc_compress_ot_pseed2 " in st[0]
    fake_three_seed_tree(tmp_path / "exp")
    capsys.readouterr()
    assert main([*common, "--pretrain_seeds", "3", "--summarize_only"]) == 0
    assert "| ctc_compress_ot > ctc_ot, zero-shot | BLEU |" in capsys.readouterr().out


def test_st_sh_finds_each_pretraining_run_from_the_planned_options():
    """What st.sh derives (ctcot.recipe.recipe_settings) from each job's options: the pre-training run's
    experiment, its model (what ST starts from), its zero-shot and gap directories; ST tags unchanged."""
    from test_recipe_rules import settings

    jobs = {j.name: j for j in plan_jobs([Variant("ctc_ot", True)], [4, 8], pretrain_seeds=2)}

    def derived(job):
        pairs = zip(job.args[::2], job.args[1::2])
        return settings(**{name[2:]: value for name, value in pairs if name[2:] not in ("stage", "stop_stage")})

    pretrain = derived(jobs["pretrain_ctc_ot_pseed2"])
    assert pretrain["pretrain_exp"] == "exp/pretrain_ctc_ot_pseed2"
    gap = derived(jobs["gap_ctc_ot_pseed2"])
    assert gap["zero_shot_dir"] == "exp/pretrain_ctc_ot_pseed2/zero_shot"
    assert gap["gap_dir"].startswith("exp/pretrain_ctc_ot_pseed2/modality_gap_")
    st = derived(jobs["st_ctc_ot_mtdec_seed8"])
    assert st["st_exp"] == "exp/st_ctc_ot_mtdec_seed8" and st["pretrain_exp"] == "exp/pretrain_ctc_ot_pseed2"
    assert "exp/pretrain_ctc_ot_pseed2/valid.loss.ave.pth:encoder:encoder" in st["st_init_params"]
    # One pre-training seed: the experiments of before.
    jobs = {j.name: j for j in plan_jobs([Variant("ctc_ot", True)], [4])}
    assert derived(jobs["st_ctc_ot_mtdec_seed4"])["pretrain_exp"] == "exp/pretrain_ctc_ot"
