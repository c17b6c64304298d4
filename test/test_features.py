"""ctcot.features: Kaldi-compatible fbank into ark/scp, CMVN stats, segments, resumption, bad audio, full disk."""
import errno
import logging
import os
import shutil
import types

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import torchaudio.compliance.kaldi

import ctcot.features
from ctcot.bin.make_fbank import main as make_fbank
from ctcot.data_dir import MAX_SHOWN_PROBLEMS
from ctcot.features import BadAudioError, DiskFullError, compute_fbank, extract_data_dir, read_audio


def write_dir(root, durations, segments=False):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    scp, seg = [], []
    for i, duration in enumerate(durations):
        audio = (3000 * rng.standard_normal(int(16000 * duration))).astype(np.int16)
        path = root / f"rec{i}.wav"
        soundfile.write(path, audio, 16000, subtype="PCM_16")
        scp.append(f"rec{i} {path}")
        seg += [f"rec{i}-a rec{i} 0.00 {duration / 2:.2f}", f"rec{i}-b rec{i} {duration / 2:.2f} {duration:.2f}"]
    (root / "wav.scp").write_text("\n".join(scp) + "\n")
    if segments:
        (root / "segments").write_text("\n".join(seg) + "\n")
    return root


def test_matches_torchaudio_kaldi_fbank_on_int16_and_float_audio():
    audio = (3000 * np.random.default_rng(1).standard_normal(16000)).astype(np.int16)
    expected = torchaudio.compliance.kaldi.fbank(torch.from_numpy(audio.astype(np.float32)).unsqueeze(0),
                                                 num_mel_bins=80, dither=0.0, energy_floor=0.0).numpy()
    feats = compute_fbank(audio, 16000)
    assert feats.shape == (98, 80)  # 1 s: 1 + (16000 - 400) // 160 frames
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(compute_fbank(audio / 32768.0, 16000), expected, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="22050 Hz"):
        compute_fbank(audio, 22050)


@pytest.mark.parametrize("nj", [1, 2])
def test_extract_writes_scp_frames_and_global_stats(tmp_path, nj):
    data = write_dir(tmp_path / "data", [0.5, 0.8, 1.1, 0.3, 0.6])
    out = tmp_path / "dump"
    frames = extract_data_dir(data, out, nj=nj, utts_per_chunk=2)
    feats = dict(kaldiio.load_scp(str(out / "feats.scp")))
    assert sorted(feats) == [f"rec{i}" for i in range(5)]
    assert [line.split()[0] for line in (out / "feats.scp").read_text().splitlines()] == sorted(feats)
    assert all(feats[u].shape == (frames[u], 80) for u in feats)
    assert frames["rec1"] == 1 + (int(0.8 * 16000) - 400) // 160
    stats = np.load(out / "feats_stats.npz")
    stacked = np.concatenate([feats[u] for u in sorted(feats)])
    assert int(stats["count"]) == stacked.shape[0]
    np.testing.assert_allclose(stats["sum"], stacked.sum(0), rtol=1e-5)
    np.testing.assert_allclose(stats["sum_square"], np.square(stacked.astype(np.float64)).sum(0), rtol=1e-5)


def test_segments_cut_the_recordings(tmp_path):
    data = write_dir(tmp_path / "data", [1.0, 0.6], segments=True)
    frames = extract_data_dir(data, tmp_path / "dump")
    assert sorted(frames) == ["rec0-a", "rec0-b", "rec1-a", "rec1-b"]
    assert frames["rec0-a"] == 1 + (8000 - 400) // 160


def test_rerun_reuses_finished_chunks(tmp_path):
    data = write_dir(tmp_path / "data", [0.5, 0.5, 0.5])
    out = tmp_path / "dump"
    extract_data_dir(data, out, utts_per_chunk=1)
    arks = sorted((out / "data").glob("*.ark"))
    mtimes = [p.stat().st_mtime_ns for p in arks]
    (out / "data" / "feats.1.ark").unlink()  # an interrupted chunk is redone, the others kept
    extract_data_dir(data, out, utts_per_chunk=1)
    assert [p.stat().st_mtime_ns for p in arks if p.name != "feats.1.ark"] == [mtimes[0], mtimes[2]]
    assert len(dict(kaldiio.load_scp(str(out / "feats.scp")))) == 3


