#!/usr/bin/env python3
"""A few real epochs of CTC+OT pre-training (``ctcot.bin.ctcot_train``) on generated data: the loss falls, no NaN.

Usage:
    python bench/train_check.py --device cuda --output_dir /tmp/train_check          # fp32 and AMP
    python bench/train_check.py --device cpu --output_dir /tmp/train_check --amp false

The data: ``--num_utts`` utterances of random 80-dim "fbank" frames (a kaldiio ark) whose source
transcripts are random words, each word shifting the mean of its stretch of frames, so that CTC has
something to learn. The model: the mini recipe's tiny CTC+OT config
(``egs2/mini_st/st1/conf/tiny/pretrain_ctc_ot.yaml``) with its text encoder from scratch. It trains
through ESPnet's trainer exactly as st.sh stage 7 runs it (``--ngpu 1`` on CUDA), once in fp32 and,
with ``--amp true``, once with ESPnet's ``--use_amp true`` (CUDA only: ESPnet's AMP is CUDA's
autocast and GradScaler). Each run's per-epoch training losses are read from ESPnet's checkpoint
(its reporter) and written, with the verdict, to ``<output_dir>/train_check.json``; the exit status
is 1 if any run failed, went NaN or did not lower its loss.
"""
import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "egs2" / "mini_st" / "st1" / "conf" / "tiny" / "pretrain_ctc_ot.yaml"
WORDS = "the cat dog sees a big small red house tree runs under over bird".split()
FEAT_DIM = 80


def write_data(directory: Path, num_utts: int, seed: int) -> None:
    """feats.scp/ark, the source text and ESPnet's shape files of ``num_utts`` generated utterances."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    texts, speech_shapes, text_shapes = [], [], []
    with kaldiio.WriteHelper(f"ark,scp:{directory / 'feats.ark'},{directory / 'feats.scp'}") as writer:
        for i in range(num_utts):
            utt = f"utt{seed}_{i:04d}"
            words = list(rng.choice(WORDS, size=rng.integers(3, 8)))
            frames = np.concatenate([rng.standard_normal((40, FEAT_DIM)) + WORDS.index(w) / 4 for w in words])
            writer(utt, frames.astype(np.float32))
            texts.append(f"{utt} {' '.join(words)}")
            speech_shapes.append(f"{utt} {len(frames)},{FEAT_DIM}")
            text_shapes.append(f"{utt} {len(words)},{len(WORDS) + 3}")
    for name, lines in (("text", texts), ("speech_shape", speech_shapes), ("text_shape", text_shapes)):
        (directory / name).write_text("\n".join(lines) + "\n")


def train(work_dir: Path, name: str, device: str, use_amp: bool, max_epoch: int) -> dict:
    """Run ctcot_train; return its per-epoch training losses and status."""
    output_dir = work_dir / name
    data = {split: work_dir / "data" / split for split in ("train", "valid")}
    command = [
        sys.executable, "-m", "ctcot.bin.ctcot_train", "--config", str(CONFIG), "--output_dir", str(output_dir),
        "--ngpu", "1" if device.startswith("cuda") else "0", "--use_amp", str(use_amp).lower(),
        "--max_epoch", str(max_epoch), "--batch_size", "8", "--keep_epoch_models", "false",
        "--input_size", str(FEAT_DIM), "--normalize", "none", "--src_token_type", "word",
        "--src_token_list", str(work_dir / "tokens.txt"), "--use_preprocessor", "true",
        "--non_linguistic_symbols", "none", "--cleaner", "none", "--resume", "false",
        "--scheduler_conf", "warmup_steps=20",
    ]
    for split, prefix in (("train", "train"), ("valid", "valid")):
        command += [f"--{prefix}_data_path_and_name_and_type", f"{data[split]}/feats.scp,speech,kaldi_ark",
                    f"--{prefix}_data_path_and_name_and_type", f"{data[split]}/text,src_text,text",
                    f"--{prefix}_shape_file", f"{data[split]}/speech_shape",
                    f"--{prefix}_shape_file", f"{data[split]}/text_shape"]
    log = work_dir / f"{name}.log"
    with open(log, "w", encoding="utf-8") as out:
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    result = dict(name=name, use_amp=use_amp, exit_status=status, log=str(log), train_loss=[], valid_loss=[])
    checkpoint = output_dir / "checkpoint.pth"
    if status == 0 and checkpoint.is_file():
        stats = torch.load(checkpoint, map_location="cpu", weights_only=False)["reporter"]["stats"]
        for epoch in sorted(stats):
            result["train_loss"].append(float(stats[epoch]["train"]["loss"]))
            result["valid_loss"].append(float(stats[epoch]["valid"]["loss"]))
    losses = result["train_loss"] + result["valid_loss"]
    result["finite"] = bool(losses) and all(math.isfinite(x) for x in losses)
    result["loss_fell"] = len(result["train_loss"]) >= 2 and result["train_loss"][-1] < result["train_loss"][0]
    result["ok"] = status == 0 and result["finite"] and result["loss_fell"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--output_dir", required=True, help="work directory; train_check.json goes here")
    parser.add_argument("--num_utts", type=int, default=64, help="training utterances (validation: a quarter)")
    parser.add_argument("--max_epoch", type=int, default=3)
    parser.add_argument("--amp", default="true", choices=["true", "false"], help="also a run with --use_amp "
                                                                                "(CUDA only)")
    args = parser.parse_args()
    work_dir = Path(args.output_dir).resolve()
    write_data(work_dir / "data" / "train", args.num_utts, seed=1)
    write_data(work_dir / "data" / "valid", max(args.num_utts // 4, 4), seed=2)
    (work_dir / "tokens.txt").write_text("\n".join(["<blank>", "<unk>", *WORDS, "<sos/eos>"]) + "\n")
    assert yaml.safe_load(CONFIG.read_text())["frontend"] is None  # the config reads features
    runs = [train(work_dir, "fp32", args.device, False, args.max_epoch)]
    if args.amp == "true" and args.device.startswith("cuda"):
        runs.append(train(work_dir, "amp", args.device, True, args.max_epoch))
    (work_dir / "train_check.json").write_text(json.dumps(dict(device=args.device, runs=runs), indent=2))
    for run in runs:
        print(f"{run['name']}: exit {run['exit_status']}, train loss {run['train_loss']}, "
              f"{'ok' if run['ok'] else 'FAILED'}")
    return 0 if all(run["ok"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
