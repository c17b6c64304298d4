"""MuST-C: data preparation on a release-shaped fixture of real speech, its errors, and the recipe.

The fixture (:func:`write_must_c_fixture`) lays the five LibriVox utterances of test/data/librivox
out as MuST-C talks: each talk wav is the utterances one after another with 0.5 s of silence
between, and the yaml gives each utterance's offset into it, as MuST-C's segmentation does.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest
import sentencepiece as spm
import soundfile
from conftest import REPO, copy_recipe

from ctcot.bin import prepare_must_c as program
from ctcot.corpora import must_c
from ctcot.data_dir import read_kv, validate_data_dir
from ctcot.features import read_audio

LIBRIVOX = REPO / "test" / "data" / "librivox"
GAP = 0.5  # seconds of silence between the utterances of a talk
# talk number and utterances of each set
TALKS = {"train": (1, ["0870", "0880", "0890", "0920"]), "dev": (2, ["0930", "0880"]),
         "tst-COMMON": (3, ["0890", "0930"]), "tst-HE": (4, ["0920"])}
SHORT = {"en": "He", "de": "Er", "es": "Él", "fr": "Il"}  # a 0.1 s segment in train


def sentences() -> Dict[str, Dict[str, str]]:
    with open(LIBRIVOX / "sentences.tsv", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def write_must_c_fixture(root: Path, tgt_langs: Sequence[str] = ("de",), version: int = 1) -> Path:
    """Write ``<root>/en-<tgt>/data/<set>/{txt,wav}`` for each target, like MuST-C v1.0 (or v2.0,
    whose yaml lines have more fields). Train also gets a 0.1 s segment and two segments with the
    same offsets."""
    text = sentences()
    for tgt in tgt_langs:
        for set_name, (talk, utts) in TALKS.items():
            set_dir = root / f"en-{tgt}" / "data" / set_name
            (set_dir / "txt").mkdir(parents=True)
            (set_dir / "wav").mkdir()
            pieces, rows, offset = [], [], 0.0
            for utt in utts:
                audio, rate = soundfile.read(LIBRIVOX / f"{utt}.flac", dtype="int16")
                pieces += [audio, np.zeros(int(GAP * rate), np.int16)]
                rows.append((len(audio) / rate, offset, text[utt]["en"], text[utt][tgt]))
                offset += len(audio) / rate + GAP
            if set_name == "train":
                rows.append((0.1, 0.2, SHORT["en"], SHORT[tgt]))
                rows += [(1.0, 3.0, "Twice.", "Zweimal.")] * 2
            soundfile.write(set_dir / "wav" / f"ted_{talk}.wav", np.concatenate(pieces), 16000, subtype="PCM_16")
            extra = ", rW: 12, uW: 0" if version == 2 else ""
            yaml_lines = [f"- {{duration: {d:.6f}, offset: {o:.6f}{extra}, speaker_id: spk.{talk}, "
                          f"wav: ted_{talk}.wav}}" for d, o, _, _ in rows]
            for name, lines in [("yaml", yaml_lines), ("en", [r[2] for r in rows]), (tgt, [r[3] for r in rows])]:
                (set_dir / "txt" / f"{set_name}.{name}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def ms(seconds: float) -> str:
    return f"{int(1000 * round(seconds, 7) + 0.5):07d}"


def expected_train_ids() -> List[str]:
    ids, offset = [], 0.0
    for utt in TALKS["train"][1]:
        duration = soundfile.info(LIBRIVOX / f"{utt}.flac").frames / 16000
        ids.append(f"ted_00001_{ms(offset)}_{ms(offset + duration)}")
        offset += duration + GAP
    return sorted(ids + ["ted_00001_0000150_0000350"])  # 0.1 s at 0.2 s, widened to 0.15-0.35


@pytest.mark.parametrize("version", [1, 2])
def test_prepare_writes_espnet_ids_segments_and_text_variants(tmp_path, version):
    root = write_must_c_fixture(tmp_path / "MUST_C", version=version)
    written = must_c.prepare_must_c(root, tmp_path / "data", tgt_langs=["de"])
    assert written == {f"{s}.en-de": tmp_path / "data" / f"{s}.en-de" for s in must_c.SETS}
    assert list(written) == [f"{s}.en-de" for s in must_c.SETS]
    train = tmp_path / "data" / "train.en-de"
    validate_data_dir(train, text_files=["text.tc.en", "text.lc.rm.en", "text.tc.de"])

    ids = list(read_kv(train / "segments"))
    assert ids == expected_train_ids()  # the two segments with the same offsets are gone
    assert read_kv(train / "wav.scp") == {"ted_00001": str((root / "en-de/data/train/wav/ted_1.wav").resolve())}
    assert set(read_kv(train / "utt2spk").values()) == {"ted_00001"}
    assert read_kv(train / "segments")["ted_00001_0000150_0000350"] == "ted_00001 0.150 0.350"
    first = ids[0]  # 0870, at offset 0
    assert read_kv(train / "segments")[first] == "ted_00001 0.000 7.100"
    assert read_kv(train / "text.tc.en")[first].startswith("And Mr. John Dashwood")
    assert read_kv(train / "text.lc.rm.en")[first].startswith("and mr john dashwood had")
    dev = tmp_path / "data" / "dev.en-de"
    quoted = [u for u, t in read_kv(dev / "text.tc.de").items() if "liebenswürdig" in t]
    assert read_kv(dev / "text.tc.de")[quoted[0]] == 'Er hätte sogar selbst "liebenswürdig" werden können.'
    assert read_kv(dev / "text.lc.rm.de")[quoted[0]] == "er hätte sogar selbst liebenswürdig werden können"
    assert read_kv(dev / "text.lc.rm.en")[quoted[0]] == "he might even have been made amiable himself"
    assert not (train / "text.tc.mul").exists()

    # The segment's audio is the utterance itself.
    start, end = (float(x) for x in read_kv(train / "segments")[ids[2]].split()[1:])  # 0880, the second
    _, cut = read_audio(read_kv(train / "wav.scp")["ted_00001"], start, end)
    original, _ = soundfile.read(LIBRIVOX / "0880.flac", dtype="int16")
    assert abs(len(cut) - len(original)) <= 16
    n = min(len(cut), len(original))
    assert np.corrcoef(cut[:n].astype(float), original[:n].astype(float))[0, 1] > 0.99


def test_multilingual_tags_and_combined_sets(tmp_path):
    root = write_must_c_fixture(tmp_path / "MUST_C", ("de", "es"))
    data = tmp_path / "data"
    written = must_c.prepare_must_c(root, data, tgt_langs=["de", "es"])
    names = [f"{s}.en-{lang}" for lang in ("de", "es") for s in must_c.SETS] + ["train.en-de_es", "dev.en-de_es"]
    assert list(written) == names and all(written[name] == data / name for name in names)
    assert sorted(p.name for p in data.iterdir()) == sorted(names)
    combined = read_kv(data / "train.en-de_es" / "text.tc.mul")
    single = read_kv(data / "train.en-de" / "text.tc.de")
    assert len(combined) == 2 * len(single)
    for utt, translation in single.items():
        assert combined[f"{utt}_de"] == f"<2de> {translation}"
        assert combined[f"{utt}_es"] == f"<2es> {read_kv(data / 'train.en-es' / 'text.tc.es')[utt]}"
    first_utt = next(iter(read_kv(data / "tst-COMMON.en-es/segments")))
    assert read_kv(data / "tst-COMMON.en-es" / "text.tc.mul")[first_utt].startswith("<2es> ")
    wav = read_kv(data / "train.en-de_es" / "wav.scp")
    assert set(wav) == {"ted_00001_de", "ted_00001_es"}
    validate_data_dir(data / "train.en-de_es", text_files=["text.lc.rm.en", "text.tc.mul"])
    assert not (data / "tst-COMMON.en-de_es").exists()


def _break(root: Path, case: str) -> str:
    """Damage a good fixture; return a fragment the error message must contain."""
    txt = root / "en-de/data/dev/txt"
    if case == "no_root":
        shutil.rmtree(root)
        return "db.sh"
    if case == "wrong_layout":
        (root / "en-de").rename(root / "de")
        return f"{root / 'en-de/data/train'} does not exist"
    if case == "line_counts":
        lines = (txt / "dev.de").read_text().splitlines()
        (txt / "dev.de").write_text("\n".join(lines[:-1]) + "\n")
        return f"{txt / 'dev.de'} has 1 lines but {txt / 'dev.yaml'} has 2 segments"
    if case == "missing_wav":
        (root / "en-de/data/tst-HE/wav/ted_4.wav").unlink()
        tst_he = root / "en-de/data/tst-HE"
        return f"{tst_he / 'wav/ted_4.wav'} (first used at {tst_he / 'txt/tst-HE.yaml'}:1)"
    if case == "bad_yaml":
        lines = (txt / "dev.yaml").read_text().splitlines()
        (txt / "dev.yaml").write_text(lines[0] + "\n" + lines[1].replace("offset:", "ofset:") + "\n")
        return f"{txt / 'dev.yaml'}:2: expected '- {{duration"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["no_root", "wrong_layout", "line_counts", "missing_wav", "bad_yaml"])
def test_errors_name_the_path_and_leave_earlier_outputs(tmp_path, case):
    root = write_must_c_fixture(tmp_path / "MUST_C")
    data = tmp_path / "data"
    must_c.prepare_must_c(root, data, tgt_langs=["de"], sets=["dev"])
    before = sorted(p.name for p in data.iterdir())
    dev_before = {p.name: p.read_bytes() for p in (data / "dev.en-de").iterdir()}
    expected = _break(root, case)
    with pytest.raises((ValueError, FileNotFoundError)) as error:
        must_c.prepare_must_c(root, data, tgt_langs=["de"])
    assert expected in str(error.value)
    assert sorted(p.name for p in data.iterdir()) == before  # nothing new, not even a temporary dir
    assert {p.name: p.read_bytes() for p in (data / "dev.en-de").iterdir()} == dev_before


def test_cli_rejects_an_unsupported_pair_and_reports_errors_in_one_line(tmp_path, capsys):
    for tgt_langs in (["ja"], ["de_ja"], ["de ja"]):
        with pytest.raises(SystemExit) as exit_info:
            program.main(["--corpus_dir", str(tmp_path), "--tgt_langs", *tgt_langs,
                          "--output_dir", str(tmp_path / "data")])
        assert exit_info.value.code == 2
        assert "invalid choice: 'ja'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unsupported MuST-C target language"):
        must_c.prepare_must_c(tmp_path, tmp_path / "data", tgt_langs=["ja"])
    with pytest.raises(ValueError, match=r"target language\(s\) \['de'\] given twice"):
        must_c.prepare_must_c(tmp_path, tmp_path / "data", tgt_langs=["de", "es", "de"])
    for flag in ("--corpus_dir", "--root"):  # --root: the old spelling, kept for a release
        assert program.main([flag, str(tmp_path / "nowhere"), "--tgt_langs", "de"]) == 1
    assert not (tmp_path / "data").exists()
    with pytest.raises(SystemExit) as exit_info:
        program.main(["--tgt_langs", "de"])
    assert exit_info.value.code == 2 and "required: --corpus_dir" in capsys.readouterr().err


def st_sets(*tgt_langs: str) -> Dict[str, str]:
    """``--print_st_sets``'s output, as run.sh sees it after ``eval``."""
    printed = subprocess.run([sys.executable, "-m", "ctcot.bin.prepare_must_c", "--tgt_langs", *tgt_langs,
                              "--print_st_sets"], capture_output=True, text=True, check=True).stdout
    names = ("tgt_langs", "tgt_lang", "train_set", "valid_set", "test_sets")
    script = 'set -eu; eval "$1"; printf "%s\\n" ' + " ".join(f'"${name}"' for name in names)
    evaluated = subprocess.run(["bash", "-c", script, "bash", printed], capture_output=True, text=True,
                               check=True).stdout
    return dict(zip(names, evaluated.splitlines()))