def test_rerun_redoes_chunks_whose_audio_changed(tmp_path):
    data = write_dir(tmp_path / "data", [0.5, 0.5, 0.5])
    out = tmp_path / "dump"
    frames = extract_data_dir(data, out, utts_per_chunk=1)
    assert (out / "feat_dim").read_text() == "80\n"
    arks = sorted((out / "data").glob("*.ark"))
    mtimes = [p.stat().st_mtime_ns for p in arks]
    # rec1 now points at other, longer audio under the same id: only its chunk is redone.
    longer = (3000 * np.random.default_rng(5).standard_normal(16000)).astype(np.int16)
    soundfile.write(tmp_path / "other.wav", longer, 16000, subtype="PCM_16")
    (data / "wav.scp").write_text((data / "wav.scp").read_text().replace(str(data / "rec1.wav"),
                                                                          str(tmp_path / "other.wav")))
    redone = extract_data_dir(data, out, utts_per_chunk=1)
    assert redone == {**frames, "rec1": 98}
    assert [p.stat().st_mtime_ns != m for p, m in zip(arks, mtimes)] == [False, True, False]


def test_bad_audio_names_the_utterance(tmp_path):
    data = write_dir(tmp_path / "data", [0.5, 0.5])
    (tmp_path / "data" / "rec1.wav").write_bytes(b"not a wav file")
    with pytest.raises(BadAudioError, match="utterance rec1 .*cannot read it"):
        extract_data_dir(data, tmp_path / "dump")
    (tmp_path / "data" / "rec1.wav").unlink()
    with pytest.raises(BadAudioError, match="utterance rec1 .*file does not exist"):
        extract_data_dir(data, tmp_path / "dump")
    soundfile.write(tmp_path / "data" / "rec1.wav", np.zeros(100, dtype=np.int16), 16000)
    with pytest.raises(ValueError, match="rec1.*shorter than one 25.0 ms frame"):
        extract_data_dir(data, tmp_path / "dump")
    assert not (tmp_path / "dump" / "feats.scp").exists()  # nothing half-written is published


def write_bad_audio(data):
    """Make rec1-rec5 and rec7 of a data dir of 9 recordings unusable, each in another way."""
    (data / "rec1.wav").write_bytes(b"not a wav file")
    (data / "rec2.wav").write_bytes(b"")
    soundfile.write(data / "rec4.wav", np.zeros((8000, 2), dtype=np.int16), 16000)  # stereo
    (data / "rec5.wav").unlink()
    soundfile.write(data / "rec7.wav", np.zeros(100, dtype=np.int16), 16000)
    soundfile.write(data / "rec3.wav", np.zeros(0, dtype=np.int16), 16000)  # a header, no samples


@pytest.mark.parametrize("nj", [1, 2])
def test_all_bad_audio_is_listed_in_one_error_and_bad_audio_txt(tmp_path, nj):
    data = write_dir(tmp_path / "data", [0.5] * 9)
    expected = extract_data_dir(data, tmp_path / "undisturbed", utts_per_chunk=2)
    write_bad_audio(data)
    out = tmp_path / "dump"
    with pytest.raises(BadAudioError) as caught:
        extract_data_dir(data, out, nj=nj, utts_per_chunk=2)
    message = str(caught.value)
    reasons = {"rec1": "cannot read it: Error opening", "rec2": "empty file (0 bytes)",
               "rec3": "no samples (empty audio or segment)", "rec4": "2 channels, expected mono",
               "rec5": "file does not exist", "rec7": "100 samples are shorter than one 25.0 ms frame"}
    assert message.startswith(f"{data}: unusable audio, no features computed (6 problems):\n")
    for utt, reason in reasons.items():
        assert f"\n  utterance {utt} ({data / utt}.wav): {reason}" in message
    assert "hint: multichannel audio: downmix it to mono (e.g. sox in.wav -c 1 out.wav" in message
    assert "remix -" in message and "hint: too short" in message and "hint: unreadable audio" in message
    assert "resample" not in message  # no rate problem, no rate hint
    assert f"Full list (utterance, source, reason per line): {out / 'bad_audio.txt'}" in message
    lines = [line.split("\t") for line in (out / "bad_audio.txt").read_text().splitlines()]
    assert [(utt, source) for utt, source, _ in lines] == [(utt, f"{data / utt}.wav") for utt in reasons]
    assert all(reason.startswith(reasons[utt]) for utt, _, reason in lines)
    assert [(u, r) for u, _, r in caught.value.bad] == [(u, r) for u, _, r in lines]
    # Nothing of the failed run is marked finished but the one chunk of good audio (rec8), kept for the re-run.
    assert not (out / "feats.scp").exists()
    assert sorted(p.name for p in (out / "data").iterdir()) == ["done", "feats.4.ark"]
    assert os.listdir(out / "data" / "done") == ["4.npz"]
    kept = (out / "data" / "feats.4.ark").stat().st_mtime_ns
    write_dir(data, [0.5] * 9)  # the audio fixed (the same as before): the re-run completes, reusing rec8's chunk
    assert extract_data_dir(data, out, nj=nj, utts_per_chunk=2) == expected
    assert (out / "data" / "feats.4.ark").stat().st_mtime_ns == kept
    assert not (out / "bad_audio.txt").exists()
    assert_same_features(out, tmp_path / "undisturbed")


