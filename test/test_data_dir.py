"""ctcot.data_dir and its entry points: validate, fix, subset and combine Kaldi data directories."""
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile

from ctcot import data_dir as dd
from ctcot.bin import validate_data_dir as validate_cli
from ctcot.data_dir import (
    DataDirError,
    combine_data_dirs,
    fix_data_dir,
    read_kv,
    subset_data_dir,
    utt2spk_to_spk2utt,
    validate_data_dir,
    write_data_dirs,
    write_kv,
)

# utterance, recording, start, end, English, German. Recordings are 1.6 s long.
UTTERANCES = [
    ("spk1-utt1", "rec1", 0.0, 0.4, "a cat", "eine Katze"),
    ("spk1-utt2", "rec1", 0.5, 0.9, "the dog", "der Hund"),
    ("spk1-utt3", "rec1", 1.0, 1.5, "a red house", "ein rotes Haus"),
    ("spk2-utt1", "rec2", 0.0, 0.3, "birds", "Vögel"),
    ("spk2-utt2", "rec2", 0.3, 0.8, "a big tree", "ein großer Baum"),
    ("spk2-utt3", "rec2", 0.8, 1.2, "it runs", "es läuft"),
]
UTTS = [u[0] for u in UTTERANCES]


def write_wav(path: Path, seconds: float) -> None:
    t = np.arange(int(16000 * seconds)) / 16000
    soundfile.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, subtype="PCM_16")


def base_files(root: Path, segments: bool) -> Dict[str, List[str]]:
    """Lines of a valid data dir (with or without segments); the wavs are written under root/wav."""
    (root / "wav").mkdir(parents=True, exist_ok=True)
    files = {
        "utt2spk": [f"{u} {u.split('-')[0]}" for u in UTTS],
        "spk2utt": ["spk1 spk1-utt1 spk1-utt2 spk1-utt3", "spk2 spk2-utt1 spk2-utt2 spk2-utt3"],
        "text.tc.en": [f"{u[0]} {u[4]}" for u in UTTERANCES],
        "text.tc.de": [f"{u[0]} {u[5]}" for u in UTTERANCES],
        "utt2dur": [f"{u[0]} {u[3] - u[2]:.1f}" for u in UTTERANCES],
    }
    if segments:
        for reco in ("rec1", "rec2"):
            write_wav(root / "wav" / f"{reco}.wav", 1.6)
        files["wav.scp"] = [f"{reco} {root}/wav/{reco}.wav" for reco in ("rec1", "rec2")]
        files["segments"] = [f"{u[0]} {u[1]} {u[2]} {u[3]}" for u in UTTERANCES]
    else:
        for u in UTTERANCES:
            write_wav(root / "wav" / f"{u[0]}.wav", u[3] - u[2])
        files["wav.scp"] = [f"{u} {root}/wav/{u}.wav" for u in UTTS]
    return files