def test_tgt_langs_spellings_and_st_sets_name_the_dirs_written(tmp_path):
    """--tgt_langs de_es, "de es" and de es give the same dirs, and --print_st_sets names them: as
    run.sh gives them to st.sh, with the text files of st.sh's --tgt_lang."""
    root = write_must_c_fixture(tmp_path / "MUST_C", ("de", "es"))
    written = {}
    for n, spelling in enumerate([["de_es"], ["de es"], ["de", "es"]]):
        out = tmp_path / f"data{n}"
        assert program.main(["--corpus_dir", str(root), "--tgt_langs", *spelling, "--output_dir", str(out)]) == 0
        written[n] = sorted(p.name for p in out.iterdir())
        assert st_sets(*spelling) == st_sets("de_es")
    assert written[0] == written[1] == written[2]

    names = st_sets("de_es")
    assert names == {"tgt_langs": "de_es", "tgt_lang": "mul", "train_set": "train.en-de_es",
                     "valid_set": "dev.en-de_es",
                     "test_sets": "tst-COMMON.en-de tst-HE.en-de tst-COMMON.en-es tst-HE.en-es"}
    for name in [names["train_set"], names["valid_set"], *names["test_sets"].split()]:
        assert name in written[0] and (tmp_path / "data0" / name / "text.tc.mul").is_file(), name

    single = must_c.prepare_must_c(root, tmp_path / "single", tgt_langs=["es"])
    names = st_sets("es")
    assert names["tgt_langs"] == names["tgt_lang"] == "es"
    assert sorted(single) == sorted([names["train_set"], names["valid_set"], *names["test_sets"].split()])
    assert all((single[name] / "text.tc.es").is_file() for name in single)


