#!/usr/bin/env python3
"""Time one training step of CTC+OT and CTC pre-training against ESPnet's ST training, and their peak memory.

Usage:
    tools/venv/bin/python bench/bench_step.py                        # medium configs, CPU
    tools/venv/bin/python bench/bench_step.py --B 4 --F 500 --repeats 5
    tools/venv/bin/python bench/bench_step.py --conf large --device cuda --B 32
    tools/venv/bin/python bench/bench_step.py --conf_dir egs2/mini_st/st1/conf --B 16
    tools/venv/bin/python bench/bench_step.py --device cuda --B 40 --precision bf16   # ~40k frames, AMP

Models, built from the paper's configs in ``egs2/must_c/st1/conf/<conf>/`` (or ``--conf_dir``):

- ctc_ot: ``pretrain_ctc_ot.yaml`` via ``ctcot.task.CTCOTTask``: speech encoder + CTC on the source
          transcript + 0.1 x Sinkhorn divergence (``ctcot.ot.sinkhorn_divergence``) to a 6-layer text
          encoder's states (medium);
- ctc:    ``pretrain_ctc.yaml`` via ``CTCOTTask``: the same speech encoder and CTC, no text side;
- st:     ``train_st.yaml`` via ESPnet's ``espnet2.tasks.st.STTask``: the same speech encoder and a
          6-layer attention decoder over the target vocabulary (label-smoothed cross-entropy);
- ctc_compress_ot: ``pretrain_ctc_compress_ot.yaml`` via ``CTCOTTask``: the same speech encoder and CTC,
          CTC compression, an adapter, the frozen MT encoder over the compressed speech and over the
          transcript, 1 x Sinkhorn divergence between the two (``ctcot.compress_model``). Untrained, its
          CTC's greedy labels change almost every frame, so the MT encoder sees about one vector per
          encoder frame (F/4), not one per token (N) as after training: an upper bound of its cost.

All see the same synthetic batch: B utterances of F 80-dim fbank frames (full length, no padding),
source token sequences of length N over a ``--src_vocab`` vocabulary and target sequences of length
T over ``--tgt_vocab``. The defaults follow the MuST-C recipe (``egs2/must_c/st1/run.sh``): phoneme
sources (about 10 phonemes per second of speech, hence N=100 for F=1000 frames = 10 s) and a 10k
target vocabulary (T=30 tokens for 10 s), with global_mvn normalisation (identity statistics) as
st.sh passes. B=4 and the default steps keep the run at about 2-3 minutes on 2 idle CPU cores
(every cost is about linear in B, so the ratios hardly depend on it; use B=16 or more on a GPU).

A step is what ESPnet's trainer does per batch: forward (train mode: dropout and SpecAugment on),
backward, gradient clipping at the config's ``grad_clip``, Adam step with the config's
``optim_conf``. Timing: all models are built in this process and stepped in turn, ``--warmup``
untimed rounds then ``--repeats`` timed ones, so that a change in the machine's load reaches every
model alike. The ``sinkhorn`` row times the OT term alone in the same rounds:
``ctcot.ot.sinkhorn_divergence`` forward + backward on the ctc_ot model's speech and text states
for this batch; the rest of ctc_ot's extra cost over ctc is the text encoder and its Adam update.

Peak memory: measured first, in one fresh (spawned) process per model that builds it and takes two
steps (the second computes gradients while holding the Adam moments). On CUDA,
``torch.cuda.max_memory_allocated`` (tensors: parameters, gradients, Adam moments, batch,
activations). On CPU, the process's peak resident set size (``ru_maxrss``, a lifetime peak, hence
the process per model) minus its resident size after the imports, before the model was built.
tracemalloc would not see torch's allocations; RSS also counts the allocator's caching and
fragmentation, so CPU numbers are upper bounds of the tensors' bytes.

Precision: ``fp32``, or mixed precision as ESPnet's ``--use_amp true`` runs it: forward and loss
under ``torch.autocast`` (``bf16`` or ``fp16``), backward and Adam in fp32, and for fp16 a
``GradScaler`` (ESPnet's AMP is CUDA's fp16 autocast with a scaler; bf16 needs no scaler).

Columns: parameters (millions); utterances per second (B / step time); median step time in ms and its
ratio to ctc's and to st's (for the sinkhorn row: the OT term's time as a fraction of their whole
steps); peak memory in MB and its ratio to ctc's and to st's.
"""
import argparse
import functools
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from espnet2.tasks.st import STTask
from machine import cpu_name  # bench/machine.py

