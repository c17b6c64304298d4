#!/usr/bin/env python3
"""Run the paper's ablation through a recipe's run.sh and tabulate it (see ctcot.ablation).

Usage (from a recipe directory, egs2/<corpus>/st1):
    python -m ctcot.bin.ablation --seeds 1 2 3 --parallel 2
    python -m ctcot.bin.ablation --seeds 1 2 3 --st_args "--max_epoch 5" -- --ngpu 1
    python -m ctcot.bin.ablation --summarize_only      # the table of what has finished

Trains ST from each of --pretrains, with a random and an MT-initialised decoder
(--mt_decoder_init), vanilla or multi-task (--multitask), once per seed, sharing data, features,
tokenizers, MT and pre-training. The paper's multi-task comparison:
    python -m ctcot.bin.ablation --pretrains none ctc ctc_ot --mt_decoder_init true --multitask false true
Pre-training seeds: with --pretrain_seeds N > 1, each pre-training runs N times (exp/pretrain_<type>_pseed<k>,
its training's --seed k), each with its stage 12 (zero-shot ST, cascade, modality gap), and the ST run of
the i-th seed given starts from pre-training seed (i - 1) mod N + 1; the zero-shot and cascade figures
are then tested over pre-training seeds (give --pretrain_seeds again with --summarize_only), e.g.
    python -m ctcot.bin.ablation --pretrains ctc_ot ctc_compress_ot --mt_decoder_init true --pretrain_seeds 3
Options after "--" go to every run.sh call (give them again with --summarize_only): the data
sets come from run.sh with them (st.sh --print_sets), so recipes that name their own sets
(MuST-C's tst-COMMON.en-de) are tabulated on their first test set, or on --test_set. Writes
<expdir>/ablation/{RESULTS.md, results.json, runs.tsv, bleu_chrf.png} after every finished run, and
each job's log to <expdir>/ablation/logs/. Running it again resumes: finished stages are skipped.
An ST run that finished without a result of the test set is an error (exit 1), named with the sets
it has. Killing the ablation (even with kill -9) ends its run.sh jobs.
"""
import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import List, Optional

from ctcot import InputError
from ctcot.ablation import Variant, held_locks, plan_jobs, recipe_sets, run_jobs
from ctcot.ablation_report import missing_results, write_summary
from ctcot.bin import setup_logging
from ctcot.recipe import PRETRAINS


def _parse_bool(text: str) -> bool:
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text == "true"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run_sh", default="./run.sh", help="the recipe's run script (default: %(default)s)")
    parser.add_argument("--pretrains", nargs="+", default=list(PRETRAINS), choices=PRETRAINS,
                        help="speech pre-trainings (default: all)")
    parser.add_argument("--mt_decoder_init", nargs="+", type=_parse_bool, default=[False, True],
                        help="ST decoder initialised from the MT decoder: false, true or both (default: both)")
    parser.add_argument("--multitask", nargs="+", type=_parse_bool, default=[False],
                        help="multi-task ST (st.sh --st_multitask): false, true or both (default: false)")
    parser.add_argument("--skip_gap", action="store_true",
                        help="leave out stage 12 (zero-shot swap, modality gap, gap curves) of the pre-trainings")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="ST training seeds (default: 1 2 3)")
    parser.add_argument("--pretrain_seeds", type=int, default=1,
                        help="runs of each pre-training, with seeds 1..N (exp/pretrain_<type>_pseed<k>); the i-th ST "
                             "seed starts from pre-training seed (i-1) mod N + 1 (default: 1, one pre-training, "
                             "exp/pretrain_<type>, for every ST seed)")
    parser.add_argument("--st_args", default="",
                        help="extra options of ESPnet's ST training for every run, e.g. '--max_epoch 5'")
    parser.add_argument("--pretrain_args", default="",
                        help="extra options of the pre-training program for every pre-training run, e.g. "
                             "'--max_epoch 5' (with --pretrain_seeds N > 1, '--seed <k>' is added)")
    parser.add_argument("--parallel", "--jobs", type=int, default=1, help="run.sh calls at once (default: 1)")
    parser.add_argument("--threads_per_job", type=int, default=0,
                        help="OMP_NUM_THREADS and decoding jobs of each call (default: CPU cores / --parallel)")
    parser.add_argument("--expdir", default="exp", help="the recipe's experiment directory (default: %(default)s)")
    parser.add_argument("--test_set", default=None,
                        help="the test set of the table, one of the recipe's test sets (default: its first)")
    parser.add_argument("--decode_dir", default="decode_*",
                        help="the decoding of each ST run to read, a glob that must match one (default: %(default)s)")
    parser.add_argument("--zero_shot_decode_dir", default="decode_*",
                        help="the decoding of each pre-training run's zero-shot ST and cascade to read, a glob that "
                             "must match one (default: %(default)s)")
    parser.add_argument("--output_dir", default=None, help="where the table goes (default: <expdir>/ablation)")
    parser.add_argument("--summarize_only", action="store_true", help="only write the table of finished runs")
    parser.add_argument("run_sh_args", nargs="*", help="options for every run.sh call (after '--')")
    return parser


