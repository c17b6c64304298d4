"""The paper's ablation on one corpus: ST from each pre-training, with and without MT-decoder
initialisation, vanilla or multi-task, over several seeds, through a recipe's ``run.sh``.

Le et al. (ICML 2023) claim an ordering: CTC+OT pre-training beats CTC, which beats CE, and
initialising the ST decoder from an MT decoder helps CTC-style encoders far more than CE ones;
CTC+OT also improves multi-task ST (source CTC and MT auxiliary losses, ``st.sh --st_multitask true``).
:func:`plan_jobs` lays the experiment out as ``run.sh`` calls that share every stage they can
(stages named as in :data:`ctcot.recipe.STAGES`):

- ``shared``: the stages from ``data`` to ``mt`` once (data, features, tokenizers, MT);
- ``pretrain_<tag>``: the ``pretrain`` stage once per pre-training run, then ``gap_<tag>``: the
  ``gap`` stage (the zero-shot swap of its encoder with the MT decoder, the modality gap of its
  encoder to the MT encoder, and the gap curves over its epochs, ``--gap_curves true``), into
  ``exp/pretrain_<tag>`` (``run.sh --pretrain_tag <tag>``);
- ``st_<variant>_seed<n>``: ``st_train`` to ``st_score`` (ST training, decoding, scoring) per
  variant and seed, into ``exp/st_<variant>_seed<n>``, with ``--seed <n>`` added to the ST
  training options.

The seeds vary ST training (the initialisation of what is not pre-trained, batch order,
dropout, SpecAugment); MT is shared by every seed. Pre-training seeds (``pretrain_seeds``,
:func:`pretrain_tags`): with 1 (the default), each pre-training runs once, tagged with its name
(``exp/pretrain_<type>``, ESPnet's default seed), and every ST seed starts from it. With N > 1,
each pre-training runs N times, tagged ``<type>_pseed<k>`` (k = 1..N, ``--pretrain_args "--seed
<k>"``), each followed by its own gap job; the i-th ST seed (in the order given) starts from
pre-training seed ((i − 1) mod N) + 1 (``--pretrain_tag``; its ST tag stays ``<variant>_seed<n>``),
so every pre-training run is used when there are at least N ST seeds. Every variant gets the same
ST configuration, hence the same budget. :func:`run_jobs` runs the jobs in dependency order,
several at a time, each logging to its own file; ``st.sh`` skips finished stages, so an
interrupted ablation is resumed by running it again. ``summarize`` and
``write_summary`` make the table (mean ± sample std over seeds) and the bar chart;
``significance`` tests the paper's claims with Welch's t-test over seeds; ``figure5``
gives the paper's Figure 5 (gains over CE, with confidence intervals); those are in
:mod:`ctcot.ablation_report`, which reads what the jobs wrote.
"""
from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ctcot import InputError
from ctcot.recipe import check_pretrain, default_st_tag, needs_mt, shell_bool, stage_number

__all__ = ["Variant", "Job", "pretrain_tags", "st_pretrain_tag", "plan_jobs", "run_jobs", "recipe_sets",
           "held_locks"]

PRETRAIN_SEED_SUFFIX = "_pseed"  # <type>_pseed<k>: the k-th of several runs of a pre-training


@dataclass(frozen=True)
class Variant:
    """One ST system of the ablation: a pre-training type, the ST decoder's initialisation, and
    whether ST is multi-task (``st.sh --st_multitask``)."""

    pretrain: str
    mt_decoder: bool
    multitask: bool = False

    @classmethod
    def of(cls, run: Mapping) -> "Variant":
        """The variant of a run of :func:`collect_runs`."""
        return cls(run["pretrain"], run["mt_decoder"], run.get("multitask", False))

    @property
    def setting(self) -> Tuple[bool, bool]:
        """The ST setting, ``(MT-initialised decoder, multi-task)``: a key of
        :data:`ctcot.ablation_report.SETTING_NAMES`."""
        return self.mt_decoder, self.multitask

    @property
    def tag(self) -> str:
        """st.sh's default ST tag (:func:`ctcot.recipe.default_st_tag`)."""
        return default_st_tag(self.pretrain, self.mt_decoder, self.multitask)

    def st_tag(self, seed: int) -> str:
        return f"{self.tag}_seed{seed}"


@dataclass
class Job:
    """One ``run.sh`` call: its name, its options, and the jobs it must wait for."""

    name: str
    args: List[str]
    after: Tuple[str, ...] = ()
    variant: Optional[Variant] = None
    seed: Optional[int] = None


def _stages(first: str, last: Optional[str] = None) -> List[str]:
    """st.sh's options running the stages ``first`` to ``last`` (names of :data:`ctcot.recipe.STAGES`)."""
    return ["--stage", str(stage_number(first)), "--stop_stage", str(stage_number(last or first))]


def _check_pretrain_seeds(pretrain_seeds: int) -> None:
    if isinstance(pretrain_seeds, bool) or not isinstance(pretrain_seeds, int) or pretrain_seeds < 1:
        raise InputError(f"pretrain_seeds must be a whole number of at least 1, got {pretrain_seeds!r}")


