#!/usr/bin/env python3
"""ST decoding speed of ESPnet's Speech2Text: vectorised against plain beam search, as real-time factors.

Usage:
    tools/venv/bin/python bench/bench_decode.py                 # mini_st model, 50 test utterances
    tools/venv/bin/python bench/bench_decode.py --num_utts 200 --threads 2
    tools/venv/bin/python bench/bench_decode.py --device cuda
    tools/venv/bin/python bench/bench_decode.py --recipe_dir egs2/must_c/st1 \\
        --model_dir exp/st_ctc_ot_mtdec --feats_scp dump/fbank/tst-COMMON.en-de/feats.scp \\
        --decode_config conf/medium/decode_st.yaml

A trained ST model (``<model_dir>/config.yaml`` and ``--model_file``; the default is the mini
recipe's CTC+OT-initialised model) decodes the first ``--num_utts`` utterances of a feats.scp of
precomputed fbank features, one at a time, with the options of ``--decode_config`` (st.sh's
``inference_config``) and these beam sizes. All paths are relative to ``--recipe_dir``, where the
script runs, because the model's config.yaml names its normalisation statistics and BPE model
relative to it. Modes:

- beam B, BatchBeamSearch: ``espnet2.bin.st_inference.Speech2Text`` as ESPnet's decoding runs it.
  With ``batch_size=1`` and only batch scorers (the decoder and the length bonus here), its
  constructor turns its ``BeamSearch`` into a ``BatchBeamSearch``, which scores all B hypotheses
  in one decoder call (``beam_search.__class__ = BatchBeamSearch``, st_inference.py lines 302-309
  in ESPnet 202511);
- beam B, BeamSearch: the same Speech2Text with that assignment undone
  (``espnet.nets.beam_search.BeamSearch``), which calls the decoder once per hypothesis;
- greedy (beam 1), BatchBeamSearch: for reference.

Batches of several utterances are not supported: ``st_inference.inference`` raises
``NotImplementedError("batch decoding is not implemented")`` when batch_size > 1 (lines 702-703 in
ESPnet 202511), and ``Speech2Text.__call__`` takes one utterance (it unsqueezes a batch axis of 1
and asserts one encoder output). The table says so instead of timing it.

Columns: RTF = decoding seconds (encoder and search, features already in memory) / audio seconds
(100 feature frames per second), measured after one untimed utterance per mode; its ratio to
the BatchBeamSearch beam's RTF and to greedy's; agree = utterances whose best hypothesis (token
ids) equals that of the BatchBeamSearch beam.
"""
import argparse
import json
import os
import time
from pathlib import Path

import kaldiio
import torch
import yaml
from espnet.nets.batch_beam_search import BatchBeamSearch
from espnet.nets.beam_search import BeamSearch
from espnet2.bin.st_inference import Speech2Text
from machine import cpu_name  # bench/machine.py

ROOT = Path(__file__).resolve().parents[1]
FRAMES_PER_SECOND = 100


def decode_all(speech2text, feats):
    """Total seconds spent decoding the utterances (after one untimed warm-up) and each one's best token ids."""
    speech2text(feats[0][1])
    seconds, hyps = 0.0, {}
    for utt, feat in feats:
        if speech2text.device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        results = speech2text(feat)
        if speech2text.device != "cpu":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        hyps[utt] = results[0][2]  # (text, tokens, token ids, hypothesis) of the best
    return seconds, hyps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe_dir", default=str(ROOT / "egs2" / "mini_st" / "st1"),
                        help="recipe directory; the paths below are relative to it")
    parser.add_argument("--model_dir", default="exp/st_ctc_ot_mtdec", help="ST model directory (config.yaml)")
    parser.add_argument("--model_file", default="valid.acc.ave.pth", help="checkpoint in --model_dir")
    parser.add_argument("--feats_scp", default="dump/fbank/test/feats.scp", help="kaldi scp of fbank features")
    parser.add_argument("--decode_config", default="conf/decode_st.yaml",
                        help="Speech2Text options (beam_size is overridden by --beam_size)")
    parser.add_argument("--num_utts", type=int, default=50, help="utterances decoded per mode (the first ones)")
    parser.add_argument("--beam_size", type=int, default=5, help="beam of the two beam-search modes")
    parser.add_argument("--device", default="cpu", help="torch device (cpu or cuda)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="also write the results here (relative to the current "
                                                     "directory), e.g. bench/results/decode.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    json_path = Path(args.json).resolve() if args.json else None
    os.chdir(args.recipe_dir)

    torch.manual_seed(0)
    decode_conf = yaml.safe_load(Path(args.decode_config).read_text()) or {}
    feats = list(kaldiio.load_scp_sequential(args.feats_scp))[: args.num_utts]
    seconds = sum(len(feat) for _, feat in feats) / FRAMES_PER_SECOND
    gpu = f" gpu={torch.cuda.get_device_name(args.device)}" if args.device.startswith("cuda") else ""
    print(f"# cpu={cpu_name()} cores={os.cpu_count()} threads={torch.get_num_threads()} torch={torch.__version__} "
          f"device={args.device}{gpu}")
    print(f"# {args.recipe_dir}/{args.model_dir}/{args.model_file}, {len(feats)} utterances of {args.feats_scp} "
          f"({seconds:.1f} s), decode options {decode_conf}")

    def speech2text(beam_size, search_class):
        model_dir = Path(args.model_dir)
        s2t = Speech2Text(st_train_config=str(model_dir / "config.yaml"),
                          st_model_file=str(model_dir / args.model_file),
                          device=args.device, batch_size=1, **{**decode_conf, "beam_size": beam_size})
        if type(s2t.beam_search) is not BatchBeamSearch:
            raise RuntimeError(f"ESPnet chose {type(s2t.beam_search).__name__}: the decode config has non-batch "
                               f"scorers, so there is no vectorised search to compare")
        s2t.beam_search.__class__ = search_class
        return s2t

    reference, greedy = f"beam {args.beam_size} BatchBeamSearch", "greedy BatchBeamSearch"
    modes = {
        reference: (args.beam_size, BatchBeamSearch),
        f"beam {args.beam_size} BeamSearch": (args.beam_size, BeamSearch),
        greedy: (1, BatchBeamSearch),
    }
    rtf, hyps = {}, {}
    for mode, (beam_size, search_class) in modes.items():
        decode_seconds, hyps[mode] = decode_all(speech2text(beam_size, search_class), feats)
        rtf[mode] = decode_seconds / seconds

    agree = {mode: sum(hyps[mode][utt] == hyps[reference][utt] for utt, _ in feats) for mode in modes}
    print(f"{'mode':<28} {'RTF':>8} {'/batch beam':>12} {'/greedy':>8} {'agree':>9}")
    for mode in modes:
        print(f"{mode:<28} {rtf[mode]:>8.4f} {rtf[mode] / rtf[reference]:>12.2f} {rtf[mode] / rtf[greedy]:>8.2f} "
              f"{f'{agree[mode]}/{len(feats)}':>9}")
    print(f"{'batch of several utterances':<28} not supported by ESPnet's st_inference (NotImplementedError)")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(dict(args=vars(args), audio_seconds=seconds, rtf=rtf, agree=agree),
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
