#!/usr/bin/env python3
"""Feature-extraction throughput: ctcot's fbank against torchaudio's and librosa's, as real-time factors.

Usage:
    tools/venv/bin/python bench/bench_fbank.py                  # 50 copies of the 24.7 s test audio
    tools/venv/bin/python bench/bench_fbank.py --copies 200 --repeats 5 --threads 0
    tools/venv/bin/python bench/bench_fbank.py --device cuda    # torchaudio's row on the GPU

Audio: the five LibriVox utterances of ``test/data/librivox/*.flac`` (real English speech, 16 kHz,
24.7 s in all), ``--copies`` times. 80 mel bins, 25 ms windows every 10 ms. Methods:

- ctcot:      ``ctcot.features.compute_fbank`` on the int16 samples (numpy in, numpy out);
- torchaudio: ``torchaudio.compliance.kaldi.fbank`` on ready float tensors with ctcot's options
              (no dither, energy floor 0), on ``--device``; the others always run on the CPU;
- librosa:    ``log(librosa.feature.melspectrogram(...))`` with the closest settings: 400-sample
              frames every 160 (n_fft=400, not centred, so frames match Kaldi's one to one),
              Hamming window, power spectrum, 80 HTK mel bands from 20 Hz to 8 kHz, unnormalised
              filters, on the samples scaled to int16 values. It is not Kaldi-compatible: Kaldi
              removes each frame's DC offset, pre-emphasises (0.97), uses the Povey window, pads
              frames to 512 FFT points and builds its triangles on the mel scale, so its values
              differ (the diff column shows by how much). On the test audio, switching these four
              off in torchaudio's fbank brings the mean difference from 1.84 to 0.006 (pre-emphasis
              alone: to 0.47);
- extract nj=1 / nj=2: ``ctcot.features.extract_data_dir`` end to end on a data dir listing the
              same utterances (read and decode the FLAC files, fbank, write the kaldi ark, scp and
              global statistics), in two chunks. nj=2 includes starting its two worker processes
              (spawned interpreters that import torch: seconds), which outweighs the work unless
              the audio takes much longer than that to process; the s/run column shows it.

Each method processes every utterance once per run; one warm-up run, then the median of
``--repeats`` runs. ``--threads`` sets torch's CPU threads in this process (default 1: one core
per method, as extract_data_dir gives each of its nj>1 workers).

Columns: seconds per run; RTF = processing seconds / audio seconds (lower is faster); the RTF's
ratio to torchaudio's and to librosa's (< 1: faster than it); diff from torchaudio's features: for
ctcot the largest absolute difference (should be exactly 0), for librosa the mean absolute
difference (log units) and the correlation.
"""
import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchaudio
from machine import cpu_name  # bench/machine.py
from torchaudio.compliance.kaldi import fbank

from ctcot.features import FbankConfig, compute_fbank, extract_data_dir, read_audio

ROOT = Path(__file__).resolve().parents[1]
CONFIG = FbankConfig()


def librosa_fbank(audio):
    """Log-mel features as close to Kaldi's as librosa's options allow: (frames, mel bins)."""
    import librosa  # not at the top: extract_data_dir's spawned workers re-import this script

    win = int(CONFIG.sample_rate * CONFIG.frame_length_ms / 1000)
    hop = int(CONFIG.sample_rate * CONFIG.frame_shift_ms / 1000)
    mel = librosa.feature.melspectrogram(
        y=audio.astype(np.float32), sr=CONFIG.sample_rate, n_fft=win, hop_length=hop, center=False,
        window="hamming", power=2.0, n_mels=CONFIG.num_mel_bins, fmin=20.0, htk=True, norm=None)
    return np.log(np.maximum(mel, np.finfo(np.float32).eps)).T


def time_runs(fn, items, repeats, sync=lambda: None):
    """Median seconds of one pass of fn over items (after one warm-up pass); also the last outputs."""
    times = []
    for i in range(repeats + 1):
        sync()
        start = time.perf_counter()
        outputs = [fn(item) for item in items]
        sync()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times), outputs