def pretrain_tags(pretrain: str, pretrain_seeds: int = 1) -> List[str]:
    """The pre-training runs (st.sh's ``--pretrain_tag``, ``exp/pretrain_<tag>``) of ``pretrain``:
    ``[pretrain]`` with one pre-training seed, else ``<pretrain>_pseed<k>`` for k = 1..pretrain_seeds."""
    _check_pretrain_seeds(pretrain_seeds)
    if pretrain_seeds == 1:
        return [pretrain]
    return [f"{pretrain}{PRETRAIN_SEED_SUFFIX}{k}" for k in range(1, pretrain_seeds + 1)]


def st_pretrain_tag(pretrain: str, seed_index: int, pretrain_seeds: int = 1) -> str:
    """The pre-training run that the ST run of the ``seed_index``-th seed (0-based, in the order the
    seeds were given) starts from: pre-training seed ``seed_index mod pretrain_seeds + 1``."""
    return pretrain_tags(pretrain, pretrain_seeds)[seed_index % pretrain_seeds]


def plan_jobs(variants: Sequence[Variant], seeds: Sequence[int], st_args: str = "", gap: bool = True,
              pretrain_seeds: int = 1, pretrain_args: str = "") -> List[Job]:
    """The ``run.sh`` calls of an ablation, in a good order to run them.

    ST jobs come seed by seed (every variant's first seed before any second seed), so a
    partial run already compares every variant; pre-training runs likewise come seed by seed.

    Args:
        variants: The ST systems to train.
        seeds: ST training seeds.
        st_args: Extra options of ESPnet's ST training, for every variant (e.g. ``--max_epoch 5``).
        gap: Whether to run stage 12 (zero-shot swap, modality gap, gap curves) for each pre-training run.
        pretrain_seeds: Runs of each pre-training (:func:`pretrain_tags`); the ST run of the i-th seed
            starts from run ``(i − 1) mod pretrain_seeds + 1``.
        pretrain_args: Extra options of the pre-training program, for every pre-training run (with
            several pre-training seeds, ``--seed <k>`` is added to them).

    Returns:
        The jobs; each one's ``after`` names jobs earlier in the list.
    """
    if not variants or not seeds:
        raise InputError("an ablation needs at least one variant and one seed")
    for variant in variants:
        check_pretrain(variant.pretrain)
    if len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct, got {list(seeds)}")
    _check_pretrain_seeds(pretrain_seeds)
    use_mt = any(needs_mt(v.pretrain, v.mt_decoder, v.multitask) for v in variants)
    # Stages up to MT's under options that make it train the MT model when any variant uses it.
    shared = [*_stages("data", "mt"), "--pretrain", "ctc_ot" if use_mt else "none",
              "--st_init_decoder_from_mt", shell_bool(use_mt)]
    jobs = [Job("shared", shared)]
    pretrains = [p for p in dict.fromkeys(v.pretrain for v in variants) if p != "none"]

    def tag_options(tag: str, pretrain: str) -> List[str]:  # with one pre-training seed, today's calls
        return [] if tag == pretrain else ["--pretrain_tag", tag]

    runs = [(pretrain, pretrain_tags(pretrain, pretrain_seeds)[k], k) for k in range(pretrain_seeds)
            for pretrain in pretrains]
    for pretrain, tag, k in runs:
        options = f"{pretrain_args} --seed {k + 1}".strip() if pretrain_seeds > 1 else pretrain_args
        jobs.append(Job(f"pretrain_{tag}",
                        [*_stages("pretrain"), "--pretrain", pretrain, *tag_options(tag, pretrain),
                         *(["--pretrain_args", options] if options else [])], ("shared",)))
    # The gap analysis needs the MT model: with no variant using it, stage 6 has not made one.
    for pretrain, tag, _ in runs if use_mt and gap else []:
        jobs.append(Job(f"gap_{tag}", [*_stages("gap"), "--pretrain", pretrain, *tag_options(tag, pretrain),
                                       "--gap_curves", "true"], (f"pretrain_{tag}",)))
    for index, seed in enumerate(seeds):
        for variant in variants:
            if variant.pretrain == "none":
                after, tag_args = ("shared",), []
            else:
                tag = st_pretrain_tag(variant.pretrain, index, pretrain_seeds)
                after, tag_args = ("shared", f"pretrain_{tag}"), tag_options(tag, variant.pretrain)
            options = f"{st_args} --seed {seed}".strip()
            jobs.append(Job(f"st_{variant.st_tag(seed)}",
                            [*_stages("st_train", "st_score"), "--pretrain", variant.pretrain, *tag_args,
                             "--st_init_decoder_from_mt", shell_bool(variant.mt_decoder),
                             "--st_multitask", shell_bool(variant.multitask),
                             "--st_tag", variant.st_tag(seed), "--st_args", options],
                            after, variant, seed))
    return jobs