def test_corpus_libraries_do_not_import_the_programs():
    """ctcot.corpora is library code below the programs of ctcot.bin, which use it."""
    code = ("import sys, ctcot.corpora.must_c, ctcot.corpora.covost2, ctcot.corpora.mini_st; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] == ['ctcot', 'bin']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def make_recipe(root: Path) -> Path:
    """A copy of egs2/must_c/st1 under ``root`` (tools/ and egs2/TEMPLATE linked), with the mini
    corpus's tiny configs beside it."""
    recipe = copy_recipe(root, "must_c")
    shutil.copytree(REPO / "egs2" / "mini_st" / "st1" / "conf" / "tiny", recipe / "conf" / "tiny_ci")
    return recipe


@pytest.mark.recipe
def test_multilingual_recipe_stages_1_to_10(tmp_path):
    """run.sh --tgt_langs "de es" on the fixture: data, features, phonemes and tagged SentencePiece,
    then a few training steps of MT, CTC+OT and ST, decoding forced to each test set's tag, scoring."""
    root = write_must_c_fixture(tmp_path / "MUST_C", ("de", "es"))
    recipe = make_recipe(tmp_path / "ctcot")
    env = {**os.environ, "MUST_C": str(root)}
    steps = "--max_epoch 1 --batch_size 4"
    result = subprocess.run(
        ["./run.sh", "--tgt_langs", "de es", "--conf_dir", "conf/tiny_ci", "--ngpu", "0", "--nj", "2",
         "--inference_nj", "1", "--src_nbpe", "50", "--tgt_nbpe", "60", "--stop_stage", "10",
         "--min_wav_duration", "0.1", "--mt_args", steps, "--pretrain_args", steps, "--st_args", steps,
         "--inference_args", "--maxlenratio 0.5", "--inference_model", "1epoch.pth"],
        cwd=recipe, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    dump = recipe / "dump" / "fbank"

    train = dump / "train.en-de_es"
    assert len(read_kv(train / "feats.scp")) == 2 * 5  # 4 utterances + the widened one, per target
    tokens = (recipe / "data/token_list/tgt_bpe_unigram60/tokens.txt").read_text().split()
    assert "<2de>" in tokens and "<2es>" in tokens
    sp = spm.SentencePieceProcessor(model_file=str(recipe / "data/token_list/tgt_bpe_unigram60/bpe.model"))
    assert sp.encode("<2de> Er war kein Mann,", out_type=str)[0] == "<2de>"
    phonemes = read_kv(train / "text.phn.en")
    assert all(p and "<" not in p for p in phonemes.values())

    for lang in ("de", "es"):
        decode = recipe / "exp/st_ctc_ot_mtdec/decode_decode_st_1epoch" / f"tst-COMMON.en-{lang}"
        hyps = read_kv(decode / "text", allow_empty=True)
        assert list(hyps) == sorted(read_kv(dump / f"tst-COMMON.en-{lang}" / "feats.scp"))
        assert not any(h.startswith("<2") for h in hyps.values())
        assert f"hypotheses start with <2{lang}>" in result.stdout
        assert (decode / "result.json").is_file()
    assert "tst-HE.en-es" in (recipe / "exp/st_ctc_ot_mtdec/RESULTS.md").read_text()


@pytest.mark.parametrize("args, expected", [
    (["--tgt_langs=de_es", "--print_sets", "true"], "test_sets=tst-COMMON.en-de tst-HE.en-de tst-COMMON.en-es"),
    (["--print_sets", "true", "--tgt_langs", "fr", "--conf=large"], "valid_set=dev.en-fr"),
    (["--print_sets", "true", "--tgt_langs"], "option --tgt_langs needs a value"),
])
def test_run_sh_options_as_covost2_takes_them(tmp_path, args, expected):
    """run.sh's own options: --name value or --name=value, anywhere; a missing value named (once: 'unbound
    variable'). One parser for every recipe (utils/recipe_options.sh)."""
    recipe = make_recipe(tmp_path)
    result = subprocess.run(["./run.sh", *args], cwd=recipe, capture_output=True, text=True, timeout=120)
    assert expected in result.stdout + result.stderr, result.stdout + result.stderr
    assert (result.returncode == 2) == ("needs a value" in expected)
