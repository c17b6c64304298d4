"""Pre-training seeds in the ablation (--pretrain_seeds): the plan, and the zero-shot and cascade report."""
import json
from pathlib import Path

import pytest

from ctcot.ablation import Variant, plan_jobs, pretrain_tags, st_pretrain_tag
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