def write_files(root: Path, files: Dict[str, List[str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (root / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return root


def make_dir(root: Path, segments: bool = False) -> Path:
    return write_files(root, base_files(root, segments))


def problems_of(path: Path, **kwargs) -> str:
    with pytest.raises(DataDirError) as info:
        validate_data_dir(path, **kwargs)
    return str(info.value)


def snapshot(path: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.mark.parametrize("segments", [False, True])
def test_valid_dir_passes(tmp_path, segments):
    report = validate_data_dir(make_dir(tmp_path, segments))
    assert (report.num_utterances, report.num_speakers) == (6, 2)
    assert report.num_recordings == (2 if segments else 6)
    assert report.total_duration == pytest.approx(2.5)
    assert report.text_files == ["text.tc.de", "text.tc.en"]
    assert report.warnings == []


def test_warnings_do_not_fail(tmp_path):
    files = base_files(tmp_path, segments=False)
    del files["spk2utt"]
    files["utt2spk"] = [f"{u} speaker{u[3]}" for u in UTTS]  # ids not prefixed by the speaker
    report = validate_data_dir(write_files(tmp_path, files))
    assert report.num_speakers == 2
    assert [w.split(" ")[0] for w in report.warnings] == ["spk2utt", "utt2spk:"]
    assert "'spk1-utt1' of speaker 'speaker1'" in report.warnings[1]


def swap(lines: List[str], i: int, j: int) -> None:
    lines[i], lines[j] = lines[j], lines[i]


# (segments?, change to the valid files, substrings the error message must contain)
BAD_INPUTS = {
    "missing from a text file": (False, lambda f: f["text.tc.de"].pop(3),
                                 ["text.tc.de: utterance 'spk2-utt1' (utt2spk:4) is missing"]),
    "not in utt2spk": (False, lambda f: f["text.tc.en"].append("spk3-utt1 hello"),
                       ["text.tc.en:7: utterance 'spk3-utt1' is not in utt2spk"]),
    "empty transcript": (False, lambda f: f["text.tc.en"].__setitem__(1, "spk1-utt2 "),
                         ["text.tc.en:2: utterance 'spk1-utt2': empty transcript"]),
    "control character": (False, lambda f: f["text.tc.en"].__setitem__(1, "spk1-utt2 the\fdog"),
                          ["text.tc.en:2: utterance 'spk1-utt2': control character U+000C"]),
    "unsorted": (False, lambda f: swap(f["utt2spk"], 1, 3),
                 ["utt2spk:3: utterance 'spk1-utt3': not sorted (comes after 'spk2-utt1' on line 2)"]),
    "duplicate key": (False, lambda f: f["text.tc.en"].insert(2, "spk1-utt2 the dog"),
                      ["text.tc.en:3: utterance 'spk1-utt2': duplicate key (first on line 2)"]),
    "line without value": (False, lambda f: f["utt2spk"].__setitem__(0, "spk1-utt1"),
                           ["utt2spk:1: utterance 'spk1-utt1': no value"]),
    "empty line": (False, lambda f: f["text.tc.de"].insert(2, ""), ["text.tc.de:3: empty line"]),
    "speaker with space": (False, lambda f: f["utt2spk"].__setitem__(0, "spk1-utt1 spk 1"),
                           ["utt2spk:1: utterance 'spk1-utt1': speaker id 'spk 1' contains whitespace"]),
    "bad duration": (False, lambda f: f["utt2dur"].__setitem__(4, "spk2-utt2 -1"),
                     ["utt2dur:5: utterance 'spk2-utt2': -1 is not positive"]),
    "spk2utt missing an utterance": (False, lambda f: f["spk2utt"].__setitem__(0, "spk1 spk1-utt1 spk1-utt3"),
                                     ["spk2utt: utterance 'spk1-utt2' of speaker 'spk1' (utt2spk:2) is not listed"]),
    "spk2utt wrong speaker": (
        False,
        lambda f: f.update(spk2utt=["spk1 spk1-utt1 spk1-utt2 spk2-utt1", "spk2 spk1-utt3 spk2-utt2 spk2-utt3"]),
        ["spk2utt:1: speaker 'spk1': utterance 'spk2-utt1' belongs to speaker 'spk2' (utt2spk:4)",
         "spk2utt:2: speaker 'spk2': utterance 'spk1-utt3' belongs to speaker 'spk1' (utt2spk:3)"]),
    "spk2utt lists twice": (False, lambda f: f["spk2utt"].__setitem__(1, f["spk2utt"][1] + " spk1-utt2"),
                            ["spk2utt:2: speaker 'spk2': utterance 'spk1-utt2' is listed again (first on line 1)"]),
    "segment end == start": (True, lambda f: f["segments"].__setitem__(1, "spk1-utt2 rec1 0.5 0.5"),
                             ["segments:2: utterance 'spk1-utt2': end time 0.5 <= start time 0.5"]),
    "segment end < start": (True, lambda f: f["segments"].__setitem__(1, "spk1-utt2 rec1 0.9 0.5"),
                            ["segments:2: utterance 'spk1-utt2': end time 0.5 <= start time 0.9"]),
    "segment start < 0": (True, lambda f: f["segments"].__setitem__(0, "spk1-utt1 rec1 -0.1 0.4"),
                          ["segments:1: utterance 'spk1-utt1': start time -0.1 is negative"]),
    "segment fields": (True, lambda f: f["segments"].__setitem__(0, "spk1-utt1 rec1 0.4"),
                       ["segments:1: utterance 'spk1-utt1': expected '<recording-id> <start> <end>'"]),
    "unknown recording": (True, lambda f: f["segments"].__setitem__(3, "spk2-utt1 rec9 0.0 0.3"),
                          ["segments:4: utterance 'spk2-utt1': recording 'rec9' is not in wav.scp"]),
    "utterance missing from segments": (True, lambda f: f["segments"].pop(5),
                                        ["segments: utterance 'spk2-utt3' (utt2spk:6) is missing"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_reported_with_file_line_and_id(tmp_path, case):
    segments, change, expected = BAD_INPUTS[case]
    files = base_files(tmp_path, segments)
    change(files)
    message = problems_of(write_files(tmp_path, files))
    assert message.startswith(f"{tmp_path} is not a valid data directory")
    for text in expected:
        assert text in message


def test_missing_audio_file(tmp_path):
    make_dir(tmp_path)
    (tmp_path / "wav" / "spk1-utt2.wav").unlink()
    message = problems_of(tmp_path)
    assert f"wav.scp:2: utterance 'spk1-utt2': audio file {tmp_path}/wav/spk1-utt2.wav does not exist" in message
    assert validate_data_dir(tmp_path, require_audio_exists=False).num_utterances == 6


def test_pipe_commands_and_ark_offsets_count_as_existing_audio(tmp_path):
    files = base_files(tmp_path, segments=False)
    files["wav.scp"][0] = "spk1-utt1 sox /nonexistent.wav -t wav - |"
    files["wav.scp"][1] = f"spk1-utt2 {tmp_path}/wav/spk1-utt2.wav:44"
    validate_data_dir(write_files(tmp_path, files))


def test_missing_required_files_and_text_file_choice(tmp_path):
    make_dir(tmp_path)
    (tmp_path / "utt2spk").unlink()
    message = problems_of(tmp_path, text_files=["text.tc.en", "text.lc.rm.en", "segments"])
    for text in ["utt2spk: required file is missing", "text.lc.rm.en: required file is missing",
                 "segments: not a text file name"]:
        assert text in message


def test_invalid_utf8_names_the_line(tmp_path):
    make_dir(tmp_path)
    path = tmp_path / "text.tc.de"
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"spk2-utt1 V\xf6gel"  # Latin-1
    path.write_bytes(b"\n".join(lines))
    assert "text.tc.de:4: invalid UTF-8 (byte 11 of the line)" in problems_of(tmp_path)
    with pytest.raises(DataDirError, match="re-encode"):
        fix_data_dir(tmp_path)


def test_every_problem_is_listed_up_to_a_cap(tmp_path):
    files = base_files(tmp_path, segments=False)
    files["text.tc.en"][1] = "spk1-utt2"
    swap(files["text.tc.de"], 0, 1)
    files["utt2spk"] += [f"spk9-utt{i:02d} spk9" for i in range(40)]
    with pytest.raises(DataDirError) as info:
        validate_data_dir(write_files(tmp_path, files))
    problems = info.value.problems
    # 1 unsorted, 1 empty transcript, 40 missing from each of 4 files and 40 not listed in spk2utt
    assert len(problems) == 2 + 5 * 40
    assert problems[:2] == [
        "text.tc.de:2: utterance 'spk1-utt1': not sorted (comes after 'spk1-utt2' on line 1); "
        "sort with LC_ALL=C sort -k1,1 or run fix_data_dir",
        "text.tc.en:2: utterance 'spk1-utt2': empty transcript",
    ]
    assert problems[2] == "text.tc.de: utterance 'spk9-utt00' (utt2spk:7) is missing"
    message = str(info.value).splitlines()
    assert len(message) == 1 + dd.MAX_SHOWN_PROBLEMS + 1 + 1 + len(info.value.advice)  # then "What to do:"
    assert message[1 + dd.MAX_SHOWN_PROBLEMS] == f"  ... and {len(problems) - dd.MAX_SHOWN_PROBLEMS} more"
    assert message[-len(info.value.advice) - 1] == "What to do:"


def test_read_kv(tmp_path):
    path = tmp_path / "wav.scp"
    path.write_text("b 2\na x  y \nc\n")
    with pytest.raises(DataDirError) as info:
        read_kv(path)
    assert info.value.problems == [
        f"{path}:2: key 'a': not sorted (comes after 'b' on line 1); sort with LC_ALL=C sort -k1,1 or run fix_data_dir",
        f"{path}:3: key 'c': no value",
    ]
    assert read_kv(path, check_sorted=False, allow_empty=True) == {"b": "2", "a": "x  y", "c": ""}
    path.write_text("a 1\na 2\n")
    with pytest.raises(ValueError, match=r"wav.scp:2: key 'a': duplicate key \(first on line 1\)"):
        read_kv(path)
    text = tmp_path / "text.tc.en"
    text.write_text("u1 hello\nu2\n")
    with pytest.raises(ValueError, match=r"text.tc.en:2: key 'u2': empty transcript"):
        read_kv(text)


def test_write_kv_sorts_in_byte_order_and_round_trips(tmp_path):
    path = tmp_path / "text"
    mapping = {"b": "x", "é": "y", "a_b": "z", "B": "w", "a-b": "v", "a": "u"}
    write_kv(path, mapping)
    assert [line.split()[0] for line in path.read_text().splitlines()] == ["B", "a", "a-b", "a_b", "b", "é"]
    assert read_kv(path) == mapping
    for bad in ({"a b": "x"}, {"a": ""}, {"a": "x\ny"}):
        with pytest.raises(ValueError, match="text: key"):
            write_kv(path, bad)


def test_write_kv_failure_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "utt2spk"
    path.write_text("u1 s1\n")

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(dd.os, "fsync", fail)  # the new data is written, not yet renamed
    with pytest.raises(OSError, match="disk full"):
        write_kv(path, {"u1": "s2", "u2": "s2"})
    assert path.read_text() == "u1 s1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["utt2spk"]


def test_utt2spk_to_spk2utt():
    assert utt2spk_to_spk2utt({"b2": "b", "a1": "a", "b1": "b", "c": "a"}) == {"a": ["a1", "c"], "b": ["b1", "b2"]}


def broken_dir(root: Path) -> Path:
    """A dir with segments that fix_data_dir must repair; see test_fix_data_dir for what is wrong."""
    files = base_files(root, segments=True)
    files["text.tc.de"].pop(1)  # spk1-utt2
    files["text.tc.de"].insert(4, files["text.tc.de"][3])  # spk2-utt2 twice, identical
    files["text.tc.en"][2] = "spk1-utt3"
    files["text.tc.en"].append("spk3-utt1 hello")
    files["utt2dur"].insert(4, "spk2-utt1 0.7")  # spk2-utt1 again, another value
    swap(files["utt2spk"], 4, 5)
    files["spk2utt"] = ["spk1 spk1-utt1"]
    files["segments"][5] = "spk2-utt3 rec9 0.8 1.2"
    files["segments"].append("spk3-utt1 rec3 0.0 0.5")
    write_wav(root / "wav" / "rec3.wav", 0.5)
    files["wav.scp"].append(f"rec3 {root}/wav/rec3.wav")
    return write_files(root, files)


def test_fix_data_dir(tmp_path, caplog):
    broken_dir(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(DataDirError):
        validate_data_dir(tmp_path)

    report = fix_data_dir(tmp_path)
    assert report.dropped == {
        "spk1-utt2": ["missing from text.tc.de"],
        "spk1-utt3": ["text.tc.en:3: empty transcript"],
        "spk2-utt1": ["utt2dur:5: 'spk2-utt1' again, with another value than on line 4"],
        "spk2-utt3": ["segments:6: recording 'rec9': missing from wav.scp"],
        "spk3-utt1": ["missing from utt2spk", "missing from text.tc.de", "missing from utt2dur"],
    }
    assert report.dropped_recordings == {"rec3": "no kept utterance uses it"}
    assert (report.num_utterances_before, report.num_utterances) == (7, 2)
    assert sorted(report.rewritten) == sorted(before)  # every file changed
    assert "dropped utterance 'spk1-utt3': text.tc.en:3: empty transcript" in caplog.text

    assert (tmp_path / "utt2spk").read_text() == "spk1-utt1 spk1\nspk2-utt2 spk2\n"
    assert (tmp_path / "spk2utt").read_text() == "spk1 spk1-utt1\nspk2 spk2-utt2\n"
    assert (tmp_path / "text.tc.de").read_text() == "spk1-utt1 eine Katze\nspk2-utt2 ein großer Baum\n"
    assert (tmp_path / "wav.scp").read_text() == f"rec1 {tmp_path}/wav/rec1.wav\nrec2 {tmp_path}/wav/rec2.wav\n"
    assert report.backup_dir == tmp_path / ".backup"
    assert snapshot(report.backup_dir) == before
    valid = validate_data_dir(tmp_path)
    assert (valid.num_utterances, valid.total_duration) == (2, pytest.approx(0.9))

    fixed = snapshot(tmp_path)
    again = fix_data_dir(tmp_path)
    assert (again.dropped, again.rewritten, again.backup_dir) == ({}, [], None)
    assert snapshot(tmp_path) == fixed
    assert snapshot(report.backup_dir) == before


def test_fix_data_dir_without_segments_creates_spk2utt(tmp_path):
    files = base_files(tmp_path, segments=False)
    del files["spk2utt"]
    files["wav.scp"].pop(0)
    report = fix_data_dir(write_files(tmp_path, files))
    assert report.dropped == {"spk1-utt1": ["missing from wav.scp"]}
    assert report.dropped_recordings == {}
    assert (tmp_path / "spk2utt").read_text().startswith("spk1 spk1-utt2 spk1-utt3\n")
    assert not (report.backup_dir / "spk2utt").exists()
    assert validate_data_dir(tmp_path).num_utterances == 5


def test_fix_data_dir_changes_nothing_when_nothing_is_left(tmp_path):
    files = base_files(tmp_path, segments=False)
    files["text.tc.en"] = [u for u in UTTS]
    write_files(tmp_path, files)
    before = snapshot(tmp_path)
    with pytest.raises(DataDirError, match="no utterance would be left") as info:
        fix_data_dir(tmp_path)
    assert info.value.problems[0] == "utterance 'spk1-utt1': text.tc.en:1: empty transcript"
    assert snapshot(tmp_path) == before
    assert not (tmp_path / ".backup").exists()


def test_subset_and_combine(tmp_path):
    full = make_dir(tmp_path / "full", segments=True)
    first, second = tmp_path / "first", tmp_path / "second"
    second.mkdir()
    (second / "text.tc.fr").write_text("old stale file\n")
    subset_data_dir(full, first, ["spk1-utt1", "spk1-utt3", "spk1-utt2"])
    subset_data_dir(full, second, UTTS[3:])
    assert not (second / "text.tc.fr").exists()
    assert (first / "wav.scp").read_text() == f"rec1 {full}/wav/rec1.wav\n"
    assert validate_data_dir(first).num_utterances == 3
    assert validate_data_dir(second).num_recordings == 1

    combined = tmp_path / "combined"
    combine_data_dirs(combined, [second, first])
    assert snapshot(combined) == snapshot(full)

    with pytest.raises(DataDirError, match="utterance 'spk1-utt1' is in both") as info:
        combine_data_dirs(tmp_path / "twice", [first, combined])
    assert len(info.value.problems) == 3  # one per utterance of first, not one per file
    with pytest.raises(ValueError, match="not in"):
        subset_data_dir(full, tmp_path / "none", ["spk1-utt1", "spk7-utt1"])


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_cli_exit_codes(tmp_path):
    broken_dir(tmp_path)
    result = run_cli("ctcot.bin.validate_data_dir", str(tmp_path))
    assert result.returncode == validate_cli.FIXABLE == 3
    assert "text.tc.en:3: utterance 'spk1-utt3': empty transcript" in result.stderr
    assert f"{sys.executable} -m ctcot.bin.fix_data_dir {tmp_path}\n" in result.stderr
    assert "Traceback" not in result.stderr

    result = run_cli("ctcot.bin.fix_data_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "dropped utterance 'spk2-utt3'" in result.stderr
    assert validate_cli.main([str(tmp_path)]) == 0
    assert validate_cli.main([str(tmp_path / "missing")]) == 1


def test_write_data_dirs_replaces_whole_dirs_or_nothing(tmp_path):
    tables = {"wav.scp": {"a": "/a.wav", "b": "/b.wav"}, "utt2spk": {"a": "s1", "b": "s1"},
              "text.tc.de": {"a": "A", "b": "B"}}
    old = tmp_path / "dev"
    old.mkdir()
    (old / "segments").write_text("stale\n")
    assert write_data_dirs(tmp_path, {"dev": tables, "test": tables}) == [tmp_path / "dev", tmp_path / "test"]
    assert sorted(p.name for p in old.iterdir()) == ["spk2utt", "text.tc.de", "utt2spk", "wav.scp"]
    assert read_kv(old / "spk2utt") == {"s1": "a b"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev", "test"]  # no staging dir left

    before = (old / "text.tc.de").read_bytes()
    with pytest.raises(ValueError):
        write_data_dirs(tmp_path, {"dev": {**tables, "text.tc.de": {"a": "new", "b": "new"}},
                                   "test": {**tables, "utt2spk": {"a": "s1", "b": ""}}})  # bad second dir
    assert (old / "text.tc.de").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev", "test"]


def fix_command(path: Path, *text_files: str) -> str:
    options = ["--text_files", *text_files] if text_files else []
    return shlex.join([sys.executable, "-m", "ctcot.bin.fix_data_dir", str(path), *options])


def test_fixable_problems_get_the_fix_data_dir_command_that_fixes_them(tmp_path):
    broken_dir(tmp_path)
    texts = ("text.tc.en", "text.tc.de")
    with pytest.raises(DataDirError) as info:
        validate_data_dir(tmp_path, text_files=texts)
    assert info.value.fixable
    assert info.value.advice == [f"fix_data_dir resolves all of these, keeping 2 of 7 utterances "
                                 f"(the old files go to {tmp_path}/.backup):", f"  {fix_command(tmp_path, *texts)}"]
    assert str(info.value).endswith("What to do:\n  " + "\n  ".join(info.value.advice))
    assert validate_cli.main([str(tmp_path), "--text_files", *texts]) == validate_cli.FIXABLE
    subprocess.run(shlex.split(info.value.advice[1]), check=True, capture_output=True, timeout=60)
    assert validate_data_dir(tmp_path, text_files=texts).num_utterances == 2


def test_byte_order_mark_is_removed_by_fix_data_dir_without_dropping_the_utterance(tmp_path):
    path = make_dir(tmp_path) / "text.tc.en"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(DataDirError) as info:
        validate_data_dir(tmp_path)
    assert info.value.problems == ["text.tc.en:1: starts with a UTF-8 byte-order mark (U+FEFF)"]
    assert info.value.fixable and "keeping all 6 utterances" in info.value.advice[0]
    assert fix_data_dir(tmp_path).dropped == {}
    assert read_kv(path)["spk1-utt1"] == "a cat"


def latin1(root: Path) -> None:
    path = root / "text.tc.de"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))  # lines 4 to 6 have umlauts or ß


def no_utterance_left(root: Path) -> None:
    write_files(root, {"text.tc.en": UTTS})  # ids only: every transcript empty


def missing_audio(root: Path) -> None:
    (root / "wav" / "spk1-utt2.wav").unlink()


# Problems fix_data_dir does not resolve: (change to a valid data/train, set to validate, text files,
# start of the advice, whether the advice ends with the fix_data_dir command for what remains)
UNFIXABLE = {
    "mistyped set": (lambda root: None, "dve", None,
                     "data/dve does not exist: check the set name (st.sh: --train_set/--valid_set/--test_sets); "
                     "sets found in data/: dev train", False),
    "missing file": (lambda root: (root / "utt2spk").unlink(), "train", None,
                     "utt2spk: the data preparation (for st.sh's data/<set>: local/data.sh, in stage 1) "
                     "writes it", False),
    "missing text file": (lambda root: None, "train", ["text.tc.en", "text.tc.fr"],
                          "text.tc.fr: no such file (text files here: text.tc.de text.tc.en); st.sh reads "
                          "text.<src_case>.<src_lang> and text.<tgt_case>.<tgt_lang>", False),
    "not UTF-8": (latin1, "train", None,
                  "data/train/text.tc.de is not UTF-8 (line 4, 3 lines in all), and fix_data_dir cannot read it: "
                  "re-encode it, e.g. if it is Latin-1: iconv -f latin1 -t utf-8 data/train/text.tc.de > "
                  "data/train/text.tc.de.utf8 && mv data/train/text.tc.de.utf8 data/train/text.tc.de", False),
    "no utterance left": (no_utterance_left, "train", None,
                          "fix_data_dir would drop every utterance, so the fault is in what wrote data/train", False),
    "missing audio": (missing_audio, "train", None,
                      "1 audio file(s) of wav.scp do not exist (first: wav.scp:2 data/train/wav/spk1-utt2.wav): "
                      "restore them", True),
}


@pytest.mark.parametrize("case", UNFIXABLE)
def test_unfixable_problems_get_their_own_advice(tmp_path, monkeypatch, case):
    change, name, text_files, expected, then_fix = UNFIXABLE[case]
    monkeypatch.chdir(tmp_path)  # paths relative to the recipe directory, as st.sh gives them
    make_dir(Path("data/dev"))
    change(make_dir(Path("data/train")))
    path = Path("data") / name
    with pytest.raises(DataDirError) as info:
        validate_data_dir(path, text_files=text_files)
    error = info.value
    assert not error.fixable
    assert error.advice[0].startswith(expected)
    assert "resolves" not in str(error)
    if then_fix:  # the rest is for fix_data_dir
        assert error.advice[1:] == [f"Then drop the utterances still at fault with fix_data_dir (the old files go "
                                    f"to {path}/.backup):", f"  {fix_command(path)}"]
    else:
        assert len(error.advice) == 1 and "ctcot.bin.fix_data_dir" not in str(error)
    assert validate_cli.main([str(path)] + (["--text_files", *text_files] if text_files else [])) == 1
    # The advice is right: fix_data_dir refuses, or leaves a directory that is still not valid.
    try:
        fix_data_dir(path, text_files=text_files)
    except DataDirError:
        pass
    with pytest.raises(DataDirError):
        validate_data_dir(path, text_files=text_files)


def test_unfixable_and_fixable_problems_together(tmp_path):
    latin1(make_dir(tmp_path))
    files = base_files(tmp_path, segments=False)
    swap(files["utt2spk"], 0, 1)
    write_files(tmp_path, {"utt2spk": files["utt2spk"]})
    with pytest.raises(DataDirError) as info:
        validate_data_dir(tmp_path)
    advice = info.value.advice
    assert not info.value.fixable and len(advice) == 3
    assert advice[0].startswith(f"{tmp_path}/text.tc.de is not UTF-8 (line 4, 3 lines in all)")
    assert advice[1].startswith("Then drop the utterances still at fault") and advice[2] == f"  {fix_command(tmp_path)}"
    assert validate_cli.main([str(tmp_path)]) == 1
