"""ctcot.speed_perturb and speed perturbation at feature extraction (ctcot.features)."""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import kaldiio
import numpy as np
import pytest
import soundfile

from ctcot.bin import speed_perturb as perturb_cli
from ctcot.data_dir import DataDirError, read_kv, validate_data_dir
from ctcot.features import change_speed, extract_data_dir
from ctcot.speed_perturb import perturb_data_dir

# utterance, speaker, recording, start, end, English, German
UTTERANCES = [
    ("spk1-a", "spk1", "rec1", 0.0, 0.4, "a cat", "eine Katze"),
    ("spk1-b", "spk1", "rec1", 0.5, 0.9, "the dog", "der Hund"),
    ("spk2-a", "spk2", "rec2", 0.1, 0.6, "a big tree", "ein großer Baum"),
]
FACTORS = (0.9, 1.0, 1.1)


def write_wav(path: Path, seconds: float, seed: int) -> None:
    audio = 3000 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))
    soundfile.write(path, audio.astype(np.int16), 16000, subtype="PCM_16")


def write(root: Path, name: str, lines) -> None:
    (root / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def make_dir(root: Path, segments: bool) -> Path:
    root.mkdir(parents=True)
    if segments:
        for i, reco in enumerate(("rec1", "rec2")):
            write_wav(root / f"{reco}.wav", 1.0, i)
        write(root, "wav.scp", [f"{reco} {root}/{reco}.wav" for reco in ("rec1", "rec2")])
        write(root, "segments", [f"{u[0]} {u[2]} {u[3]} {u[4]}" for u in UTTERANCES])
        write(root, "reco2dur", ["rec1 1.0", "rec2 1.0"])
    else:
        for i, u in enumerate(UTTERANCES):
            write_wav(root / f"{u[0]}.wav", u[4] - u[3], i)
        write(root, "wav.scp", [f"{u[0]} {root}/{u[0]}.wav" for u in UTTERANCES])
    write(root, "utt2spk", [f"{u[0]} {u[1]}" for u in UTTERANCES])
    write(root, "spk2utt", ["spk1 spk1-a spk1-b", "spk2 spk2-a"])
    write(root, "text.tc.en", [f"{u[0]} {u[5]}" for u in UTTERANCES])
    write(root, "text.tc.de", [f"{u[0]} {u[6]}" for u in UTTERANCES])
    write(root, "utt2dur", [f"{u[0]} {u[4] - u[3]:.1f}" for u in UTTERANCES])
    write(root, "utt2num_frames", [f"{u[0]} 38" for u in UTTERANCES])
    write(root, "feats.scp", [f"{u[0]} feats.ark:{10 * i}" for i, u in enumerate(UTTERANCES)])
    return root


def snapshot(path: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def keys_in_order(path: Path):
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("segments", [False, True])
def test_perturbed_ids_speakers_texts_and_audio(tmp_path, segments):
    src = make_dir(tmp_path / "src", segments)
    before = snapshot(src)
    dst = tmp_path / "sp"
    perturb_data_dir(src, dst, FACTORS)
    assert snapshot(src) == before

    utts = sorted(f"{prefix}{u[0]}" for prefix in ("", "sp0.9-", "sp1.1-") for u in UTTERANCES)
    for name in ("utt2spk", "text.tc.en", "text.tc.de", "utt2dur", "utt2speed", "utt2uniq",
                 "segments" if segments else "wav.scp"):
        assert keys_in_order(dst / name) == utts, name  # every id, sorted in byte order
    utt2spk = read_kv(dst / "utt2spk")
    assert utt2spk["sp0.9-spk1-b"] == "sp0.9-spk1" and utt2spk["spk2-a"] == "spk2"
    assert read_kv(dst / "spk2utt")["sp1.1-spk1"] == "sp1.1-spk1-a sp1.1-spk1-b"
    assert read_kv(dst / "text.tc.de")["sp1.1-spk2-a"] == "ein großer Baum"
    assert read_kv(dst / "utt2speed") == {**{f"sp0.9-{u[0]}": "0.9" for u in UTTERANCES},
                                          **{u[0]: "1.0" for u in UTTERANCES},
                                          **{f"sp1.1-{u[0]}": "1.1" for u in UTTERANCES}}
    assert read_kv(dst / "utt2uniq")["sp0.9-spk1-a"] == "spk1-a"
    durations = read_kv(dst / "utt2dur")
    assert float(durations["sp0.9-spk2-a"]) == pytest.approx(0.5 / 0.9, abs=1e-5)
    assert durations["spk2-a"] == "0.5"
    # Recomputed from the perturbed audio, not copied; reco2dur no longer says how long the copies are.
    assert not any((dst / name).exists() for name in ("feats.scp", "utt2num_frames", "reco2dur"))

    wav = read_kv(dst / "wav.scp")
    if segments:
        assert list(wav) == ["rec1", "rec2", "sp0.9-rec1", "sp0.9-rec2", "sp1.1-rec1", "sp1.1-rec2"]
        assert wav["sp1.1-rec2"] == wav["rec2"] == f"{src}/rec2.wav"
        assert read_kv(dst / "segments")["sp0.9-spk1-b"] == "sp0.9-rec1 0.5 0.9"  # original times
    else:
        assert wav["sp0.9-spk1-a"] == wav["spk1-a"] == f"{src}/spk1-a.wav"
    report = validate_data_dir(dst)
    assert (report.num_utterances, report.num_speakers) == (9, 6)


def test_rerun_replaces_files_and_perturbing_twice_multiplies(tmp_path):
    src = make_dir(tmp_path / "src", segments=False)
    dst = tmp_path / "sp"
    perturb_data_dir(make_dir(tmp_path / "seg", segments=True), dst, FACTORS)
    (dst / "feats.scp").write_text("stale 1\n")
    (dst / "notes.txt").write_text("kept\n")
    perturb_data_dir(src, dst, [1.1])
    assert not (dst / "segments").exists() and not (dst / "feats.scp").exists()
    assert (dst / "notes.txt").read_text() == "kept\n"
    assert keys_in_order(dst / "utt2spk") == [f"sp1.1-{u[0]}" for u in UTTERANCES]

    twice = tmp_path / "twice"
    perturb_data_dir(dst, twice, [0.9])
    assert read_kv(twice / "utt2speed")["sp0.9-sp1.1-spk1-a"] == "0.99"
    assert read_kv(twice / "utt2uniq")["sp0.9-sp1.1-spk1-a"] == "spk1-a"
    assert read_kv(twice / "utt2spk")["sp0.9-sp1.1-spk1-a"] == "sp0.9-sp1.1-spk1"


@pytest.mark.parametrize("factors, message", [
    ([], "no speed factor"), ([0.9, 0.0], "not positive"), ([-1.1], "not positive"),
    ([float("nan")], "not positive"), ([0.9, 1.0, 0.9], "not unique"),
])
def test_bad_factors(tmp_path, factors, message):
    src = make_dir(tmp_path / "src", segments=False)
    with pytest.raises(ValueError, match=message):
        perturb_data_dir(src, tmp_path / "sp", factors)
    assert not (tmp_path / "sp").exists()


def test_bad_source_or_destination(tmp_path):
    src = make_dir(tmp_path / "src", segments=False)
    before = snapshot(src)
    with pytest.raises(ValueError, match="source directory"):
        perturb_data_dir(src, tmp_path / "src" / ".." / "src")
    assert snapshot(src) == before
    (src / "text.tc.de").write_text("spk1-a eine Katze\n")  # two transcripts missing
    with pytest.raises(DataDirError, match="spk1-b"):
        perturb_data_dir(src, tmp_path / "sp")


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64) * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / 16000)[np.argmax(spectrum)])


