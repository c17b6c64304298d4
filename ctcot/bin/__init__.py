"""ctcot's programs, each run as ``python -m ctcot.bin.<name>`` (``--help`` for its options).

A program parses its options and calls the library; the work and its tests are in the library.
What st.sh runs, stage by stage (stage numbers and names as in :data:`ctcot.recipe.STAGES`):

====================  ===========================  ==================================================
stage                 program                      library
====================  ===========================  ==================================================
1 data                prepare_<corpus>             ctcot.corpora.<corpus>.prepare_<corpus>
1 data                validate_data_dir            ctcot.data_dir.validate_data_dir
1 data                fix_data_dir                 ctcot.data_dir.fix_data_dir
2 speed_perturb       speed_perturb                ctcot.speed_perturb.perturb_data_dir
3 features            make_fbank                   ctcot.features.extract_data_dir
4 filter              filter_data_dir              ctcot.filtering.filter_data_dir
5 tokenizers          tokenizers                   ctcot.tokenizers.prepare_tokens
6 mt                  score_st                     ctcot.scoring.score_translations
7 pretrain            ctcot_train                  ctcot.task.CTCOTTask, ctcot.trainer.EpochKeepingTrainer
7 pretrain            asr_train                    ctcot.trainer.EpochKeepingTrainer
8 st_train            st_train                     ctcot.st_task.MultitaskSTTask
8 st_train            st_config                    ctcot.compress_model.st_config_with_encoder
6-8 mt..st_train      check_checkpoints            ctcot.checkpoints.set_aside_damaged
9 st_decode           split_keys                   (itself: Kaldi's split_scp.pl)
9 st_decode           st_inference                 ctcot.st_inference.decode_scp
9 st_decode           st_inference                 ctcot.batch_beam_search.batch_beam_search
10 st_score           score_st                     ctcot.scoring.score_translations
12 gap                zero_shot                    ctcot.zero_shot.build_swap_model
12 gap                cascade                      ctcot.cascade.run_cascade, ctcot.cascade.greedy_ctc
12 gap                modality_gap                 ctcot.modality_gap.analyse, ctcot.gap_curves.analyse_curve
12 gap                localize_config              ctcot.init_param.localize_config
(all)                 recipe                       ctcot.recipe.recipe_settings
(any training)        check_init                   ctcot.init_param.init_param_problems
(ablation.sh)         ablation                     ctcot.ablation.plan_jobs, ctcot.ablation_report.write_summary
(your audio)          translate                    ctcot.translate.Translator
(a figure)            compression_figure           ctcot.compression_figure.plot_compression
(a figure)            voices_figure                ctcot.corpora.mini_st.figure.plot_voices
====================  ===========================  ==================================================

A program is named after the library module it runs; where it stands in for an ESPnet or Kaldi
tool it keeps that tool's name (``<task>_train``, ``st_inference``, ``make_fbank``,
``*_data_dir``, ``split_keys``, ``score_st``). ESPnet's own programs (``espnet2.bin.mt_train``,
``mt_inference``, ``st_train``, ``pack``) run stages 6, 8 (vanilla ST) and 11.
"""
import logging
import shlex
from typing import Callable, Mapping

from ctcot import InputError

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"  # ESPnet's


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def run(task: Callable[[], None]) -> int:
    """Run a program's work with ESPnet-style logging; return its exit status.

    Bad input, as ctcot names it (:class:`ctcot.InputError`, which ``DataDirError`` is), and the
    system's errors (``OSError``: a missing file, a full disk, a permission;
    :class:`ctcot.ExternalProgramError` is one) are logged as one error, without a traceback, and
    give status 1. Anything else (a library's ``ValueError``, torch's ``RuntimeError``) is a bug: it
    keeps its traceback.
    """
    setup_logging()
    try:
        task()
    except (InputError, OSError) as err:
        logging.error("%s", err)
        return 1
    return 0


def print_shell_assignments(values: Mapping[str, str]) -> None:
    """Print ``name=value`` lines, each value quoted for the shell, for a recipe to ``eval``."""
    print("".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items()), end="")
