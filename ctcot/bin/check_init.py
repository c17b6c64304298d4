#!/usr/bin/env python3
"""Check, before a training starts, that the models its --init_param loads fit it.

Usage:
    python -m ctcot.bin.check_init --task st \\
        --init_param exp/pretrain_ctc_ot/valid.loss.ave.pth:encoder:encoder \\
        ../other_recipe/exp/mt_train_mt/valid.acc.ave.pth:decoder:decoder \\
        --same_tokens ../other_recipe/exp/mt_train_mt/config.yaml:token_list=data/token_list/tgt/tokens.txt \\
        -- --config conf/train_st.yaml --token_list data/token_list/tgt/tokens.txt ...

The options after -- are the training's (its config and token lists): the model is built from
them, with random weights, and each --init_param is compared with it tensor by tensor (missing,
other shapes, left over; see ctcot.init_param). Each --same_tokens CONFIG:KEY=TOKENS compares the token
list KEY (token_list, src_token_list) of a model's config.yaml with a tokens.txt. All problems
are listed, naming the files; the exit status is 1 if there is any.
"""
import argparse
import importlib
import logging
import sys
from typing import List, Optional

from ctcot import InputError
from ctcot.bin import run
from ctcot.init_param import init_param_problems, token_list_problem

TASKS = {  # --task: the class of the training program's task
    "st": "espnet2.tasks.st:STTask",
    "st_multitask": "ctcot.st_task:MultitaskSTTask",
    "mt": "espnet2.tasks.mt:MTTask",
    "asr": "espnet2.tasks.asr:ASRTask",
    "ctcot": "ctcot.task:CTCOTTask",
}


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=sorted(TASKS), help="the training's task")
    parser.add_argument("--init_param", nargs="*", default=[], help="the training's --init_param values")
    parser.add_argument("--same_tokens", nargs="*", default=[], metavar="CONFIG:KEY=TOKENS",
                        help="token lists that must be equal")
    parser.add_argument("model_args", nargs=argparse.REMAINDER, help="-- and the training's options")
    return parser


def check(task_name: str, init_params: List[str], same_tokens: List[str], model_args: List[str]) -> None:
    problems = []
    for spec in same_tokens:
        config_key, sep, tokens = spec.partition("=")
        config, _, key = config_key.rpartition(":")
        if not (sep and config and key):
            raise InputError(f"--same_tokens {spec}: expected CONFIG:KEY=TOKENS")
        problem = token_list_problem(config, key, tokens)
        if problem is not None:
            problems.append(problem)
    if init_params:
        module, _, name = TASKS[task_name].partition(":")
        task = getattr(importlib.import_module(module), name)
        args = task.get_parser().parse_args([a for a in model_args if a != "--"])
        model = task.build_model(args)
        config = next((model_args[i + 1] for i, a in enumerate(model_args[:-1]) if a == "--config"), "its options")
        problems += [f"{problem} (the model of {config})" for spec in init_params
                     for problem in init_param_problems(model, spec)]
    if problems:
        raise InputError("the models to load do not fit:\n  " + "\n  ".join(problems))
    logging.info("init check: %d model part(s) and %d token list(s) fit", len(init_params), len(same_tokens))


def main(cmd: Optional[List[str]] = None) -> int:
    args = get_parser().parse_args(cmd)
    return run(lambda: check(args.task, args.init_param, args.same_tokens, args.model_args))


if __name__ == "__main__":
    sys.exit(main())
