"""CoVoST 2 data preparation (ctcot.corpora.covost2, ctcot.bin.prepare_covost2) and the egs2/covost2/st1
recipe's data stage.

The corpus is faked from real speech: the LibriVox clips of test/data/librivox laid out as Common
Voice v4 (48 kHz mp3 clips, validated.tsv) plus a CoVoST 2 translation tsv, by
:func:`write_covost_fixture`, which other tests may reuse.
"""
import csv
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import soundfile
from conftest import REPO, copy_recipe
from scipy.signal import resample_poly

from ctcot.bin.prepare_covost2 import main
from ctcot.corpora.covost2 import EN_XX_TARGETS, XX_EN_SOURCES, check_direction, prepare_covost2
from ctcot.data_dir import read_kv, validate_data_dir

LIBRIVOX = REPO / "test" / "data" / "librivox"
RECIPE = REPO / "egs2" / "covost2" / "st1"

CV_HEADER = ("client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent")
COVOST_HEADER = ("path", "sentence", "translation", "split")
# Common Voice v4's client_id: 128 hex digits.
SPEAKERS = tuple(hashlib.sha512(f"speaker {n}".encode()).hexdigest() for n in range(3))
# The CoVoST rows of the fixture, in file order: LibriVox clip, speaker, CoVoST split.
ROWS = (("0870", 0, "train"), ("0880", 0, "train_covost"), ("0890", 1, "train"), ("0920", 1, "dev"),
        ("0930", 2, "test"))
NO_EXTENSION = "0930"      # its path has no .mp3, as in some Common Voice releases (the clip has one)
NOT_IN_VALIDATED = "0999"  # a CoVoST row whose clip validated.tsv lacks: dropped by the join
ONLY_IN_VALIDATED = "0900"  # a Common Voice clip CoVoST does not use
# Directions the LibriVox sentences (en de es fr) can fake.
FIXTURE_DIRECTIONS = (("en", "de"), ("de", "en"), ("es", "en"), ("fr", "en"))


def clip_path(src: str, clip: str) -> str:
    """The ``path`` column of a clip."""
    return f"common_voice_{src}_{clip}" + ("" if clip == NO_EXTENSION else ".mp3")


def utt_id(src: str, clip: str, speaker: int) -> str:
    return f"{SPEAKERS[speaker]}-common_voice_{src}_{clip}"


def write_covost_fixture(root: Path, src: str, tgt: str) -> Tuple[Path, Path]:
    """Lay out a CoVoST 2 direction and its Common Voice v4 source language under ``root``.

    Writes ``covost2/covost_v2.<src>_<tgt>.tsv`` (the rows of ``ROWS``, then one of
    ``NOT_IN_VALIDATED``), ``commonvoice/<src>/validated.tsv`` (``ROWS`` and ``ONLY_IN_VALIDATED``,
    in another order) and ``commonvoice/<src>/clips/*.mp3`` (48 kHz) of ``ROWS``. The speech is
    the English LibriVox reading whatever ``src`` is: X->En layouts test formats, not speech.

    Returns:
        ``(covost_root, cv_root)``, to pass as ``COVOST2`` and ``COMMONVOICE``.
    """
    if (src, tgt) not in FIXTURE_DIRECTIONS:
        raise ValueError(f"no LibriVox sentences for {src}->{tgt}; directions: {FIXTURE_DIRECTIONS}")
    with open(LIBRIVOX / "sentences.tsv", newline="", encoding="utf-8") as f:
        sentences = {row["id"]: row for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}
    covost_root, cv_root = root / "covost2", root / "commonvoice"
    clips = cv_root / src / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    covost_root.mkdir(parents=True, exist_ok=True)

    def tsv(header, rows) -> str:
        return "".join("\t".join(fields) + "\n" for fields in [header, *rows])

    validated = [(SPEAKERS[speaker], clip_path(src, clip), sentences[clip][src], "2", "0", "twenties", "", "")
                 for clip, speaker, _ in reversed(ROWS)]
    validated.append((SPEAKERS[0], clip_path(src, ONLY_IN_VALIDATED), "An unused clip.", "3", "1", "", "", ""))
    (cv_root / src / "validated.tsv").write_text(tsv(CV_HEADER, validated), encoding="utf-8")
    covost = [(clip_path(src, clip), sentences[clip][src], sentences[clip][tgt], split) for clip, _, split in ROWS]
    covost.append((clip_path(src, NOT_IN_VALIDATED), "Not validated.", "Nicht validiert.", "train"))
    (covost_root / f"covost_v2.{src}_{tgt}.tsv").write_text(tsv(COVOST_HEADER, covost), encoding="utf-8")

    for clip, _, _ in ROWS:
        audio, rate = soundfile.read(LIBRIVOX / f"{clip}.flac")
        soundfile.write(clips / f"common_voice_{src}_{clip}.mp3", resample_poly(audio, 3, 1), 3 * rate, format="MP3")
    return covost_root, cv_root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Dict[Tuple[str, str], Path]:
    """The fixture of en->de and fr->en, each in its own root, built once."""
    roots = {}
    for src, tgt in [("en", "de"), ("fr", "en")]:
        roots[src, tgt] = tmp_path_factory.mktemp(f"{src}_{tgt}")
        write_covost_fixture(roots[src, tgt], src, tgt)
    return roots


