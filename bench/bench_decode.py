#!/usr/bin/env python3
"""ST decoding speed: ESPnet's Speech2Text one utterance at a time against ctcot's utterance-batched beam search.

Usage:
    tools/venv/bin/python bench/bench_decode.py                 # mini_st model, 50 test utterances
    tools/venv/bin/python bench/bench_decode.py --num_utts 200 --threads 2 --batch_sizes 1 8 32
    tools/venv/bin/python bench/bench_decode.py --device cuda
    tools/venv/bin/python bench/bench_decode.py --recipe_dir egs2/must_c/st1 \\
        --model_dir exp/st_ctc_ot_mtdec --feats_scp dump/fbank/tst-COMMON.en-de/feats.scp \\
        --decode_config conf/medium/decode_st.yaml
    tools/venv/bin/python bench/bench_decode.py --threads 2 --espnet_modes BatchBeamSearch \\
        --random_config egs2/must_c/st1/conf/medium/train_st.yaml --num_utts 64   # random medium model

Models, one per run:

- a trained ST model (the default): ``<model_dir>/config.yaml`` and ``--model_file`` (the default
  is the mini recipe's CTC+OT-initialised model), decoding the first ``--num_utts`` utterances of
  a feats.scp of precomputed fbank features with the options of ``--decode_config`` (st.sh's
  ``inference_config``; ``--beam_size`` overrides its beam). All paths are relative to
  ``--recipe_dir``, where the script runs, because the model's config.yaml names its normalisation
  statistics and BPE model relative to it. Without the model (or the features) the script says so
  and exits with status 0;
- ``--random_config PATH``: ESPnet's ST model (``espnet2.tasks.st.STTask``) built from that
  training config with random weights (``--seed``), as bench/bench_step.py builds it: 80-dim
  input, global_mvn with identity statistics, a generated target token list of ``--vocab`` tokens
  (``<blank>``, ``<unk>``, ..., ``<sos/eos>``) and a 100-token source list; written as config.yaml
  and model.pth to a temporary directory, from which Speech2Text loads it. It decodes
  ``--num_utts`` utterances of random features (standard normal, seeded) whose lengths are drawn
  uniformly from ``--min_frames`` to ``--max_frames``. Random weights would decode to arbitrary
  lengths, so every hypothesis is given exactly ``--out_len`` tokens, the same way for ESPnet and
  ctcot: the decoder's output bias of ``<sos/eos>`` is set to -10000 (it is never among the best
  tokens) and maxlenratio to ``-out_len`` (ESPnet's fixed maximum length), at which ESPnet appends
  ``<eos>`` to every running hypothesis; penalty, minlenratio and ctc_weight are 0.

Modes, all decoding the same utterances with the same model in this process:

- ESPnet beam B, BatchBeamSearch (the reference): ``espnet2.bin.st_inference.Speech2Text`` as
  ESPnet's decoding runs it, one utterance per call. With ``batch_size=1`` and only batch scorers
  (the decoder and the length bonus here), its constructor turns its ``BeamSearch`` into a
  ``BatchBeamSearch``, which scores all B hypotheses in one decoder call
  (``beam_search.__class__ = BatchBeamSearch``, st_inference.py lines 302-309 in ESPnet 202511).
  Several utterances per call are not supported: ``st_inference.inference`` raises
  ``NotImplementedError("batch decoding is not implemented")`` when batch_size > 1 (lines 702-703),
  and ``Speech2Text.__call__`` takes one utterance;
- ESPnet beam B, BeamSearch (``--espnet_modes BeamSearch``): the same Speech2Text with that
  assignment undone (``espnet.nets.beam_search.BeamSearch``), one decoder call per hypothesis;
- ESPnet greedy (``--espnet_modes greedy``): beam 1, BatchBeamSearch, for reference;
- ctcot beam B, batch N (one per ``--batch_sizes`` N): ``ctcot.batch_beam_search.batch_beam_search``
  on the reference Speech2Text's model with the same options. The utterances are sorted by length,
  longest first (as ``ctcot.st_inference.length_batches`` sorts them), and cut into batches of N;
  each batch is padded, encoded (in sub-batches of ``ENCODER_BATCH_FRAMES`` padded frames) and
  searched at once (every decoder step scores the live hypotheses of all its utterances). It gives
  ESPnet's hypotheses, up to float rounding.

Timing: each mode first decodes one utterance untimed, then all of them; the seconds count the
encoder and the search (and, for ctcot, padding the batch), with the features already in memory.
The modes run one after the other, not interleaved: a change in the machine's load falls on some
of them only, so measure on an otherwise idle machine.
Columns: RTF = decoding seconds / audio seconds (100 feature frames per second); utts/s =
utterances decoded per second; /ESPnet = utts/s over the reference's utts/s (the speed-up);
agree = utterances whose best hypothesis (token ids) equals the reference's; tokens = mean
length of the best hypotheses (``--out_len`` for every mode with a random model).
"""
import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import kaldiio
import numpy as np
import torch
import yaml
from bench_step import FEAT_DIM, write_token_list  # bench/bench_step.py
from espnet.nets.batch_beam_search import BatchBeamSearch
from espnet.nets.beam_search import BeamSearch
from espnet2.bin.st_inference import Speech2Text
from espnet2.tasks.st import STTask
from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump
from machine import cpu_name  # bench/machine.py

