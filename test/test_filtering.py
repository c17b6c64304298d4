"""ctcot.filtering: drop too short, too long, empty and incomplete utterances (ESPnet st.sh stage 4), and those
CTC cannot align (stage 5)."""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import torch
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

from ctcot.bin import filter_data_dir as filter_cli
from ctcot.data_dir import read_kv, validate_data_dir, write_kv
from ctcot.filtering import (
    FilterReport,
    ctc_min_frames,
    drop_ctc_infeasible,
    encoder_frames,
    filter_data_dir,
    nonfinite_features,
)

# utterance: frames, English, German, lower-cased English (None: missing from that file).
UTTERANCES = {
    "spk1-a": (120, "a cat", "eine Katze", "a cat"),
    "spk1-b": (8, "the dog", "der Hund", "the dog"),  # too short
    "spk1-c": (10, "it runs", "es läuft", "it runs"),  # exactly min_frames: kept
    "spk2-a": (3001, "birds", "Vögel", "birds"),  # too long
    "spk2-b": (3000, "a big tree", "ein großer Baum", "a big tree"),  # exactly max_frames: kept
    "spk2-c": (200, "a red house", "   ", "a red house"),  # empty German transcript
    "spk3-a": (150, "the cat", "die Katze", None),  # missing from text.lc.rm.en
    "spk3-b": (None, "a dog", "ein Hund", "a dog"),  # missing from utt2num_frames
    "spk3-c": (5, "", "", None),  # several reasons: the first one counts
}
KEPT = ["spk1-a", "spk1-c", "spk2-b"]
DROPPED = {
    "spk1-b": "too_short(8<10)",
    "spk2-a": "too_long(3001>3000)",
    "spk2-c": "empty:text.tc.de",
    "spk3-a": "missing:text.lc.rm.en",
    "spk3-b": "missing:utt2num_frames",
    "spk3-c": "missing:text.lc.rm.en",
}