@pytest.fixture
def en_de(pristine, tmp_path) -> Tuple[Path, Path]:
    """A copy of the en->de fixture the test may change: ``(covost_root, cv_root)``."""
    shutil.copytree(pristine["en", "de"], tmp_path / "corpus")
    return tmp_path / "corpus" / "covost2", tmp_path / "corpus" / "commonvoice"


def lines(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


def line_number(path: Path, text: str) -> int:
    """The line of ``path`` that holds ``text`` (numbered from 1)."""
    return next(n for n, line in enumerate(lines(path), 1) if text in line)


def test_en_de_data_dirs(en_de, tmp_path):
    covost_root, cv_root = en_de
    out = tmp_path / "data"
    written = prepare_covost2(covost_root, cv_root, out, src_lang="en", tgt_lang="de")
    assert written == {name: out / name for name in ("train.en-de", "dev.en-de", "test.en-de")}
    assert list(written) == ["train.en-de", "dev.en-de", "test.en-de"]
    assert sorted(p.name for p in out.iterdir()) == ["dev.en-de", "test.en-de", "train.en-de"]  # no leftovers

    expected_sets = {"train": {"0870", "0880", "0890"}, "dev": {"0920"}, "test": {"0930"}}  # train_covost in train
    for dset, clips in expected_sets.items():
        data = out / f"{dset}.en-de"
        utts = sorted(utt_id("en", clip, speaker) for clip, speaker, _ in ROWS if clip in clips)
        assert lines(data / "utt2spk") == [f"{utt} {utt.split('-')[0]}" for utt in utts]
        assert lines(data / "wav.scp") == [f"{utt} {cv_root}/en/clips/{utt.split('-', 1)[1]}.mp3" for utt in utts]
        assert sorted(p.name for p in data.iterdir()) == sorted(
            ["wav.scp", "utt2spk", "spk2utt"] + [f"text.{case}.{lang}" for case in ("tc", "lc", "lc.rm")
                                                for lang in ("en", "de")])
        report = validate_data_dir(data)
        assert report.num_utterances == len(clips)
        assert not report.warnings  # ids start with their speaker
    assert lines(out / "train.en-de" / "spk2utt") == sorted([
        f"{SPEAKERS[0]} {' '.join(sorted([utt_id('en', '0870', 0), utt_id('en', '0880', 0)]))}",
        f"{SPEAKERS[1]} {utt_id('en', '0890', 1)}"])
    everything = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert NOT_IN_VALIDATED not in everything and ONLY_IN_VALIDATED not in everything

    # The clip of a path without .mp3 is found; typographic quotes are normalised.
    test = out / "test.en-de"
    utt = utt_id("en", "0930", 2)
    assert read_kv(test / "wav.scp") == {utt: f"{cv_root}/en/clips/common_voice_en_0930.mp3"}
    assert {name: read_kv(test / name)[utt] for name in ("text.tc.de", "text.lc.de", "text.lc.rm.de",
                                                         "text.tc.en", "text.lc.rm.en")} == {
        "text.tc.de": 'Er hätte sogar selbst "liebenswürdig" werden können.',
        "text.lc.de": 'er hätte sogar selbst "liebenswürdig" werden können.',
        "text.lc.rm.de": "er hätte sogar selbst liebenswürdig werden können",
        "text.tc.en": 'he might even have been made "amiable" himself.',
        "text.lc.rm.en": "he might even have been made amiable himself",
    }
    assert read_kv(out / "train.en-de" / "text.lc.rm.en")[utt_id("en", "0880", 0)] == \
        "he was not an illdisposed young man"


def test_x_to_en_layout(pristine, tmp_path):
    corpus = pristine["fr", "en"]
    prepare_covost2(corpus / "covost2", corpus / "commonvoice", tmp_path / "data", src_lang="fr", tgt_lang="en")
    test = tmp_path / "data" / "test.fr-en"
    utt = utt_id("fr", "0930", 2)
    assert read_kv(test / "wav.scp") == {utt: f"{corpus}/commonvoice/fr/clips/common_voice_fr_0930.mp3"}
    assert read_kv(test / "text.tc.fr")[utt] == 'Il aurait même pu devenir lui-même " aimable ".'  # Moses, -l fr
    assert read_kv(test / "text.lc.rm.fr")[utt] == "il aurait même pu devenir luimême aimable"
    assert read_kv(test / "text.tc.en")[utt] == 'he might even have been made "amiable" himself.'
    assert set(read_kv(tmp_path / "data" / "train.fr-en" / "utt2spk")) == {
        utt_id("fr", "0870", 0), utt_id("fr", "0880", 0), utt_id("fr", "0890", 1)}


def test_tsv_escapes_as_the_official_script(en_de, tmp_path):
    """A backslash makes the next character literal, a tab or a backslash (pandas' escapechar)."""
    covost_root, cv_root = en_de
    tsv = covost_root / "covost_v2.en_de.tsv"
    tsv.write_text(tsv.read_text().replace("Er war kein übelgesinnter", "Er war\\\tkein \\\\ übelgesinnter"))
    prepare_covost2(covost_root, cv_root, tmp_path / "data", src_lang="en", tgt_lang="de")
    assert read_kv(tmp_path / "data" / "train.en-de" / "text.tc.de")[utt_id("en", "0880", 0)] == \
        "Er war kein \\ übelgesinnter junger Mann,"


def test_clips_are_48khz_mp3_of_the_librivox_speech(pristine):
    clips = pristine["en", "de"] / "commonvoice" / "en" / "clips"
    for clip, _, _ in ROWS:
        audio, rate = soundfile.read(clips / f"common_voice_en_{clip}.mp3")
        assert rate == 48000 and audio.ndim == 1 and np.abs(audio).max() > 0.1
        source = soundfile.info(LIBRIVOX / f"{clip}.flac")
        assert abs(len(audio) / rate - source.duration) < 0.05


def test_empty_texts_are_dropped_and_logged(en_de, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    covost_root, cv_root = en_de
    tsv = covost_root / "covost_v2.en_de.tsv"
    clips = cv_root / "en" / "clips"
    for clip, sentence, translation in [("0871", "A sentence.", ""), ("0872", "...", "Punkte.")]:
        shutil.copy(clips / "common_voice_en_0870.mp3", clips / f"common_voice_en_{clip}.mp3")
        with open(cv_root / "en" / "validated.tsv", "a", encoding="utf-8") as f:
            f.write(f"{SPEAKERS[0]}\tcommon_voice_en_{clip}.mp3\t{sentence}\t2\t0\t\t\t\n")
        with open(tsv, "a", encoding="utf-8") as f:
            f.write(f"common_voice_en_{clip}.mp3\t{sentence}\t{translation}\ttrain\n")
    prepare_covost2(covost_root, cv_root, tmp_path / "data", src_lang="en", tgt_lang="de")
    assert len(read_kv(tmp_path / "data" / "train.en-de" / "utt2spk")) == 3
    assert (f"{tsv}: dropped 2 row(s) whose transcript or translation is empty once normalised, on lines 8 9"
            in caplog.text)
    assert f"{tsv}: 1 row(s) not in {cv_root}/en/validated.tsv: not used" in caplog.text


def snapshot(directory: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


# Each bad input: how to make it from the fixture (covost_root, cv_root) -> the roots to use, the
# exception, and the pieces of its message, from the roots (tsv: the CoVoST tsv, cv: validated.tsv).
def _no_covost_root(c, v):
    shutil.rmtree(c)
    return c, v


def _no_cv_root(c, v):
    shutil.rmtree(v)
    return c, v


def _no_covost_tsv(c, v):
    (c / "covost_v2.en_de.tsv").unlink()
    return c, v


def _no_validated_tsv(c, v):
    (v / "en" / "validated.tsv").unlink()
    return c, v


def _covost_row_too_long(c, v):
    append(c / "covost_v2.en_de.tsv", b"common_voice_en_0931.mp3\tA.\tB.\ttrain\textra\n")
    return c, v


def _validated_row_too_short(c, v):
    append(v / "en" / "validated.tsv", f"{SPEAKERS[0]}\tcommon_voice_en_0931.mp3\tA.\n".encode())
    return c, v


def _covost_header_without_split(c, v):
    tsv = c / "covost_v2.en_de.tsv"
    tsv.write_text(tsv.read_text().replace("\tsplit\n", "\tsplits\n", 1))
    return c, v


def _covost_not_utf8(c, v):
    append(c / "covost_v2.en_de.tsv", b"common_voice_en_0931.mp3\tA.\t\xff\ttrain\n")
    return c, v


def _covost_row_twice(c, v):
    tsv = c / "covost_v2.en_de.tsv"
    append(tsv, (lines(tsv)[2] + "\n").encode())  # 0880's row
    return c, v


def _validated_row_twice(c, v):
    tsv = v / "en" / "validated.tsv"
    append(tsv, (lines(tsv)[1] + "\n").encode())  # 0930's row
    return c, v


def _clip_missing(c, v):
    (v / "en" / "clips" / "common_voice_en_0890.mp3").unlink()
    return c, v


def _clip_of_path_without_extension_missing(c, v):
    (v / "en" / "clips" / "common_voice_en_0930.mp3").unlink()
    return c, v


def _test_split_empty(c, v):
    tsv = c / "covost_v2.en_de.tsv"
    tsv.write_text(tsv.read_text().replace("\ttest\n", "\tdev\n"))
    return c, v


BAD_INPUTS = {
    "no COVOST2 root": (_no_covost_root, FileNotFoundError, lambda c, v: [
        f"CoVoST 2 root {c} does not exist", "covost_v2.en_de.tsv.tar.gz",
        "COVOST2=/path/to/covost2 in egs2/covost2/st1/db.sh"]),
    "no COMMONVOICE root": (_no_cv_root, FileNotFoundError, lambda c, v: [
        f"Common Voice root {v} does not exist", "Common Voice v4", f"{v}/en/",
        "COMMONVOICE=/path/to/commonvoice in egs2/covost2/st1/db.sh"]),
    "no tsv for the pair": (_no_covost_tsv, FileNotFoundError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv does not exist", "covost_v2.en_de.tsv.tar.gz"]),
    "no validated.tsv": (_no_validated_tsv, FileNotFoundError, lambda c, v: [
        f"{v}/en/validated.tsv does not exist", f"into {v}/en/"]),
    "covost row with 5 fields": (_covost_row_too_long, ValueError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:8: 5 tab-separated fields, expected 4 (path sentence translation split)"]),
    "validated.tsv row with 3 fields": (_validated_row_too_short, ValueError, lambda c, v: [
        f"{v}/en/validated.tsv:8: 3 tab-separated fields, expected 8"]),
    "covost header without split": (_covost_header_without_split, ValueError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:1: the header has no column split"]),
    "covost row not UTF-8": (_covost_not_utf8, ValueError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:8: invalid UTF-8"]),
    "covost row twice": (_covost_row_twice, ValueError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:8: utterance '{utt_id('en', '0880', 0)}' again (first on line 3)"]),
    "validated.tsv row twice": (_validated_row_twice, ValueError, lambda c, v: [
        f"{v}/en/validated.tsv:8: path 'common_voice_en_0930' again (first on line 2)"]),
    "clip missing": (_clip_missing, FileNotFoundError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:4: clip {v}/en/clips/common_voice_en_0890.mp3 does not exist"]),
    "clip of a path without .mp3 missing": (_clip_of_path_without_extension_missing, FileNotFoundError,
                                            lambda c, v: [
        f"{c}/covost_v2.en_de.tsv:6: clip {v}/en/clips/common_voice_en_0930 or "
        f"{v}/en/clips/common_voice_en_0930.mp3 does not exist"]),
    "test set empty": (_test_split_empty, ValueError, lambda c, v: [
        f"{c}/covost_v2.en_de.tsv: the test set is empty: no row of split 'test'"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_named_and_leaves_earlier_output(case, en_de, tmp_path):
    make, error, pieces = BAD_INPUTS[case]
    covost_root, cv_root = en_de
    out = tmp_path / "data"
    prepare_covost2(covost_root, cv_root, out, src_lang="en", tgt_lang="de")
    before = snapshot(out)
    covost_root, cv_root = make(covost_root, cv_root)
    with pytest.raises(error) as raised:
        prepare_covost2(covost_root, cv_root, out, src_lang="en", tgt_lang="de")
    for piece in pieces(covost_root, cv_root):
        assert piece in str(raised.value)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["dev.en-de", "test.en-de", "train.en-de"]


@pytest.mark.parametrize("src, tgt", [("en", "fr"), ("fr", "de"), ("en", "en"), ("xx", "en"), ("zh", "en")])
def test_unsupported_direction(src, tgt, en_de):
    with pytest.raises(ValueError) as raised:
        prepare_covost2(*en_de, "unused", src_lang=src, tgt_lang=tgt)
    assert str(raised.value) == (
        f"CoVoST 2 has no {src}->{tgt} direction; it has X->en for X in fr de es ca it ru zh-CN pt fa et mn nl "
        f"tr ar sv-SE lv sl ta ja id cy, and en->X for X in de tr fa sv-SE mn zh-CN cy ca sl et id ar ta lv ja")


def test_the_36_directions():
    """The directions of the CoVoST 2 paper (Wang et al. 2020, table 1), spelled as its tsv files are."""
    paper_xx_en = "fr de es ca it ru zh-CN pt fa et mn nl tr ar sv-SE lv sl ta ja id cy".split()
    paper_en_xx = "de ca zh-CN fa et mn tr ar sv-SE lv sl ta ja id cy".split()
    assert sorted(XX_EN_SOURCES) == sorted(paper_xx_en) and sorted(EN_XX_TARGETS) == sorted(paper_en_xx)
    for lang in paper_xx_en:
        check_direction(lang, "en")
    for lang in paper_en_xx:
        check_direction("en", lang)
    for src, tgt in (("en", "fr"), ("de", "fr"), ("en", "en"), ("fr", "de")):
        with pytest.raises(ValueError, match="CoVoST 2 has no"):
            check_direction(src, tgt)


def test_cli(en_de, tmp_path):
    covost_root, cv_root = en_de
    args = ["--covost_dir", str(covost_root), "--cv_dir", str(cv_root), "--src_lang", "en", "--tgt_lang", "de",
            "--output_dir", str(tmp_path / "data")]
    assert main(args) == 0
    old_spelling = ["--covost_root", str(covost_root), "--cv_root", str(cv_root), *args[4:-1], str(tmp_path / "old")]
    assert main(old_spelling) == 0 and (tmp_path / "old" / "dev.en-de" / "utt2spk").is_file()  # kept for a release
    assert len(read_kv(tmp_path / "data" / "dev.en-de" / "utt2spk")) == 1
    missing = tmp_path / "nowhere"
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.prepare_covost2", args[0], str(missing), *args[2:]],
                            capture_output=True, text=True)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and "ERROR" in errors[0] and f"CoVoST 2 root {missing} does not exist" in errors[0]
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.prepare_covost2", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "--covost_dir" in result.stdout and "train_covost" in result.stdout
    with pytest.raises(SystemExit) as exit_info:
        main(args[4:])  # neither root
    assert exit_info.value.code == 2


def test_print_st_sets_names_the_dirs_written(en_de, tmp_path):
    """run.sh evals --print_st_sets for st.sh's set names: they are the dirs prepare_covost2 writes."""
    covost_root, cv_root = en_de
    written = prepare_covost2(covost_root, cv_root, tmp_path / "data", src_lang="en", tgt_lang="de")
    printed = subprocess.run([sys.executable, "-m", "ctcot.bin.prepare_covost2", "--src_lang", "en", "--tgt_lang", "de",
                              "--print_st_sets"], capture_output=True, text=True, check=True).stdout
    evaluated = subprocess.run(["bash", "-c", 'set -eu; eval "$1"; printf "%s\\n" "$train_set" "$valid_set" $test_sets',
                                "bash", printed], capture_output=True, text=True, check=True).stdout
    assert evaluated.splitlines() == list(written)
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.prepare_covost2", "--src_lang", "en", "--tgt_lang", "fr",
                             "--print_st_sets"], capture_output=True, text=True)
    assert result.returncode == 1 and not result.stdout and "CoVoST 2 has no en->fr direction" in result.stderr


def make_recipe(root: Path) -> Path:
    """A copy of egs2/covost2/st1 (its conf/ links to must_c's configs)."""
    return copy_recipe(root, "covost2", linked=("must_c",))


def recipe_env(**corpora: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COVOST2", "COMMONVOICE")}
    return {**env, **corpora}


def test_recipe_local_data_sh(en_de, tmp_path):
    covost_root, cv_root = en_de
    recipe = make_recipe(tmp_path / "tree")
    env = recipe_env(COVOST2=str(covost_root), COMMONVOICE=str(cv_root))
    result = subprocess.run(["local/data.sh", "--src_lang", "en", "--tgt_lang", "de"], cwd=recipe, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for dset, size in [("train", 3), ("dev", 1), ("test", 1)]:
        assert validate_data_dir(recipe / "data" / f"{dset}.en-de").num_utterances == size

    result = subprocess.run(["local/data.sh", "--src_lang", "en", "--tgt_lang", "fr"], cwd=recipe, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "CoVoST 2 has no en->fr direction" in result.stderr
    # db.sh's defaults, relative to the recipe
    result = subprocess.run(["local/data.sh", "--src_lang", "en", "--tgt_lang", "de"], cwd=recipe, env=recipe_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "CoVoST 2 root downloads/covost2 does not exist" in result.stderr
    assert "COVOST2=/path/to/covost2 in egs2/covost2/st1/db.sh" in result.stderr


def test_recipe_run_sh_stage_1(pristine, tmp_path):
    """run.sh takes --src_lang/--tgt_lang anywhere and names the sets as local/data.sh writes them."""
    corpus = pristine["fr", "en"]
    recipe = make_recipe(tmp_path / "tree")
    env = recipe_env(COVOST2=str(corpus / "covost2"), COMMONVOICE=str(corpus / "commonvoice"))
    result = subprocess.run(["./run.sh", "--src_lang", "fr", "--stop_stage", "1", "--tgt_lang=en"], cwd=recipe,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "local/data.sh --src_lang fr --tgt_lang en" in result.stdout
    assert "Stage 1 done" in result.stdout
    sets = sorted(p.name for p in (recipe / "data").iterdir() if p.is_dir() and p.name != ".locks")  # st.sh's lock
    assert sets == ["dev.fr-en", "test.fr-en", "train.fr-en"]


@pytest.mark.recipe
def test_recipe_stages_1_to_8_on_mp3_clips(en_de, tmp_path):
    """En->De on the fixture: the 48 kHz mp3 clips become 16 kHz features, phonemes and SentencePiece
    units, and MT, CTC+OT and ST each train for one epoch (the mini corpus's tiny configs)."""
    covost_root, cv_root = en_de
    recipe = make_recipe(tmp_path / "tree")
    env = recipe_env(COVOST2=str(covost_root), COMMONVOICE=str(cv_root))
    steps = "--max_epoch 1 --batch_size 2"
    result = subprocess.run(
        ["./run.sh", "--src_lang", "en", "--tgt_lang", "de", "--conf_dir", str(REPO / "egs2/mini_st/st1/conf/tiny"),
         "--ngpu", "0", "--nj", "1", "--tgt_nbpe", "60", "--stop_stage", "8",
         "--mt_args", steps, "--pretrain_args", steps, "--st_args", steps],
        cwd=recipe, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    train = recipe / "dump" / "fbank" / "train.en-de"
    frames = {utt: int(n) for utt, n in read_kv(train / "utt2num_frames").items()}
    for utt, path in read_kv(recipe / "data/train.en-de/wav.scp").items():
        duration = soundfile.info(path).duration  # 48 kHz mp3; features are at 100 frames/s of 16 kHz audio
        assert abs(frames[utt] - (duration * 100 - 1.5)) <= 3, utt
    assert all(p.split() for p in read_kv(train / "text.phn.en").values())
    for exp in ("mt_train_mt", "pretrain_ctc_ot", "st_ctc_ot_mtdec"):
        assert (recipe / "exp" / exp / "1epoch.pth").is_file(), exp
    assert "loss_ot=" in (recipe / "exp/pretrain_ctc_ot/train.log").read_text()