from ctcot.ot import sinkhorn_divergence
from ctcot.task import CTCOTTask

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"ctc_ot": "pretrain_ctc_ot.yaml", "ctc": "pretrain_ctc.yaml", "st": "train_st.yaml",
           "ctc_compress_ot": "pretrain_ctc_compress_ot.yaml"}
FEAT_DIM = 80
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def rss_mb():
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_token_list(path, size):
    """ESPnet's layout: blank, unk, (size - 3) tokens, sos/eos."""
    path.write_text("\n".join(["<blank>", "<unk>", *[f"t{i}" for i in range(size - 3)], "<sos/eos>"]) + "\n")


class Trainee:
    """One model with its Adam optimizer, stepped as ESPnet's trainer steps it."""

    def __init__(self, name, args):
        torch.manual_seed(0)
        config = Path(args.conf_dir) / CONFIGS[name]
        with tempfile.TemporaryDirectory() as work_dir:
            work_dir = Path(work_dir)
            src_tokens, stats = work_dir / "src_tokens.txt", work_dir / "stats.npz"
            write_token_list(src_tokens, args.src_vocab)
            np.savez(stats, count=np.array(1), sum=np.zeros(FEAT_DIM), sum_square=np.ones(FEAT_DIM))  # identity
            argv = ["--config", str(config), "--src_token_list", str(src_tokens), "--input_size", str(FEAT_DIM),
                    "--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}"]
            task = CTCOTTask
            if name == "st":
                task = STTask
                write_token_list(work_dir / "tgt_tokens.txt", args.tgt_vocab)
                argv += ["--token_list", str(work_dir / "tgt_tokens.txt")]
            model_args = task.get_parser().parse_args(argv)
            self.model = task.build_model(model_args).to(args.device).train()
        self.precision = args.precision
        self.optimizer = torch.optim.Adam(self.model.parameters(), **model_args.optim_conf)
        self.grad_clip = model_args.grad_clip
        self.params = sum(p.numel() for p in self.model.parameters())
        self.autocast = functools.partial(torch.autocast, torch.device(args.device).type,
                                          dtype=PRECISIONS[args.precision], enabled=args.precision != "fp32")
        self.scaler = torch.amp.GradScaler(enabled=args.precision == "fp16")

    def step(self, batch):
        """Forward, backward, clip, Adam; returns the wall seconds."""
        sync(batch["speech"].device)
        start = time.perf_counter()
        with self.autocast():
            loss, _, _ = self.model(**batch)
        self.optimizer.zero_grad()
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        sync(batch["speech"].device)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} ({self.precision})")
        return time.perf_counter() - start


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_batch(args):
    """Synthetic features and token ids (never blank, unk or sos/eos), without padding."""
    generator = torch.Generator().manual_seed(0)

    def tokens(vocab, length):
        ids = torch.randint(2, vocab - 1, (args.B, length), generator=generator)
        return ids.to(args.device), torch.full((args.B,), length, device=args.device)

    speech = torch.randn(args.B, args.F, FEAT_DIM, generator=generator).to(args.device)
    src_text, src_text_lengths = tokens(args.src_vocab, args.N)
    text, text_lengths = tokens(args.tgt_vocab, args.T)
    return dict(speech=speech, speech_lengths=torch.full((args.B,), args.F, device=args.device),
                src_text=src_text, src_text_lengths=src_text_lengths, text=text, text_lengths=text_lengths)


def sinkhorn_step(model, batch):
    """A step function timing the OT term alone: ``sinkhorn_divergence`` forward + backward on the
    model's own speech and text states for this batch (computed once, without gradients)."""
    with torch.no_grad():
        xs, x_lens = model.encode(batch["speech"], batch["speech_lengths"])
        ys, y_lens = model.encode_text(batch["src_text"], batch["src_text_lengths"])

    def step():
        x, y = xs.clone().requires_grad_(), ys.clone().requires_grad_()
        sync(xs.device)
        start = time.perf_counter()
        sinkhorn_divergence(x, x_lens, y, y_lens, options=model.ot_options).sum().backward()
        sync(xs.device)
        return time.perf_counter() - start

    return step