def test_speed_perturb_changes_tempo_and_pitch():
    t = np.arange(16000) / 16000
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    assert peak_hz(tone) == pytest.approx(440, abs=1.5)
    fast = change_speed(tone, 1.1)
    assert fast.dtype == np.int16
    assert abs(len(fast) - 16000 / 1.1) <= 1
    assert peak_hz(fast) == pytest.approx(484, abs=1.5)
    slow = change_speed(tone / 32768.0, 0.9)
    assert slow.dtype == np.float64
    assert abs(len(slow) - 16000 / 0.9) <= 1
    assert peak_hz(slow) == pytest.approx(396, abs=1.5)
    assert np.abs(slow).max() == pytest.approx(10000 / 32768, rel=0.02)  # level kept
    assert change_speed(tone, 1.0) is tone
    for factor in (0.0, -0.9, float("inf")):
        with pytest.raises(ValueError, match="not a positive number"):
            change_speed(tone, factor)


@pytest.mark.parametrize("segments", [False, True])
def test_extract_applies_the_speed(tmp_path, segments):
    src = make_dir(tmp_path / "src", segments)
    sp = tmp_path / "sp"
    perturb_data_dir(src, sp, FACTORS)
    original = extract_data_dir(src, tmp_path / "dump_src")
    frames = extract_data_dir(sp, tmp_path / "dump_sp", utts_per_chunk=4)
    feats = dict(kaldiio.load_scp(str(tmp_path / "dump_sp" / "feats.scp")))
    original_feats = dict(kaldiio.load_scp(str(tmp_path / "dump_src" / "feats.scp")))
    assert read_kv(tmp_path / "dump_sp" / "utt2num_frames") == {utt: str(n) for utt, n in frames.items()}
    for utt, n in original.items():
        assert frames[utt] == n
        np.testing.assert_array_equal(feats[utt], original_feats[utt])  # factor 1.0: bit-exact
        for factor in (0.9, 1.1):
            assert abs(frames[f"sp{factor}-{utt}"] - n / factor) <= 2, (utt, factor)
            assert feats[f"sp{factor}-{utt}"].shape == (frames[f"sp{factor}-{utt}"], 80)