def test_bad_audio_list_is_bounded_and_make_fbank_logs_it(tmp_path, caplog):
    many = MAX_SHOWN_PROBLEMS + 2
    (tmp_path / "wav.scp").write_text("".join(f"u{i:02d} {tmp_path}/missing{i:02d}.wav\n" for i in range(many)))
    with caplog.at_level(logging.ERROR):
        assert make_fbank([str(tmp_path), str(tmp_path / "dump")]) == 1
    message = caplog.records[-1].getMessage()
    assert f"({many} problems):" in message
    assert message.count("\n  utterance u") == MAX_SHOWN_PROBLEMS
    assert "\n  ... and 2 more\n" in message
    assert len((tmp_path / "dump" / "bad_audio.txt").read_text().splitlines()) == many


def assert_same_features(out, reference):
    """``out`` holds the features, frame counts and statistics of ``reference``."""
    feats = dict(kaldiio.load_scp(str(out / "feats.scp")))
    expected = dict(kaldiio.load_scp(str(reference / "feats.scp")))
    assert sorted(feats) == sorted(expected)
    for utt in feats:
        np.testing.assert_array_equal(feats[utt], expected[utt])
    for name in ("utt2num_frames", "feat_dim"):
        assert (out / name).read_text() == (reference / name).read_text()
    stats, expected_stats = np.load(out / "feats_stats.npz"), np.load(reference / "feats_stats.npz")
    for key in ("count", "sum", "sum_square"):
        np.testing.assert_allclose(stats[key], expected_stats[key], rtol=1e-10)


class FullDisk(kaldiio.WriteHelper):
    """kaldiio's writer on a disk that fills up in the middle of utterance rec3."""

    def __call__(self, key, array):
        if key == "rec3":
            self.fark.write(b"rec3 \0BFM ")  # part of it gets written
            raise OSError(self.errno, os.strerror(self.errno))
        super().__call__(key, array)


@pytest.mark.parametrize("code, what", [(errno.ENOSPC, "no space left"), (errno.EDQUOT, "disk quota exceeded")])
def test_full_disk_names_the_file_removes_the_partial_chunk_and_resumes(tmp_path, monkeypatch, code, what):
    data = write_dir(tmp_path / "data", [0.5, 0.6, 0.7, 0.4, 0.5])
    extract_data_dir(data, tmp_path / "undisturbed", utts_per_chunk=2)
    out = tmp_path / "dump"
    monkeypatch.setattr(FullDisk, "errno", code, raising=False)
    monkeypatch.setattr(kaldiio, "WriteHelper", FullDisk)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: types.SimpleNamespace(free=3_000_000))
    with pytest.raises(DiskFullError) as caught:
        extract_data_dir(data, out, utts_per_chunk=2)
    assert str(caught.value) == (
        f"{data}: {what} on the device of {out} while writing {out}/data/feats.1.ark (3 MB free; "
        f"{os.strerror(code)}): free space and re-run stage 3; finished chunks are kept")
    assert caught.value.errno == code
    # The partial ark and scp of chunk 1 are gone; chunk 0 is finished and kept; nothing is published.
    assert sorted(p.name for p in (out / "data").iterdir()) == ["done", "feats.0.ark"]
    assert os.listdir(out / "data" / "done") == ["0.npz"]
    assert not (out / "feats.scp").exists()
    kept = (out / "data" / "feats.0.ark").stat().st_mtime_ns
    monkeypatch.undo()  # space freed
    extract_data_dir(data, out, utts_per_chunk=2)
    assert (out / "data" / "feats.0.ark").stat().st_mtime_ns == kept
    assert_same_features(out, tmp_path / "undisturbed")