def time_extract(wav_scp_lines, num_utts, nj, repeats):
    """Median seconds of extract_data_dir (fresh output dir each run, so nothing is reused)."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        (data_dir / "wav.scp").write_text(wav_scp_lines)
        for i in range(repeats + 1):
            start = time.perf_counter()
            extract_data_dir(data_dir, Path(tmp) / f"out{nj}.{i}", nj=nj, utts_per_chunk=math.ceil(num_utts / 2))
            if i:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio_dir", default=str(ROOT / "test" / "data" / "librivox"), help="directory of *.flac")
    parser.add_argument("--copies", type=int, default=50, help="times each utterance is processed per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (after 1 warm-up)")
    parser.add_argument("--device", default="cpu", help="torch device of the torchaudio row")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default=None, help="also write the results here, e.g. bench/results/fbank.json")
    args = parser.parse_args()
    import librosa  # for its version; see librosa_fbank

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    device = torch.device(args.device)

    paths = sorted(Path(args.audio_dir).glob("*.flac"))
    if not paths:
        parser.error(f"no *.flac in {args.audio_dir}")
    audios = [read_audio(str(path))[1] for path in paths] * args.copies  # int16
    seconds = sum(len(a) for a in audios) / CONFIG.sample_rate
    gpu = f" gpu={torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"# cpu={cpu_name()} cores={os.cpu_count()} threads={torch.get_num_threads()} torch={torch.__version__} "
          f"torchaudio={torchaudio.__version__} librosa={librosa.__version__} device={args.device}{gpu}")
    print(f"# {len(audios)} utterances ({len(paths)} files x {args.copies}), {seconds:.1f} s of audio; "
          f"median of {args.repeats} runs after 1 warm-up")

    waveforms = [torch.from_numpy(a.astype(np.float32)).unsqueeze(0).to(device) for a in audios]
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    results = {}
    results["torchaudio"], reference = time_runs(
        lambda w: fbank(w, num_mel_bins=CONFIG.num_mel_bins, frame_length=CONFIG.frame_length_ms,
                        frame_shift=CONFIG.frame_shift_ms, dither=0.0, energy_floor=0.0,
                        sample_frequency=CONFIG.sample_rate),
        waveforms, args.repeats, sync)
    reference = np.concatenate([r.cpu().numpy() for r in reference])
    results["ctcot"], ctcot_feats = time_runs(lambda a: compute_fbank(a, CONFIG.sample_rate), audios, args.repeats)
    results["librosa"], librosa_feats = time_runs(librosa_fbank, audios, args.repeats)
    ctcot_feats, librosa_feats = np.concatenate(ctcot_feats), np.concatenate(librosa_feats)
    assert ctcot_feats.shape == librosa_feats.shape == reference.shape, (ctcot_feats.shape, librosa_feats.shape)
    diffs = {
        "torchaudio": "0 (reference)",
        "ctcot": f"max {np.abs(ctcot_feats - reference).max():.1e}",
        "librosa": f"mean {np.abs(librosa_feats - reference).mean():.2f}, "
                   f"corr {np.corrcoef(librosa_feats.ravel(), reference.ravel())[0, 1]:.4f}",
    }
    wav_scp = "".join(f"utt{i:05d} {paths[i % len(paths)]}\n" for i in range(len(audios)))
    for nj in (1, 2):
        results[f"extract nj={nj}"] = time_extract(wav_scp, len(audios), nj, args.repeats)
        diffs[f"extract nj={nj}"] = "-"

    rtf = {name: t / seconds for name, t in results.items()}
    print(f"{'method':<14} {'s/run':>7} {'RTF':>9} {'/torchaudio':>12} {'/librosa':>9}  diff from torchaudio")
    for name in ["ctcot", "torchaudio", "librosa", "extract nj=1", "extract nj=2"]:
        print(f"{name:<14} {results[name]:>7.2f} {rtf[name]:>9.5f} {rtf[name] / rtf['torchaudio']:>12.2f} "
              f"{rtf[name] / rtf['librosa']:>9.2f}  {diffs[name]}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dict(args=vars(args), audio_seconds=seconds, rtf=rtf, diff=diffs),
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