from ctcot.batch_beam_search import batch_beam_search

ROOT = Path(__file__).resolve().parents[1]
FRAMES_PER_SECOND = 100
SRC_VOCAB = 100  # the random model's source vocabulary (its unused source CTC)
EOS_BIAS = -1e4  # the random model's output bias of <sos/eos>: never chosen before the fixed length
SEARCH_OPTIONS = ("beam_size", "penalty", "maxlenratio", "minlenratio", "nbest", "ctc_weight")


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def decode_espnet(speech2text, feats):
    """Total seconds spent decoding the utterances one by one (after one untimed warm-up) and each
    one's best token ids."""
    speech2text(feats[0][1])
    seconds, hyps = 0.0, {}
    for utt, feat in feats:
        sync(speech2text.device)
        start = time.perf_counter()
        results = speech2text(feat)
        sync(speech2text.device)
        seconds += time.perf_counter() - start
        hyps[utt] = results[0][2]  # (text, tokens, token ids, hypothesis) of the best
    return seconds, hyps


def decode_batched(model, feats, batch_size, options, device):
    """Total seconds spent decoding the utterances in length-sorted batches of ``batch_size`` with
    ctcot's batch_beam_search (after one untimed utterance) and each one's best token ids."""
    order = sorted(range(len(feats)), key=lambda i: -len(feats[i][1]))  # as length_batches: longest first
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    def decode(batch):
        lengths = torch.tensor([len(feats[i][1]) for i in batch])
        speech = torch.zeros(len(batch), int(lengths.max()), feats[batch[0]][1].shape[1])
        for row, i in enumerate(batch):
            speech[row, : len(feats[i][1])] = torch.as_tensor(feats[i][1], dtype=torch.float32)
        return batch_beam_search(model, speech.to(device), lengths.to(device), **options)

    decode(order[-1:])
    seconds, hyps = 0.0, {}
    for batch in batches:
        sync(device)
        start = time.perf_counter()
        nbests = decode(batch)
        sync(device)
        seconds += time.perf_counter() - start
        for i, nbest in zip(batch, nbests):
            hyps[feats[i][0]] = nbest[0].token_int if nbest else []
    return seconds, hyps


def build_random_model(args, work_dir):
    """ESPnet's ST model from ``args.random_config`` with random weights and <eos> suppressed,
    written as ``work_dir``/config.yaml and model.pth; returns their paths."""
    torch.manual_seed(args.seed)
    tokens, src_tokens, stats = work_dir / "tokens.txt", work_dir / "src_tokens.txt", work_dir / "stats.npz"
    write_token_list(tokens, args.vocab)
    write_token_list(src_tokens, SRC_VOCAB)
    np.savez(stats, count=np.array(1), sum=np.zeros(FEAT_DIM), sum_square=np.ones(FEAT_DIM))  # identity
    model_args = STTask.get_parser().parse_args([
        "--config", str(args.random_config), "--token_list", str(tokens), "--src_token_list", str(src_tokens),
        "--input_size", str(FEAT_DIM), "--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}",
        "--output_dir", str(work_dir),
    ])
    model = STTask.build_model(model_args)  # replaces the token list files by the lists
    with torch.no_grad():
        model.decoder.output_layer.bias[model.eos] = EOS_BIAS
    config, model_file = work_dir / "config.yaml", work_dir / "model.pth"
    with config.open("w", encoding="utf-8") as f:
        yaml_no_alias_safe_dump(vars(model_args), f, indent=4, sort_keys=False)
    torch.save(model.state_dict(), model_file)
    return config, model_file