@pytest.mark.parametrize("full", ["data/done/1.npz", "feats.scp"])
def test_full_disk_while_marking_a_chunk_or_publishing(tmp_path, monkeypatch, full):
    data = write_dir(tmp_path / "data", [0.5, 0.6, 0.7])
    extract_data_dir(data, tmp_path / "undisturbed", utts_per_chunk=2)
    out = tmp_path / "dump"
    atomic_write = ctcot.features.atomic_write

    def write(path, data):
        if path == out / full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        atomic_write(path, data)

    monkeypatch.setattr(ctcot.features, "atomic_write", write)
    with pytest.raises(DiskFullError, match=f"no space left on the device of {out} while writing {out / full} "):
        extract_data_dir(data, out, utts_per_chunk=2)
    # An ark whose done mark could not be written is removed: it would only be redone.
    assert (out / "data" / "feats.1.ark").exists() == (full == "feats.scp")
    assert not (out / "feats.scp").exists()
    monkeypatch.undo()
    extract_data_dir(data, out, utts_per_chunk=2)
    assert_same_features(out, tmp_path / "undisturbed")


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_read_audio_cuts_segments_as_kaldiio_does(tmp_path, fmt):
    audio = (3000 * np.random.default_rng(2).standard_normal(40000)).astype(np.int16)
    path = tmp_path / f"talk.{fmt}"
    soundfile.write(path, audio, 16000, subtype="PCM_16")
    (tmp_path / "wav.scp").write_text(f"talk {path}\n")
    (tmp_path / "segments").write_text("u1 talk 0.3337 1.2001\nu2 talk 2.0 -1\n")
    expected = kaldiio.load_scp(str(tmp_path / "wav.scp"), segments=str(tmp_path / "segments"))
    for utt, (start, end) in {"u1": (0.3337, 1.2001), "u2": (2.0, -1)}.items():
        rate, cut = read_audio(str(path), start, end)
        assert rate == 16000
        if fmt == "wav":  # kaldiio reads wav only
            np.testing.assert_array_equal(cut, expected[utt][1])
        first = int(start * 16000)
        np.testing.assert_array_equal(cut, audio[first:] if end == -1 else audio[first:int(end * 16000)])
    if fmt == "wav":  # pipes go through kaldiio and are cut the same way
        _, piped = read_audio(f"cat {path} |", 0.5, 1.0)
        np.testing.assert_array_equal(piped, audio[8000:16000])


def test_48khz_mp3_is_resampled_to_16khz(tmp_path):
    """Common Voice clips: 48 kHz mp3 give the frames of the same audio at 16 kHz."""
    t = np.arange(48000 * 2) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, t)).astype(np.float32)  # a rising 440 Hz tone
    soundfile.write(tmp_path / "clip.mp3", tone, 48000, format="MP3")
    soundfile.write(tmp_path / "clip.wav", tone[::3], 16000, subtype="PCM_16")
    (tmp_path / "wav.scp").write_text(f"mp3 {tmp_path / 'clip.mp3'}\nwav {tmp_path / 'clip.wav'}\n")
    frames = extract_data_dir(tmp_path, tmp_path / "out")
    assert frames["mp3"] == frames["wav"] == 1 + (32000 - 400) // 160
    feats = kaldiio.load_scp(str(tmp_path / "out/feats.scp"))
    mp3, wav = feats["mp3"], feats["wav"]
    # The 440 Hz band dominates both (mp3 is lossy: compare where the energy is, not values).
    assert mp3.mean(0).argmax() == wav.mean(0).argmax()
    assert np.corrcoef(mp3.mean(0), wav.mean(0))[0, 1] > 0.95