def peak_memory_mb(name, args):
    """Runs in a fresh process: the peak memory of building the model and taking two steps (the
    second holds the Adam moments while it computes the gradients)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    rss_before = rss_mb()
    trainee = Trainee(name, args)
    batch = make_batch(args)
    for _ in range(2):
        trainee.step(batch)
    if args.device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(args.device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before  # ru_maxrss is in kB


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conf", default="medium", choices=["medium", "large"],
                        help="the paper's model size (egs2/must_c/st1/conf/<conf>)")
    parser.add_argument("--conf_dir", default=None,
                        help="directory with pretrain_ctc_ot.yaml, pretrain_ctc.yaml and train_st.yaml "
                             "(overrides --conf), e.g. egs2/mini_st/st1/conf")
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS), help="models to run")
    parser.add_argument("--B", type=int, default=4, help="utterances per batch")
    parser.add_argument("--F", type=int, default=1000, help="fbank frames per utterance (100 per second)")
    parser.add_argument("--N", type=int, default=100, help="source tokens per utterance (CTC and OT targets)")
    parser.add_argument("--T", type=int, default=30, help="target tokens per utterance (ST decoder)")
    parser.add_argument("--src_vocab", type=int, default=100, help="source vocabulary size (phonemes)")
    parser.add_argument("--tgt_vocab", type=int, default=10000, help="target vocabulary size (BPE)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per model")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per model (the median is shown)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu or cuda)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--precision", default="fp32", choices=list(PRECISIONS),
                        help="fp32, or mixed precision (autocast) in bf16 or fp16 (with a GradScaler)")
    parser.add_argument("--json", default=None, help="also write the results here, e.g. bench/results/step.json")
    args = parser.parse_args()
    if args.conf_dir is None:
        args.conf_dir = str(ROOT / "egs2" / "must_c" / "st1" / "conf" / args.conf)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    if args.threads:
        torch.set_num_threads(args.threads)

    gpu = f" gpu={torch.cuda.get_device_name(args.device)}" if args.device.startswith("cuda") else ""
    print(f"# cpu={cpu_name()} cores={os.cpu_count()} threads={torch.get_num_threads()} "
          f"torch={torch.__version__} device={args.device}{gpu}")
    print(f"# conf_dir={args.conf_dir} B={args.B} F={args.F} N={args.N} T={args.T} src_vocab={args.src_vocab} "
          f"tgt_vocab={args.tgt_vocab} precision={args.precision}; "
          f"median step ms over {args.repeats} steps after {args.warmup} warm-up")
    results = {}
    for name in args.models:  # one process per model: ru_maxrss and CUDA peaks are per process
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            results[name] = dict(peak_mb=pool.submit(peak_memory_mb, name, args).result())

    trainees = {name: Trainee(name, args) for name in args.models}
    batch = make_batch(args)
    steps = {name: functools.partial(trainee.step, batch) for name, trainee in trainees.items()}
    if "ctc_ot" in trainees:
        steps["sinkhorn"] = sinkhorn_step(trainees["ctc_ot"].model, batch)
    times = {name: [] for name in steps}
    for i in range(args.warmup + args.repeats):
        for name, step in steps.items():  # interleaved, so that a change of load hits all alike
            seconds = step()
            if i >= args.warmup:
                times[name].append(1000 * seconds)
    for name in steps:
        step_ms = statistics.median(times[name])
        results.setdefault(name, {}).update(step_ms=step_ms, times_ms=times[name])
        if name != "sinkhorn":
            results[name]["utts_per_s"] = 1000 * args.B / step_ms
    for name, trainee in trainees.items():
        results[name]["params"] = trainee.params

    def column(name, key, reference=None, scale=1.0, fmt=".0f"):
        if key not in results[name] or (reference is not None and reference not in results):
            return "-"
        value = results[name][key] / (results[reference][key] if reference else scale)
        return f"{value:{fmt}}"

    print(f"{'model':<15} {'params M':>9} {'utts/s':>8} {'step ms':>9} {'/ctc':>7} {'/st':>7} {'/ctc_ot':>7} "
          f"{'peak MB':>9} {'/ctc':>7} {'/st':>7}")
    for name in results:
        print(f"{name:<15} {column(name, 'params', scale=1e6, fmt='.1f'):>9} "
              f"{column(name, 'utts_per_s', fmt='.1f'):>8} {column(name, 'step_ms'):>9} "
              f"{column(name, 'step_ms', 'ctc', fmt='.3f'):>7} {column(name, 'step_ms', 'st', fmt='.3f'):>7} "
              f"{column(name, 'step_ms', 'ctc_ot', fmt='.3f'):>7} "
              f"{column(name, 'peak_mb'):>9} {column(name, 'peak_mb', 'ctc', fmt='.3f'):>7} "
              f"{column(name, 'peak_mb', 'st', fmt='.3f'):>7}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dict(args=vars(args), results=results), indent=2) + "\n")


if __name__ == "__main__":
    main()