# The shell that runs each job: on SIGTERM it ends its whole process group (run.sh, st.sh, their
# trainings and decodings) and waits for run.sh. The kernel sends it SIGTERM when the ablation dies,
# however it dies.
_JOB_SHELL = "trap \"trap '' TERM; kill -TERM 0; wait\" TERM; \"$@\" & wait $!"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux; elsewhere nothing)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _start(command: List[str], log_path: Path, env: Mapping[str, str]) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"# {' '.join(command)}\n# started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        log.flush()
        # A session of its own, so that stopping the ablation stops the whole job (st.sh and its
        # training or decoding processes), not only the shell; and not left running if the ablation
        # is killed (kill -9, out of memory), where it would hold its experiment's lock.
        parent = os.getpid()
        return subprocess.Popen(["bash", "-c", _JOB_SHELL, "job", *command], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=dict(env), start_new_session=True,
                                preexec_fn=lambda: _die_with_parent(parent))


def run_jobs(jobs: Sequence[Job], run_sh: Sequence[str], log_dir: Path, parallel: int = 1,
             env: Optional[Mapping[str, str]] = None, on_done=None, poll_seconds: float = 0.5) -> Dict[str, str]:
    """Run ``run_sh + job.args`` for every job, ``parallel`` at a time, in dependency order.

    Each job's output goes to ``<log_dir>/<job name>.log``. A failed job does not stop the
    others, but the jobs after it are skipped. If this function is interrupted (Ctrl-C, or an
    exception in ``on_done``), the running jobs are terminated; their trainings resume from the
    last epoch when the ablation is run again.

    Args:
        jobs: From :func:`plan_jobs`.
        run_sh: The recipe's command, e.g. ``["./run.sh", "--ngpu", "1"]``.
        log_dir: Where the logs go.
        parallel: How many jobs run at once.
        env: Their environment (default: this process's).
        on_done: Called as ``on_done(job, status, seconds)`` after each job.
        poll_seconds: How often running jobs are checked.

    Returns:
        Each job's status: ``"done"``, ``"failed"`` or ``"skipped"``.
    """
    env = dict(os.environ if env is None else env)
    names = {job.name for job in jobs}
    unknown = sorted({dep for job in jobs for dep in job.after} - names)
    if unknown:
        raise InputError(f"jobs wait for unknown jobs: {unknown}")
    status: Dict[str, str] = {}
    pending = list(jobs)
    running: Dict[str, Tuple[Job, subprocess.Popen, float]] = {}
    try:
        while pending or running:
            for job in list(pending):
                if any(status.get(dep) in ("failed", "skipped") for dep in job.after):
                    status[job.name] = "skipped"
                    pending.remove(job)
                    logging.warning("skipped %s: %s did not succeed", job.name,
                                    ", ".join(d for d in job.after if status.get(d) != "done"))
                elif len(running) < parallel and all(status.get(dep) == "done" for dep in job.after):
                    pending.remove(job)
                    log_path = log_dir / f"{job.name}.log"
                    logging.info("start %s (log: %s)", job.name, log_path)
                    running[job.name] = (job, _start([*run_sh, *job.args], log_path, env), time.monotonic())
            time.sleep(poll_seconds)
            for name, (job, process, start) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[name]
                seconds = time.monotonic() - start
                status[name] = "done" if process.returncode == 0 else "failed"
                if status[name] == "failed":
                    logging.error("%s failed after %.0f s: see %s", name, seconds, log_dir / f"{name}.log")
                if on_done is not None:
                    on_done(job, status[name], seconds)
    except BaseException:
        for job, process, _ in running.values():
            logging.warning("stopping %s", job.name)
            os.killpg(process.pid, signal.SIGTERM)
        for _, process, _ in running.values():
            process.wait()
        raise
    return status


def recipe_sets(run_sh: Sequence[str], env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The data sets and experiment directory of a recipe's ``run.sh`` with its options, as st.sh
    resolves them (``--print_sets true``): ``train_set``, ``valid_set``, ``test_sets`` (space-separated)
    and ``expdir``. Recipes such as MuST-C's name their sets themselves (``tst-COMMON.en-de``).

    Raises:
        ValueError: run.sh failed (its error in the message).
    """
    result = subprocess.run([*run_sh, "--print_sets", "true"], capture_output=True, text=True,
                            env=None if env is None else dict(env), stdin=subprocess.DEVNULL)
    sets = dict(line.partition("=")[::2] for line in result.stdout.splitlines() if "=" in line)
    expected = ("train_set", "valid_set", "test_sets", "expdir")
    if result.returncode != 0 or any(key not in sets for key in expected):
        raise InputError(f"{' '.join(run_sh)} --print_sets true failed (exit {result.returncode}): "
                         f"{(result.stderr + result.stdout).strip()[-2000:]}")
    return {key: sets[key] for key in expected}


def held_locks(lock_dirs: Sequence[Path]) -> List[Tuple[Path, str]]:
    """The st.sh locks (``take_lock``) that a process holds now: (lock file, who holds it, as st.sh wrote it)."""
    held = []
    for lock_dir in lock_dirs:
        for path in sorted(Path(lock_dir).glob("*.lock")):
            try:
                with open(path, encoding="utf-8", errors="replace") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        held.append((path, lock.read().strip()))
            except OSError:  # unreadable: st.sh will say so itself
                continue
    return held