def write(root: Path, name: str, lines: List[str]) -> None:
    (root / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def make_dir(root: Path, utterances=UTTERANCES) -> Path:
    """A data dir (wav.scp paths are not read) with features, speeds and three text files."""
    root.mkdir(parents=True, exist_ok=True)
    utts = sorted(utterances)
    write(root, "wav.scp", [f"{u} /audio/{u}.wav" for u in utts])
    write(root, "utt2spk", [f"{u} {u.split('-')[0]}" for u in utts])
    write(root, "feats.scp", [f"{u} data/feats.1.ark:{10 * i}" for i, u in enumerate(utts)])
    write(root, "utt2speed", [f"{u} 1.0" for u in utts])
    write(root, "utt2uniq", [f"{u} {u}" for u in utts])
    write(root, "utt2num_frames", [f"{u} {utterances[u][0]}" for u in utts if utterances[u][0] is not None])
    for column, name in enumerate(("text.tc.en", "text.tc.de", "text.lc.rm.en"), 1):
        write(root, name, [f"{u} {utterances[u][column]}".rstrip(" ") if utterances[u][column] != "   "
                           else f"{u}    " for u in utts if utterances[u][column] is not None])
    return root


def snapshot(path: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def test_drops_the_right_utterances_with_reasons(tmp_path):
    src = make_dir(tmp_path / "src")
    before = snapshot(src)
    dst = tmp_path / "dst"
    report = filter_data_dir(src, dst, min_frames=10, max_frames=3000)
    assert snapshot(src) == before
    assert report == FilterReport(src=src, dst=dst, total=9, kept=3, dropped={
        "empty:text.tc.de": 1, "missing:text.lc.rm.en": 2, "missing:utt2num_frames": 1, "too_long": 1,
        "too_short": 1})
    assert report.num_dropped == 6
    assert (dst / "dropped_utts").read_text(encoding="utf-8") == "".join(
        f"{utt} {reason}\n" for utt, reason in sorted(DROPPED.items()))

    assert validate_data_dir(dst, require_audio_exists=False).num_utterances == 3
    for name in ("wav.scp", "utt2spk", "feats.scp", "utt2num_frames", "utt2speed", "utt2uniq",
                 "text.tc.en", "text.tc.de", "text.lc.rm.en"):
        assert list(read_kv(dst / name)) == KEPT, name
    assert read_kv(dst / "feats.scp") == {u: v for u, v in read_kv(src / "feats.scp").items() if u in KEPT}
    assert read_kv(dst / "spk2utt") == {"spk1": "spk1-a spk1-c", "spk2": "spk2-b"}


def test_bounds_text_files_and_word_limit(tmp_path):
    src = make_dir(tmp_path / "src", {u: v for u, v in UTTERANCES.items() if u < "spk3"})
    report = filter_data_dir(src, tmp_path / "wide", min_frames=1, max_frames=5000, max_text_words=2)
    assert report.dropped == {"empty:text.tc.de": 1, "too_many_words:text.lc.rm.en": 1}  # files in byte order
    assert read_kv(tmp_path / "wide" / "dropped_utts")["spk2-b"] == "too_many_words:text.lc.rm.en(3>2)"

    # Only the named text files are checked; an empty kept transcript in another one is an error.
    (src / "text.tc.de").write_text("".join(f"{u} x\n" for u in sorted(read_kv(src / "utt2spk"))))
    report = filter_data_dir(src, tmp_path / "en", text_files=["text.tc.en"])
    assert (report.kept, report.dropped) == (4, {"too_long": 1, "too_short": 1})
    assert (tmp_path / "en" / "dropped_utts").read_text().splitlines() == [
        "spk1-b too_short(8<10)", "spk2-a too_long(3001>3000)"]
    write(src, "text.tc.de", [f"{u} {'x' if u != 'spk1-a' else ''}" for u in sorted(read_kv(src / "utt2spk"))])
    with pytest.raises(ValueError, match=r"empty transcript in a text file not in text_files.*text.tc.de: spk1-a"):
        filter_data_dir(src, tmp_path / "de", text_files=["text.tc.en"])
    assert not (tmp_path / "de").exists()
    write(src, "text.tc.de", [f"{u} x" for u in sorted(read_kv(src / "utt2spk"))])

    nothing = filter_data_dir(src, tmp_path / "all", min_frames=0, max_frames=10 ** 6, text_files=["text.tc.en"])
    assert (nothing.kept, nothing.dropped) == (6, {})
    assert (tmp_path / "all" / "dropped_utts").read_text() == ""


def test_errors(tmp_path):
    src = make_dir(tmp_path / "src")
    with pytest.raises(ValueError, match=f"{src}: all 9 utterances would be dropped.*too_short: 6"):
        filter_data_dir(src, tmp_path / "none", min_frames=4000, max_frames=5000)
    assert not (tmp_path / "none").exists()
    with pytest.raises(ValueError, match="min_frames <= max_frames"):
        filter_data_dir(src, tmp_path / "dst", min_frames=20, max_frames=10)
    with pytest.raises(ValueError, match="source directory"):
        filter_data_dir(src, src)
    (src / "utt2num_frames").unlink()
    with pytest.raises(FileNotFoundError, match="utt2num_frames"):
        filter_data_dir(src, tmp_path / "dst")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ctcot.bin.filter_data_dir", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_cli(tmp_path):
    src = make_dir(tmp_path / "src")
    result = run_cli(str(src), str(tmp_path / "dst"), "--min_frames", "10", "--max_frames", "3000")
    assert result.returncode == 0, result.stderr
    assert "dropped 1 utterance(s): too_short" in result.stderr
    assert list(read_kv(tmp_path / "dst" / "utt2spk")) == KEPT
    result = run_cli(str(src), str(tmp_path / "none"), "--min_frames", "4000", "--max_frames", "5000")
    assert result.returncode == 1
    assert "would be dropped" in result.stderr and "Traceback" not in result.stderr
    assert filter_cli.main([str(src), str(tmp_path / "en"), "--text_files", "text.tc.en", "text.tc.de",
                           "text.lc.rm.en", "--max_frames", "5000"]) == 0
    assert list(read_kv(tmp_path / "en" / "utt2spk")) == sorted(KEPT + ["spk2-a"])
    assert filter_cli.main([str(src), str(tmp_path / "x"), "--text_files", "text.fr"]) == 1


@pytest.mark.parametrize("input_layer", ["conv2d", "conv2d1", "conv2d2", "conv2d6", "conv2d8"])
def test_encoder_frames_equal_espnet_encoder_lengths(input_layer):
    encoder = TransformerEncoder(40, output_size=8, attention_heads=1, linear_units=8, num_blocks=1,
                                 input_layer=input_layer)
    for frames in (15, 16, 17, 18, 100, 1001):
        _, lengths, _ = encoder(torch.zeros(1, frames, 40), torch.tensor([frames]))
        assert encoder_frames(frames, input_layer) == lengths.item(), frames
    assert encoder_frames(100, None) == 100


def test_ctc_min_frames_counts_a_blank_between_repeats():
    assert ctc_min_frames([]) == 0
    assert ctc_min_frames(list("abc")) == 3
    assert ctc_min_frames(list("aab")) == 4 and ctc_min_frames(list("aaa")) == 5


def test_drop_ctc_infeasible_rewrites_the_shape_files(tmp_path):
    """utt2 has 6 tokens (5 + one repeat) for 5 encoder frames (24 frames, conv2d): dropped; utt1 fits exactly."""
    write_kv(tmp_path / "utt2num_frames", {"utt1": "24", "utt2": "24", "utt3": "100"})
    write_kv(tmp_path / "text", {"utt1": "a b c d e", "utt2": "a b b c d", "utt3": "a"})
    for name in ("speech_shape", "text_shape"):
        write_kv(tmp_path / name, {"utt1": "24,80", "utt2": "24,80", "utt3": "100,80"})
    dropped = drop_ctc_infeasible(tmp_path, tmp_path / "text", str.split, "conv2d",
                                  [tmp_path / "speech_shape", tmp_path / "text_shape"])
    assert dropped == {"utt2": "ctc_infeasible(6>5)"}
    assert read_kv(tmp_path / "dropped_utts_ctc") == dropped
    assert list(read_kv(tmp_path / "speech_shape")) == list(read_kv(tmp_path / "text_shape")) == ["utt1", "utt3"]
    with pytest.raises(ValueError, match="every utterance has more source tokens"):
        drop_ctc_infeasible(tmp_path, tmp_path / "text", lambda text: text.split() * 30, "conv2d",
                            [tmp_path / "speech_shape"])


def test_non_finite_features_are_named(tmp_path):
    """NaN features once reached training, which named neither the NaN nor the utterance."""
    import kaldiio
    import numpy as np

    src = make_dir(tmp_path / "src")
    feats = {u: np.ones((UTTERANCES[u][0] or 20, 4), dtype=np.float32) for u in sorted(UTTERANCES)}
    feats["spk1-a"][[3, 7], 1] = np.nan
    feats["spk2-a"][0, 0] = np.inf  # dropped as too long: not checked
    with kaldiio.WriteHelper(f"ark,scp:{src}/feats.ark,{src}/feats.scp") as writer:
        for utt, matrix in feats.items():
            writer(utt, matrix)
    assert nonfinite_features(src / "feats.scp") == {"spk1-a": 2, "spk2-a": 1}
    assert filter_data_dir(src, tmp_path / "unchecked").kept == len(KEPT)
    with pytest.raises(ValueError, match=r"feats.scp: 1 utterance\(s\) have NaN or infinite features: "
                                         r"spk1-a \(2 frame\(s\)\).*nothing written"):
        filter_data_dir(src, tmp_path / "dst", check_features=True)
    assert not (tmp_path / "dst").exists()
    result = run_cli(str(src), str(tmp_path / "dst"), "--check_features")
    assert result.returncode == 1 and "spk1-a" in result.stderr and "Traceback" not in result.stderr