def test_chunk_cache_knows_the_speeds(tmp_path):
    src = make_dir(tmp_path / "src", segments=False)
    sp = tmp_path / "sp"
    perturb_data_dir(src, sp, [1.0, 1.1])
    out = tmp_path / "dump"
    frames = extract_data_dir(sp, out, utts_per_chunk=1)
    arks = sorted((out / "data").glob("*.ark"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in arks}
    assert extract_data_dir(sp, out, utts_per_chunk=1) == frames  # all reused
    assert {p.name: p.stat().st_mtime_ns for p in arks} == mtimes

    speeds = read_kv(sp / "utt2speed")
    speeds["sp1.1-spk2-a"] = "1.25"  # the audio of this one changes: its chunk is redone
    (sp / "utt2speed").write_text("".join(f"{u} {s}\n" for u, s in speeds.items()))
    redone = extract_data_dir(sp, out, utts_per_chunk=1)
    assert redone["sp1.1-spk2-a"] == 1 + (int(0.5 * 16000 / 1.25) - 400) // 160
    assert {utt: n for utt, n in redone.items() if utt != "sp1.1-spk2-a"} == \
           {utt: n for utt, n in frames.items() if utt != "sp1.1-spk2-a"}
    changed = [p.name for p in arks if p.stat().st_mtime_ns != mtimes[p.name]]
    assert len(changed) == 1

    (sp / "utt2speed").write_text("spk1-a 1.0\n")
    with pytest.raises(ValueError, match="5 utterance.*no speed factor"):
        extract_data_dir(sp, out)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ctcot.bin.speed_perturb", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_cli(tmp_path):
    src = make_dir(tmp_path / "src", segments=True)
    result = run_cli(str(src), str(tmp_path / "sp"), "--factors", "0.9", "1.0", "1.1")
    assert result.returncode == 0, result.stderr
    assert len(read_kv(tmp_path / "sp" / "utt2spk")) == 9
    result = run_cli(str(src), str(tmp_path / "bad"), "--factors", "1.1", "1.1")
    assert result.returncode == 1
    assert "not unique" in result.stderr and "Traceback" not in result.stderr
    assert perturb_cli.main([str(tmp_path / "missing"), str(tmp_path / "sp2")]) == 1
    assert perturb_cli.main([str(src), str(tmp_path / "sp2"), "--factors", "1.0"]) == 0