def main(cmd: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if cmd is None else cmd
    args = get_parser().parse_args(argv)
    setup_logging()
    if args.parallel < 1:
        logging.error("--parallel must be at least 1")
        return 2
    if args.pretrain_seeds < 1:
        logging.error("--pretrain_seeds must be at least 1")
        return 2
    expdir = Path(args.expdir)
    output_dir = Path(args.output_dir) if args.output_dir else expdir / "ablation"
    variants = [Variant(p, d, m) for m in dict.fromkeys(args.multitask) for p in args.pretrains
                for d in dict.fromkeys(args.mt_decoder_init)]
    command = "python -m ctcot.bin.ablation " + shlex.join(argv)
    previous = output_dir / "results.json"
    if args.summarize_only and previous.is_file():  # the table keeps the command that ran the ablation
        command = json.loads(previous.read_text(encoding="utf-8")).get("command", command)
    threads = args.threads_per_job or max(1, (os.cpu_count() or 1) // args.parallel)
    run_sh = [args.run_sh, "--expdir", args.expdir, "--inference_nj", str(threads), *args.run_sh_args]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))

    try:
        sets = recipe_sets(run_sh, env)
        test_sets = sets["test_sets"].split()
        test_set = args.test_set or (test_sets[0] if test_sets else "")
        if test_set not in test_sets:
            raise InputError(f"--test_set {test_set!r} is not one of the recipe's test sets: {sets['test_sets']!r}")
        logging.info("the recipe's sets: valid %s, test %s; the table: %s", sets["valid_set"], sets["test_sets"],
                     test_set)

        def summarize() -> Path:
            return write_summary(output_dir, expdir, variants, args.seeds, test_set, sets["valid_set"], command,
                                 args.decode_dir, args.pretrain_seeds, args.zero_shot_decode_dir)

        if not args.summarize_only:
            jobs = plan_jobs(variants, args.seeds, args.st_args, gap=not args.skip_gap,
                             pretrain_seeds=args.pretrain_seeds, pretrain_args=args.pretrain_args)
            for lock, holder in held_locks([expdir / ".locks", Path("data") / ".locks"]):
                logging.warning("%s is held by %s: jobs that write it will fail until that process ends",
                                lock, holder or "a process")
            logging.info("%d jobs (%d pre-training runs, %d ST runs), %d at a time, %d thread(s) each; logs in %s",
                         len(jobs), sum(j.name.startswith("pretrain_") for j in jobs), len(variants) * len(args.seeds),
                         args.parallel, threads, output_dir / "logs")
            count = {"n": 0}

            def on_done(job, status, seconds):
                count["n"] += 1
                logging.info("[%d/%d] %s %s in %dm%02ds", count["n"], len(jobs), job.name, status,
                             seconds // 60, seconds % 60)
                if (job.variant is not None or job.name.startswith("gap_")) and status == "done":
                    summarize()

            status = run_jobs(jobs, run_sh, output_dir / "logs", args.parallel, env, on_done)
        results_md = summarize()
    except (InputError, OSError) as err:
        logging.error("%s", err)
        return 1
    print(results_md.read_text(encoding="utf-8"))
    logging.info("wrote %s", results_md)
    failed = []
    if not args.summarize_only:
        failed = sorted(name for name, s in status.items() if s != "done")
        if failed:
            logging.error("%d job(s) did not finish: %s (logs in %s)", len(failed), ", ".join(failed),
                          output_dir / "logs")
    missing = missing_results(expdir, variants, args.seeds, test_set, args.decode_dir)
    for problem in missing:
        logging.error("an ST run finished without a result to tabulate: %s", problem)
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