def random_feats(args):
    """``--num_utts`` utterances of standard normal features, seeded, of uniformly drawn lengths."""
    generator = torch.Generator().manual_seed(args.seed)
    lengths = torch.randint(args.min_frames, args.max_frames + 1, (args.num_utts,), generator=generator)
    return [(f"utt{i:04d}", torch.randn(int(n), FEAT_DIM, generator=generator).numpy())
            for i, n in enumerate(lengths)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe_dir", default=str(ROOT / "egs2" / "mini_st" / "st1"),
                        help="recipe directory; the paths below are relative to it")
    parser.add_argument("--model_dir", default="exp/st_ctc_ot_mtdec", help="ST model directory (config.yaml)")
    parser.add_argument("--model_file", default="valid.acc.ave.pth", help="checkpoint in --model_dir")
    parser.add_argument("--feats_scp", default="dump/fbank/test/feats.scp", help="kaldi scp of fbank features")
    parser.add_argument("--decode_config", default="conf/decode_st.yaml",
                        help="Speech2Text options (beam_size is overridden by --beam_size)")
    parser.add_argument("--random_config", default=None,
                        help="instead of a trained model: an ST training config (relative to the current "
                             "directory) to build with random weights, e.g. "
                             "egs2/must_c/st1/conf/medium/train_st.yaml")
    parser.add_argument("--vocab", type=int, default=1000, help="random model: target vocabulary size")
    parser.add_argument("--out_len", type=int, default=20, help="random model: tokens of every hypothesis")
    parser.add_argument("--min_frames", type=int, default=300, help="random model: shortest utterance (frames)")
    parser.add_argument("--max_frames", type=int, default=1500, help="random model: longest utterance (frames)")
    parser.add_argument("--seed", type=int, default=0, help="random model: seed of its weights and features")
    parser.add_argument("--num_utts", type=int, default=50, help="utterances decoded per mode (the first ones)")
    parser.add_argument("--beam_size", type=int, default=5, help="beam of the beam-search modes")
    parser.add_argument("--espnet_modes", nargs="+", default=["BatchBeamSearch", "BeamSearch", "greedy"],
                        choices=["BatchBeamSearch", "BeamSearch", "greedy"],
                        help="ESPnet per-utterance modes (BatchBeamSearch, the reference, always runs)")
    parser.add_argument("--batch_sizes", type=int, nargs="*", default=[1, 4, 16, 64],
                        help="utterances per batch of ctcot's batched search (none: ESPnet only)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu or cuda)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="also write the results here (relative to the current "
                                                     "directory), e.g. bench/results/decode.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    if args.random_config is not None and not 3 <= args.min_frames <= args.max_frames:
        parser.error("--min_frames and --max_frames: need 3 <= min_frames <= max_frames")
    json_path = Path(args.json).resolve() if args.json else None
    gpu = f" gpu={torch.cuda.get_device_name(args.device)}" if args.device.startswith("cuda") else ""
    start_all = time.perf_counter()

    with tempfile.TemporaryDirectory() as work_dir:
        if args.random_config is not None:
            config, model_file = build_random_model(args, Path(work_dir))
            decode_conf = dict(beam_size=args.beam_size, penalty=0.0, maxlenratio=-float(args.out_len),
                               minlenratio=0.0, ctc_weight=0.0, lm_weight=0.0)
            feats = random_feats(args)
            # Every hypothesis reaching maxlen is the point here: not worth ESPnet's warning per utterance.
            logging.getLogger("espnet.nets.beam_search").setLevel(logging.ERROR)
            source = (f"{args.random_config} with random weights (seed {args.seed}), vocab {args.vocab}, "
                      f"{args.out_len} tokens per hypothesis; {len(feats)} random utterances of "
                      f"{args.min_frames}-{args.max_frames} frames")
        else:
            os.chdir(args.recipe_dir)
            config, model_file = Path(args.model_dir) / "config.yaml", Path(args.model_dir) / args.model_file
            missing = [path for path in (config, model_file, Path(args.feats_scp)) if not path.exists()]
            if missing:
                print(f"# skipped: {', '.join(map(str, missing))} not found in {args.recipe_dir} (run its "
                      f"run.sh first, or use --random_config)")
                return
            decode_conf = yaml.safe_load(Path(args.decode_config).read_text()) or {}
            feats = list(kaldiio.load_scp_sequential(args.feats_scp))[: args.num_utts]
            source = f"{args.recipe_dir}/{model_file}, {len(feats)} utterances of {args.feats_scp}"
        torch.manual_seed(0)
        seconds = sum(len(feat) for _, feat in feats) / FRAMES_PER_SECOND
        print(f"# cpu={cpu_name()} cores={os.cpu_count()} threads={torch.get_num_threads()} "
              f"torch={torch.__version__} device={args.device}{gpu}")
        print(f"# {source} ({seconds:.1f} s), decode options {decode_conf}")

        def speech2text(beam_size, search_class):
            s2t = Speech2Text(st_train_config=str(config), st_model_file=str(model_file),
                              device=args.device, batch_size=1, **{**decode_conf, "beam_size": beam_size})
            if type(s2t.beam_search) is not BatchBeamSearch:
                raise RuntimeError(f"ESPnet chose {type(s2t.beam_search).__name__}: the decode config has "
                                   f"non-batch scorers, so there is no vectorised search to compare")
            s2t.beam_search.__class__ = search_class
            return s2t

        reference = f"ESPnet beam {args.beam_size} BatchBeamSearch"
        espnet_modes = {  # --espnet_modes name: (mode, beam, search class)
            "BatchBeamSearch": (reference, args.beam_size, BatchBeamSearch),
            "BeamSearch": (f"ESPnet beam {args.beam_size} BeamSearch", args.beam_size, BeamSearch),
            "greedy": ("ESPnet greedy BatchBeamSearch", 1, BatchBeamSearch),
        }
        espnet_modes = [spec for name, spec in espnet_modes.items()
                        if name == "BatchBeamSearch" or name in args.espnet_modes]
        decode_seconds, hyps = {}, {}
        reference_s2t = None
        for mode, beam_size, search_class in espnet_modes:
            s2t = speech2text(beam_size, search_class)
            if reference_s2t is None:
                reference_s2t = s2t
            decode_seconds[mode], hyps[mode] = decode_espnet(s2t, feats)

        options = {k: v for k, v in {**decode_conf, "beam_size": args.beam_size, "nbest": 1}.items()
                   if k in SEARCH_OPTIONS}
        model = reference_s2t.st_model.eval()
        for batch_size in args.batch_sizes:
            mode = f"ctcot beam {args.beam_size} batch {batch_size}"
            decode_seconds[mode], hyps[mode] = decode_batched(model, feats, batch_size, options, args.device)

    rtf = {mode: s / seconds for mode, s in decode_seconds.items()}
    utts_per_s = {mode: len(feats) / s for mode, s in decode_seconds.items()}
    speedup = {mode: utts_per_s[mode] / utts_per_s[reference] for mode in decode_seconds}
    agree = {mode: sum(hyps[mode][utt] == hyps[reference][utt] for utt, _ in feats) for mode in decode_seconds}
    tokens = {mode: sum(map(len, hyps[mode].values())) / len(feats) for mode in decode_seconds}
    print(f"{'mode':<32} {'RTF':>8} {'utts/s':>8} {'/ESPnet':>8} {'agree':>9} {'tokens':>7}")
    for mode in decode_seconds:
        print(f"{mode:<32} {rtf[mode]:>8.4f} {utts_per_s[mode]:>8.3f} {speedup[mode]:>8.2f} "
              f"{f'{agree[mode]}/{len(feats)}':>9} {tokens[mode]:>7.1f}")
    print(f"# total wall time {time.perf_counter() - start_all:.0f} s")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(dict(args=vars(args), audio_seconds=seconds, decode_options=decode_conf,
                                             seconds=decode_seconds, rtf=rtf, utts_per_s=utts_per_s,
                                             speedup=speedup, agree=agree, tokens=tokens), indent=2) + "\n")


if __name__ == "__main__":
    main()
