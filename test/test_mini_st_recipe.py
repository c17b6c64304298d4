"""The mini_st recipe end to end on the tiny corpus and configs: every stage's outputs, re-runs, bad input.

The recipe is copied into a temporary tree (its own data/, dump/, exp/), with tools/ and
egs2/TEMPLATE linked to the repository's, so the tests never touch a user's experiments.

The ``recipe`` fixture runs every stage once (about 8 minutes); the tests that use it then read
its outputs, or run st.sh again on it. Those that run it again depend on what ran before them in
this file's order (pytest keeps it): they re-run stages and check what is redone.
"""
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import sacrebleu
import soundfile
import torch
import yaml
from conftest import TINY, assert_gap_json_aggregates_per_utt, copy_recipe
from conftest import run_recipe as run

from ctcot.data_dir import read_kv, validate_data_dir
from ctcot.gap_curves import read_curve
from ctcot.scoring import read_results_md

pytestmark = pytest.mark.recipe  # tools/test.sh --quick leaves these out

# The options of the full run, which every later call repeats: speed perturbation, and stage 12's gap curves.
FULL = ["--speed_perturb_factors", "0.9 1.0 1.1", "--gap_curves", "true"]
SRC, TGT = "text.lc.rm.en", "text.tc.de"
ST_EXP = "exp/st_ctc_ot_mtdec"
DECODE = f"{ST_EXP}/decode_decode_st_valid.acc.ave/test"




@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """The recipe after a full run (stages 1-12, speed perturbation, CTC+OT, MT-initialised decoder)."""
    recipe = copy_recipe(tmp_path_factory.mktemp("full"), "mini_st")
    result = run(recipe, *FULL)
    (recipe / "run.out").write_text(result.stdout + result.stderr)
    return recipe


def ids(path: Path):
    return list(read_kv(path, allow_empty=True))


def test_stage1_data(recipe):
    for name, size in [("train", 60), ("dev", 15), ("test", 15)]:
        report = validate_data_dir(recipe / "data" / name, text_files=[SRC, TGT])
        assert report.num_utterances == size
    train_speakers = set(read_kv(recipe / "data/train/utt2spk").values())
    test_speakers = set(read_kv(recipe / "data/test/utt2spk").values())
    assert not train_speakers & test_speakers


def test_stage2_speed_perturbation(recipe):
    speeds = read_kv(recipe / "data/train_sp/utt2speed")
    assert len(speeds) == 180
    assert sorted(set(speeds.values())) == ["0.9", "1.0", "1.1"]
    assert read_kv(recipe / "data/train_sp" / TGT)["sp0.9-" + ids(recipe / "data/train/utt2spk")[0]]


def test_stage3_features(recipe):
    org = recipe / "dump/fbank/org/train_sp"
    frames = {utt: int(n) for utt, n in read_kv(org / "utt2num_frames").items()}
    assert len(frames) == 180
    with contextlib.chdir(recipe):  # feats.scp holds paths relative to the recipe, as in ESPnet
        feats = dict(kaldiio.load_scp_sequential(str(org / "feats.scp")))
    assert {utt: m.shape[0] for utt, m in feats.items()} == frames
    assert {m.shape[1] for m in feats.values()} == {40}  # run.sh's --num_mel_bins 40
    assert (org / "feat_dim").read_text().split() == ["40"]
    stats = np.load(org / "feats_stats.npz")
    assert int(stats["count"]) == sum(frames.values())
    np.testing.assert_allclose(stats["sum"], sum(m.sum(0, dtype=np.float64) for m in feats.values()), rtol=1e-6)
    utt = ids(recipe / "data/train/utt2spk")[0]
    assert abs(frames[f"sp0.9-{utt}"] - frames[utt] / 0.9) <= 2
    assert abs(frames[f"sp1.1-{utt}"] - frames[utt] / 1.1) <= 2
    assert len(read_kv(recipe / "dump/fbank/test/feats.scp")) == 15  # test sets are not filtered


def test_stage4_filtering(recipe):
    for name, total in [("train_sp", 180), ("dev", 15)]:
        kept = ids(recipe / "dump/fbank" / name / "feats.scp")
        dropped = (recipe / "dump/fbank" / name / "dropped_utts").read_text().splitlines()
        assert len(kept) + len(dropped) == total
        validate_data_dir(recipe / "dump/fbank" / name, text_files=[SRC, TGT], require_audio_exists=False)


def test_stage5_tokens_and_shapes(recipe):
    phonemes = read_kv(recipe / "dump/fbank/train_sp/text.phn.en")
    assert list(phonemes) == ids(recipe / "dump/fbank/train_sp" / SRC)
    for tokens, shape, text in [("src_phn", "src_text_shape.phn", "text.phn.en"),
                                ("tgt_bpe_unigram300", "text_shape.bpe_unigram300", TGT)]:
        token_list = (recipe / "data/token_list" / tokens / "tokens.txt").read_text().splitlines()
        assert token_list[:2] == ["<blank>", "<unk>"] and token_list[-1] == "<sos/eos>"
        assert len(set(token_list)) == len(token_list)
        shapes = read_kv(recipe / "dump/fbank/train_sp" / shape)
        assert list(shapes) == ids(recipe / "dump/fbank/train_sp" / text)
        assert {s.split(",")[1] for s in shapes.values()} == {str(len(token_list))}
        assert all(int(s.split(",")[0]) > 0 for s in shapes.values())


def test_stages6_to_8_training_and_initialisation(recipe):
    import torch

    mt = torch.load(recipe / "exp/mt_train_mt/valid.acc.ave.pth", map_location="cpu")
    pretrain_config = yaml.safe_load((recipe / "exp/pretrain_ctc_ot/config.yaml").read_text())
    assert pretrain_config["init_param"] == ["exp/mt_train_mt/valid.acc.ave.pth:frontend:text_frontend",
                                             "exp/mt_train_mt/valid.acc.ave.pth:encoder:text_encoder"]
    st_config = yaml.safe_load((recipe / ST_EXP / "config.yaml").read_text())
    assert st_config["init_param"] == ["exp/pretrain_ctc_ot/valid.loss.ave.pth:encoder:encoder",
                                       "exp/mt_train_mt/valid.acc.ave.pth:decoder:decoder"]
    pretrained = torch.load(recipe / "exp/pretrain_ctc_ot/valid.loss.ave.pth", map_location="cpu")
    assert any(k.startswith("text_encoder.") for k in pretrained)
    assert any(k.startswith("decoder.") for k in mt)
    # Each training ran its epochs and averaged its best checkpoints.
    for exp in ["exp/mt_train_mt", "exp/pretrain_ctc_ot", ST_EXP]:
        log = (recipe / exp / "train.log").read_text()
        assert "2epoch results" in log and "Averaging 2best models" in log, exp


def test_stage6_scores_the_mt_model_on_gold_transcripts(recipe):
    """The cascade's upper bound: ESPnet's MT beam search (the ST decoding config), scored."""
    decode = recipe / "exp/mt_train_mt/decode_decode_st_valid.acc.ave/test"
    hyps = read_kv(decode / "text", allow_empty=True)
    refs = read_kv(recipe / "data/test" / TGT)
    assert list(hyps) == list(refs)
    expected = sacrebleu.corpus_bleu([hyps[u] for u in refs], [[refs[u] for u in refs]]).score
    assert json.loads((decode / "result.json").read_text())["bleu"] == pytest.approx(expected)
    rows = read_results_md(recipe / "exp/mt_train_mt/RESULTS.md")
    assert [(r["test_set"], r["num_sentences"]) for r in rows] == [("test", 15)]


def test_stage9_decoding(recipe):
    hyps = read_kv(recipe / DECODE / "text", allow_empty=True)
    assert list(hyps) == ids(recipe / "data/test" / TGT)


def test_stage10_scoring(recipe):
    rows = read_results_md(recipe / ST_EXP / "RESULTS.md")
    assert [(r["test_set"], r["num_sentences"]) for r in rows] == [("test", 15)]
    hyps = read_kv(recipe / DECODE / "text", allow_empty=True)
    refs = read_kv(recipe / "data/test" / TGT)
    expected = sacrebleu.corpus_bleu([hyps[u] for u in refs], [[refs[u] for u in refs]]).score
    result = json.loads((recipe / DECODE / "result.json").read_text())
    assert result["bleu"] == pytest.approx(expected)
    assert rows[0]["bleu"] == pytest.approx(expected, abs=0.006)
    assert "BLEU" in (recipe / "run.out").read_text()


def test_stage11_packed_model_decodes_like_stage9(recipe, tmp_path):
    from espnet2.bin.st_inference import Speech2Text
    from espnet2.main_funcs.pack_funcs import unpack

    packed = recipe / ST_EXP / "ctc_ot_mtdec_packed.zip"
    assert "meta.yaml" in {Path(n).name for n in zipfile.ZipFile(packed).namelist()}
    files = unpack(packed, tmp_path)
    with contextlib.chdir(tmp_path):  # the unpacked config's paths are relative to where it was unpacked
        speech2text = Speech2Text(**files, beam_size=2, maxlenratio=0.5)
    with contextlib.chdir(recipe):
        utt, feats = next(iter(kaldiio.load_scp_sequential("dump/fbank/test/feats.scp")))
    hyp = speech2text(feats)[0][0]
    assert hyp == read_kv(recipe / DECODE / "text", allow_empty=True)[utt]


def test_stage9_batches_give_espnets_hypotheses(recipe, tmp_path):
    """Stage 9 decodes in utterance batches; ESPnet's st_inference (--batch_bins 0: one utterance at a
    time) gives the same token ids, and so do batches of any size."""
    from ctcot.st_inference import BatchSpeech2Text

    espnet_dir = tmp_path / "espnet"
    subprocess.run([sys.executable, "-m", "ctcot.bin.st_inference", "--batch_bins", "0", "--ngpu", "0",
                    "--config", "conf/tiny/decode_st.yaml", "--st_train_config", f"{ST_EXP}/config.yaml",
                    "--st_model_file", f"{ST_EXP}/valid.acc.ave.pth", "--output_dir", str(espnet_dir),
                    "--data_path_and_name_and_type", "dump/fbank/test/feats.scp,speech,kaldi_ark"],
                   cwd=recipe, check=True, capture_output=True, timeout=300)
    espnet = read_kv(espnet_dir / "1best_recog/token_int", allow_empty=True)
    batched = {}
    for part in sorted((recipe / DECODE / "logdir").glob("output.*/1best_recog/token_int")):
        batched.update(read_kv(part, allow_empty=True))
    assert len(espnet) == 15 and batched == espnet
    assert read_kv(recipe / DECODE / "text", allow_empty=True) == read_kv(espnet_dir / "1best_recog/text",
                                                                           allow_empty=True)
    with contextlib.chdir(recipe):
        feats = dict(kaldiio.load_scp_sequential("dump/fbank/test/feats.scp"))
        decode = yaml.safe_load(Path("conf/tiny/decode_st.yaml").read_text())
        options = {k: decode[k] for k in ("beam_size", "penalty", "maxlenratio", "minlenratio")}
        for batch_bins in (1, 500, 10 ** 6):  # batch size 1, a few, all at once
            speech2text = BatchSpeech2Text(f"{ST_EXP}/config.yaml", f"{ST_EXP}/valid.acc.ave.pth",
                                           batch_bins=batch_bins, **options)
            results = speech2text(list(feats.values()))
            assert {utt: " ".join(map(str, r[0][2])) for utt, r in zip(feats, results)} == espnet, batch_bins


def test_translate_recordings_with_the_packed_model(recipe, tmp_path):
    """python -m ctcot.bin.translate on stage 11's archive: a test recording translates as stage 9 decoded it
    (also in stereo); unusable files are named, the others translated, and the exit status is 1."""
    utt, wav = next(iter(read_kv(recipe / "data/test/wav.scp").items()))
    audio, rate = soundfile.read(recipe / wav, dtype="int16")
    stereo, empty, text = tmp_path / "stereo.flac", tmp_path / "empty.wav", tmp_path / "notes.txt"
    soundfile.write(stereo, np.stack([audio, audio], axis=1), rate)
    soundfile.write(empty, np.zeros(0, dtype="int16"), rate)
    text.write_text("not audio\n")
    files = [str(recipe / wav), str(empty), str(stereo), str(text)]
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.translate", "--model",
                             str(recipe / ST_EXP / "ctc_ot_mtdec_packed.zip"), *files],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    expected = read_kv(recipe / DECODE / "text", allow_empty=True)[utt]
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stdout.splitlines() == [f"{files[0]}\t{expected}", f"{files[2]}\t{expected}"]
    assert f"{empty}: no samples" in result.stderr and f"{text}: cannot read it as audio" in result.stderr
    assert "2 of 4 files could not be translated" in result.stderr


def test_translate_names_what_is_wrong_with_each_file_and_model(recipe, tmp_path):
    utt, wav = next(iter(read_kv(recipe / "data/test/wav.scp").items()))
    audio, rate = soundfile.read(recipe / wav, dtype="int16")
    long_wav, zero_bytes = tmp_path / "ten_minutes.wav", tmp_path / "zero.wav"
    soundfile.write(long_wav, np.zeros(700 * rate, dtype="int16"), rate)
    zero_bytes.touch()
    files = [str(tmp_path / "missing.wav"), str(tmp_path), str(zero_bytes), str(long_wav), str(recipe / wav)]
    packed = recipe / ST_EXP / "ctc_ot_mtdec_packed.zip"
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.translate", "--model", str(packed), "--max_seconds",
                             "700", "--max_memory_gb", "2", *files], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and result.stdout.splitlines() == [
        f"{files[-1]}\t{read_kv(recipe / DECODE / 'text', allow_empty=True)[utt]}"]
    err = result.stderr
    assert f"{files[0]}: file does not exist" in err and f"{tmp_path}: a directory, not an audio file" in err
    assert f"{zero_bytes}: empty file (0 bytes)" in err
    # 700 s: refused before it is read, with the length that fits (once it ran 5 minutes at 11 GB).
    assert re.search(rf"{long_wav}: 700.0 s would need about \d+\.\d GB for the encoder's self-attention, over "
                     r"the limit of 2.0 GB \(--max_memory_gb\); cut it into pieces of at most \d+ s", err), err
    assert "4 of 5 files could not be translated" in err

    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    for model, message in ((recipe / ST_EXP, "is a directory: --model is stage 11's packed archive"),
                           (truncated, "truncated.zip is not a complete packed ST model"),
                           (tmp_path / "none.zip", "none.zip does not exist")):
        result = subprocess.run([sys.executable, "-m", "ctcot.bin.translate", "--model", str(model), files[-1]],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, model


def test_translate_gives_each_translation_when_ready_and_cleans_up_on_sigterm(recipe, tmp_path):
    import signal

    from ctcot.translate import Translator, attention_bytes

    assert attention_bytes(600, 4) == pytest.approx(10.8e9, rel=0.01)  # its calibration: 11 GB, 10 min, 4 heads
    wavs = [str(recipe / w) for w in list(read_kv(recipe / "data/test/wav.scp").values())[:3]]
    with Translator(recipe / ST_EXP / "ctc_ot_mtdec_packed.zip", batch_bins=1) as translator:
        read = []
        features = translator.features
        translator.features = lambda path: read.append(path) or features(path)
        results = translator.translate_iter([wavs[0], str(tmp_path / "missing.wav"), *wavs[1:]])
        assert next(results).text and read == [wavs[0], str(tmp_path / "missing.wav"), wavs[1]]
        assert "does not exist" in next(results).error and read[-1] == wavs[1]
        assert [r.text is not None for r in results] == [True, True]
        unpacked = Path(translator._unpacked.name)
        assert unpacked.is_dir()
    assert not unpacked.exists()

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "ctcot.bin.translate", "--model",
                                str(recipe / ST_EXP / "ctc_ot_mtdec_packed.zip"), "--batch_bins", "1", *wavs * 50],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "TMPDIR": str(tmp)})
    assert process.stdout.readline().startswith(wavs[0])  # printed before the other 149 are decoded
    assert list(tmp.iterdir())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert list(tmp.iterdir()) == []


def test_stage12_modality_gap(recipe):
    gap_dir = recipe / "exp/pretrain_ctc_ot/modality_gap_dev"
    gap = json.loads((gap_dir / "gap.json").read_text())
    num_utts = len(ids(recipe / "dump/fbank/dev/feats.scp"))
    assert gap["n_utts"] == num_utts and gap["retrieval_chance_top1"] == pytest.approx(1 / num_utts)
    assert (gap["speech_model"]["model_file"], gap["text_model"]["model_file"]) == (
        "exp/pretrain_ctc_ot/valid.loss.ave.pth", "exp/mt_train_mt/valid.acc.ave.pth")
    assert gap["cosine_margin"] == pytest.approx(gap["cosine_paired"] - gap["cosine_unpaired"])
    assert_gap_json_aggregates_per_utt(gap_dir)
    assert len((gap_dir / "per_utt.tsv").read_text().splitlines()) == num_utts + 1
    plots = list(gap_dir.glob("plan_*.png")) + [gap_dir / "projection.png"]
    assert len(plots) == 5 and all(p.stat().st_size > 1000 for p in plots)
    assert "linear CKA" in (recipe / "run.out").read_text()
    # CTC+OT also against its own text encoder
    own = json.loads((recipe / "exp/pretrain_ctc_ot/modality_gap_dev_own_text/gap.json").read_text())
    assert own["text_model"]["model_file"] == "exp/pretrain_ctc_ot/valid.loss.ave.pth" and own["n_utts"] == num_utts
    # The zero-shot swap: the pre-trained encoder and the MT decoder, decoded and scored on the test set.
    zero_shot = recipe / "exp/pretrain_ctc_ot/zero_shot"
    swap = torch.load(zero_shot / "model.pth")
    for checkpoint, prefix in (("exp/pretrain_ctc_ot/valid.loss.ave.pth", "encoder."),
                               ("exp/mt_train_mt/valid.acc.ave.pth", "decoder.")):
        reference = torch.load(recipe / checkpoint)
        assert all(torch.equal(swap[k], v) for k, v in reference.items() if k.startswith(prefix))
    result = json.loads((zero_shot / "decode_decode_st/test/result.json").read_text())
    assert result["num_sentences"] == 15 and read_results_md(zero_shot / "RESULTS.md")[0]["num_sentences"] == 15
    assert gap["zero_shot"]["test"]["bleu"] == result["bleu"]
    # The cascade: CTC+OT's greedy CTC transcripts of the test set (phonemes, as text.phn.en) translated by the MT
    # model, scored; the token error rate against text.phn.en.
    cascade = recipe / "exp/pretrain_ctc_ot/cascade"
    transcripts = read_kv(cascade / "test/text", allow_empty=True)
    assert list(transcripts) == ids(recipe / "dump/fbank/test/feats.scp")
    phonemes = set((recipe / "data/token_list/src_phn/tokens.txt").read_text().split())
    assert all(set(t.split()) <= phonemes for t in transcripts.values())
    ctc_error = json.loads((cascade / "test/ctc_error.json").read_text())
    gold = read_kv(recipe / "dump/fbank/test/text.phn.en")
    assert ctc_error["utterances"] == 15 and ctc_error["ref_tokens"] == sum(len(t.split()) for t in gold.values())
    assert ctc_error["error_rate"] == pytest.approx(
        (ctc_error["substitutions"] + ctc_error["deletions"] + ctc_error["insertions"]) / ctc_error["ref_tokens"])
    assert 0 <= ctc_error["error_rate"] <= 1
    hyps = read_kv(cascade / "decode_decode_st/test/text", allow_empty=True)
    refs = read_kv(recipe / "data/test" / TGT)
    assert list(hyps) == list(refs)
    cascade_result = json.loads((cascade / "decode_decode_st/test/result.json").read_text())
    assert cascade_result["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu([hyps[u] for u in refs], [[refs[u] for u in refs]]).score)
    assert read_results_md(cascade / "RESULTS.md")[0]["num_sentences"] == 15
    # The curves: one row per pre-training epoch (conf/tiny: 2), with the zero-shot BLEU of each.
    curve = read_curve(gap_dir / "curves.tsv")
    assert [r["epoch"] for r in curve] == [1, 2] and all(r["zero_shot_bleu"] is not None for r in curve)
    assert (gap_dir / "curves.png").stat().st_size > 10_000
    # done before; nothing to analyse without pre-training
    out = run(recipe, *FULL, "--stage", "12", "--stop_stage", "12").stdout
    assert "modality_gap_dev/gap.json and exp/pretrain_ctc_ot/modality_gap_dev_own_text/gap.json: done before" in out
    assert "zero_shot/model.pth: done before" in out
    assert "zero_shot/decode_decode_st/test/result.json: done before" in out
    assert "cascade/test/text and ctc_error.json: done before" in out
    assert "cascade/decode_decode_st/test/result.json: done before" in out
    # The cascade's MT decoding is stage 6's: the tiny CTC outputs nothing, so give it gold transcripts for 10
    # utterances; they get stage 6's translations, and the 5 empty ones empty translations.
    gold_utts = list(gold)[:10]
    (cascade / "test/text").write_text("".join(f"{u} {gold[u]}\n" if u in gold_utts else f"{u}\n" for u in gold))
    (cascade / "decode_decode_st/test/.done").unlink()
    out = run(recipe, *FULL, "--stage", "12", "--stop_stage", "12").stdout
    assert "cascade/test/text: 5 empty source(s): empty translation(s)" in out
    hyps = read_kv(cascade / "decode_decode_st/test/text", allow_empty=True)
    stage6 = read_kv(recipe / "exp/mt_train_mt/decode_decode_st_valid.acc.ave/test/text", allow_empty=True)
    assert list(hyps) == list(stage6) and any(stage6[u] for u in gold_utts)
    assert [hyps[u] for u in hyps] == [stage6[u] if u in gold_utts else "" for u in hyps]
    out = run(recipe, *FULL, "--stage", "12", "--stop_stage", "12", "--pretrain", "none").stdout
    assert "no pre-trained speech encoder" in out


def test_ablation_shares_finished_stages_and_resumes(recipe):
    """./ablation.sh on the recipe after its full run: only the seeds' ST runs are new."""
    command = ["./ablation.sh", "--pretrains", "ctc_ot", "--mt_decoder_init", "true", "--seeds", "1", "2",
               "--parallel", "2", "--", *TINY, *FULL]
    first = subprocess.run(command, cwd=recipe, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stderr[-3000:]
    out = recipe / "exp" / "ablation"
    assert "2 of 2 ST runs finished" in (out / "RESULTS.md").read_text()
    summary = json.loads((out / "results.json").read_text())
    assert sorted(r["seed"] for r in summary["runs"]) == [1, 2]
    assert summary["gaps"]["ctc_ot"]["n_utts"] == len(ids(recipe / "dump/fbank/dev/feats.scp"))
    for seed in (1, 2):  # the seed reached ESPnet; each run decoded and scored the test set
        assert f"seed: {seed}\n" in (recipe / f"exp/st_ctc_ot_mtdec_seed{seed}/config.yaml").read_text()
        assert (recipe / f"exp/st_ctc_ot_mtdec_seed{seed}/decode_decode_st_valid.acc.ave/test/text").stat().st_size
    for exp in ("exp/pretrain_ctc_ot", "exp/mt_train_mt"):  # trained once, by the recipe's run
        assert (recipe / exp / "train.log").read_text().count("# Started at") == 1
    assert (out / "bleu_chrf.png").stat().st_size > 0

    # Run again: every stage is found done.
    again = subprocess.run(command, cwd=recipe, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    log = (out / "logs" / "st_ctc_ot_mtdec_seed2.log").read_text()
    assert log.count("valid.acc.ave.pth exists: done before") == 1 and log.count("/text: done before") == 1


def test_rerun_skips_finished_stages(recipe):
    models = [recipe / "exp/mt_train_mt/valid.acc.ave.pth", recipe / "exp/pretrain_ctc_ot/valid.loss.ave.pth",
              recipe / ST_EXP / "valid.acc.ave.pth"]
    before = [m.resolve().stat().st_mtime_ns for m in models]
    out = run(recipe, *FULL, "--stage", "2", "--stop_stage", "9").stdout
    done_before = sorted(line.split(") ", 1)[1].strip().split(":")[0]
                         for line in out.splitlines() if "done before" in line)
    assert done_before == sorted([
        "data/train_sp",  # speed perturbation
        "dump/fbank/org/train_sp", "dump/fbank/org/dev", "dump/fbank/test",  # features
        "dump/fbank/train_sp", "dump/fbank/dev",  # filtering
        "data/token_list/src_phn and data/token_list/tgt_bpe_unigram300",  # tokens
        "exp/mt_train_mt/valid.acc.ave.pth exists", "exp/pretrain_ctc_ot/valid.loss.ave.pth exists",  # trainings
        f"{ST_EXP}/valid.acc.ave.pth exists",
        "exp/mt_train_mt/decode_decode_st_valid.acc.ave/test/result.json", f"{DECODE}/text"])  # decodings
    assert [m.resolve().stat().st_mtime_ns for m in models] == before


def test_a_comment_or_key_order_in_a_config_retrains_nothing(recipe):
    """The signature is of the parsed config: once, a comment line retrained the pre-training and ST."""
    config = recipe / "conf/tiny/pretrain_ctc_ot.yaml"
    original = config.read_text()
    try:
        parsed = yaml.safe_load(original)
        config.write_text("# a comment\n" + yaml.safe_dump(dict(reversed(list(parsed.items()))), sort_keys=False))
        out = run(recipe, *FULL, "--stage", "7", "--stop_stage", "8").stdout
        assert "pretrain_ctc_ot/valid.loss.ave.pth exists: done before" in out
        assert "valid.acc.ave.pth exists: done before" in out and "other inputs" not in out
    finally:
        config.write_text(original)


def test_ctc_ot_frozen_keeps_the_mt_encoder(recipe):
    out = run(recipe, *FULL, "--stage", "7", "--stop_stage", "7", "--pretrain", "ctc_ot_frozen").stdout
    assert "pretrain_ctc_ot_frozen" in out
    exp = recipe / "exp/pretrain_ctc_ot_frozen"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["model_conf"]["text_encoder_freeze"] is True and config["model_conf"]["ot_weight"] == 0.1
    assert sorted(p.name for p in (exp / "epochs").iterdir()) == ["1epoch.pth", "2epoch.pth"]
    mt = torch.load(recipe / "exp/mt_train_mt/valid.acc.ave.pth")
    for path in (exp / "valid.loss.ave.pth", exp / "epochs/1epoch.pth"):
        state = torch.load(path)
        assert all(torch.equal(state["text_" + k], v) for k, v in mt.items() if k.startswith("encoder."))
    assert not torch.equal(state["encoder.after_norm.weight"],
                           torch.load(recipe / "exp/pretrain_ctc_ot/valid.loss.ave.pth")["encoder.after_norm.weight"])


def test_multitask_st_from_another_recipes_models(recipe, tmp_path):
    """--tokenizers_from, --mt_model, --pretrain_model: a second copy of the recipe uses the first one's
    tokenizers and models (no stage 6 or 7 of its own) for multi-task ST (--st_multitask true: ctcot's ST
    task; source CTC and speech encoder <- CTC+OT, the MT branch's text encoder and the decoder <- MT),
    checked before training; ESPnet decodes the result. Models that do not fit stop stage 8, naming the files."""
    other = copy_recipe(tmp_path / "other", "mini_st")
    mt, pretrain = recipe / "exp/mt_train_mt/valid.acc.ave.pth", recipe / "exp/pretrain_ctc_ot/valid.loss.ave.pth"
    external = ["--tokenizers_from", str(recipe), "--mt_model", str(mt), "--pretrain_model", str(pretrain)]
    result = run(other, *external, "--st_multitask", "true", "--gap_curves", "true",
                 "--gap_args", "--num_plans 1 --curve_zero_shot_utts 3")  # a lighter stage 12
    out = result.stdout
    assert f"Stage 6: no MT training (--mt_model {mt})" in out and "Stage 7: no ctc_ot pre-training" in out
    assert not (other / "exp/mt_train_mt").exists() and not (other / "exp/pretrain_ctc_ot/train.log").exists()
    for tokens in ("src_phn", "tgt_bpe_unigram300"):
        assert (other / "data/token_list" / tokens / "tokens.txt").read_bytes() == \
               (recipe / "data/token_list" / tokens / "tokens.txt").read_bytes()
    assert "init check: 5 model part(s) and 3 token list(s) fit" in result.stderr
    exp = other / "exp/st_ctc_ot_mtdec_multitask"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["init_param"] == [
        f"{pretrain}:encoder:encoder", f"{pretrain}:ctc:ctc", f"{mt}:decoder:decoder",
        f"{mt}:frontend:extra_mt_encoder.frontend", f"{mt}:encoder:extra_mt_encoder.encoder"]
    assert config["model_conf"]["mt_weight"] == 0.3 and config["text_encoder"] == "transformer"
    log = (exp / "train.log").read_text()
    assert "ctcot.bin.st_train" in log and "loss_mt=" in log and "2epoch results" in log
    assert read_results_md(exp / "RESULTS.md")[0]["num_sentences"] == 15
    gap = json.loads((other / "exp/pretrain_ctc_ot/modality_gap_dev/gap.json").read_text())  # stage 12, here
    assert gap["zero_shot"]["test"]["num_sentences"] == 15
    assert (other / "exp/pretrain_ctc_ot/modality_gap_dev/curves.tsv").is_file()  # from the other's epochs/
    # Stage 12 built the encoder with the feature statistics it was trained with, the other recipe's.
    speech_config = yaml.safe_load((other / "exp/pretrain_ctc_ot/external/speech_config.yaml").read_text())
    assert speech_config["normalize_conf"]["stats_file"] == str(recipe / "dump/fbank/train_sp/feats_stats.npz")

    # An MT model whose target tokens differ from this recipe's: both lists named, nothing trained.
    shutil.copytree(mt.parent, tmp_path / "mt")
    config = yaml.safe_load((tmp_path / "mt/config.yaml").read_text())
    config["token_list"][5] = "▁other"
    (tmp_path / "mt/config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = run(other, *external, "--stage", "8", "--stop_stage", "8", "--st_tag", "wrong",
                 "--mt_model", str(tmp_path / "mt/valid.acc.ave.pth"), check=False)
    assert result.returncode == 1
    assert re.search(rf"{tmp_path}/mt/config.yaml token_list has (\d+) tokens, "
                     r"data/token_list/tgt_bpe_unigram300/tokens.txt has \1; "
                     r"first difference at token 5: '▁other' vs ",
                     result.stdout + result.stderr)
    assert not (other / "exp/st_wrong/train.log").exists()
    result = run(other, "--stage", "8", "--stop_stage", "8", "--pretrain_model", str(tmp_path / "none.pth"),
                 check=False)
    assert result.returncode == 1
    assert (f"{tmp_path}/none.pth is missing: run stage 7 first, or give a model with --pretrain_model "
            "(and its config with --pretrain_model_config)") in result.stdout


def test_sentencepiece_source_and_ctc_ce_pretraining(recipe):
    """The other paths: SentencePiece source units, CTC+CE via ESPnet's ASR task (ctcot.bin.asr_train), no MT
    init."""
    out = run(recipe, *FULL, "--stage", "5", "--stop_stage", "10", "--src_token_type", "bpe",
              "--src_nbpe", "100", "--pretrain", "ctc_ce", "--st_init_decoder_from_mt", "false").stdout
    assert "MT pre-training not needed" in out
    shapes = read_kv(recipe / "dump/fbank/train_sp/src_text_shape.bpe_unigram100")
    assert list(shapes) == ids(recipe / "dump/fbank/train_sp" / SRC)
    config = yaml.safe_load((recipe / "exp/pretrain_ctc_ce/config.yaml").read_text())
    assert config["token_type"] == "bpe" and config["model_conf"]["ctc_weight"] == 0.3
    assert config["bpemodel"] == "data/token_list/src_bpe_unigram100/bpe.model"
    # ESPnet's ASR task on ctcot's trainer: every epoch's model kept (keep_nbest_models 2 of 2 here)
    assert config["keep_epoch_models"] is True
    assert sorted(p.name for p in (recipe / "exp/pretrain_ctc_ce/epochs").iterdir()) == ["1epoch.pth", "2epoch.pth"]
    st_config = yaml.safe_load((recipe / "exp/st_ctc_ce/config.yaml").read_text())
    assert st_config["init_param"] == ["exp/pretrain_ctc_ce/valid.loss.ave.pth:encoder:encoder"]
    assert read_results_md(recipe / "exp/st_ctc_ce/RESULTS.md")[0]["num_sentences"] == 15


# --- bad input ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A recipe after stage 1 only, with a pristine copy of data/ to restore."""
    recipe = copy_recipe(tmp_path_factory.mktemp("bad"), "mini_st")
    run(recipe, "--stop_stage", "1")
    shutil.copytree(recipe / "data", recipe / "data.pristine")
    return recipe


@pytest.fixture
def broken(prepared):
    yield prepared
    shutil.rmtree(prepared / "data")
    shutil.copytree(prepared / "data.pristine", prepared / "data")


def first_utt(recipe: Path, split: str = "train") -> str:
    """The utterance on line 4 of the split's files."""
    return ids(recipe / "data" / split / "utt2spk")[3]


def drop_line(path: Path, utt: str) -> None:
    path.write_text("".join(line for line in path.read_text().splitlines(True) if line.split(maxsplit=1)[0] != utt))


def failing(recipe: Path, *args: str) -> str:
    result = run(recipe, *args, check=False)
    assert result.returncode != 0
    return result.stdout + result.stderr


def test_missing_audio_file_stops_stage1(broken):
    utt = first_utt(broken)
    Path(read_kv(broken / "data/train/wav.scp")[utt]).rename(broken / "moved.wav")
    try:
        out = failing(broken, "--stop_stage", "1")
    finally:
        (broken / "moved.wav").rename(read_kv(broken / "data/train/wav.scp")[utt])
    assert "data/train is not a valid data directory" in out and "wav.scp:4" in out and utt in out
    assert "fix_data_dir data/train" in out


def test_utterance_missing_from_a_text_file_stops_stage1(broken):
    utt = first_utt(broken, "dev")
    drop_line(broken / "data/dev" / TGT, utt)
    out = failing(broken, "--stop_stage", "1")
    assert "data/dev is not a valid data directory" in out and TGT in out and utt in out


def test_empty_transcript_stops_stage1(broken):
    utt = first_utt(broken)
    path = broken / "data/train" / SRC
    path.write_text("".join(f"{line.split()[0]}\n" if line.split()[0] == utt else line
                            for line in path.read_text().splitlines(True)))
    out = failing(broken, "--stop_stage", "1")
    assert "data/train is not a valid data directory" in out and f"{SRC}:4" in out and utt in out
    assert "empty transcript" in out


def data_files(recipe: Path):
    """Every file of data/ and its contents, but st.sh's lock (data/.locks), which names the last command."""
    return {p: p.read_bytes() for p in (recipe / "data").rglob("*") if p.is_file() and p.parent.name != ".locks"}


def test_unreadable_audio_stops_stage3_and_keeps_earlier_outputs(broken):
    utt = first_utt(broken, "test")
    wav = Path(read_kv(broken / "data/test/wav.scp")[utt])
    saved = wav.read_bytes()
    wav.write_bytes(b"RIFF not really a wav file")
    data_before = data_files(broken)
    try:
        out = failing(broken, "--stage", "3", "--stop_stage", "3")
    finally:
        wav.write_bytes(saved)
    assert utt in out and "unusable audio" in out and "cannot read it" in out
    assert data_files(broken) == data_before
    assert (broken / "dump/fbank/org/train/.done").is_file()  # the sets before the bad one are kept
    assert not (broken / "dump/fbank/test/.done").exists()


def test_an_unwritable_exp_blocks_only_the_stages_that_write_it(broken):
    """The data stages' lock is in data/.locks; once it was in exp/.locks, with a raw bash error."""
    (broken / "exp").write_text("not a directory")
    try:
        assert "data/ already prepared" in run(broken, "--stop_stage", "1").stdout
        out = failing(broken, "--stage", "6", "--stop_stage", "6")
    finally:
        (broken / "exp").unlink()
    assert "Error: cannot write the lock file exp/.locks/mt_train_mt.lock: Not a directory" in out, out
    assert "the stages that write mt_train_mt need exp/.locks to be writable" in out


def test_ctc_infeasible_utterances_are_left_out_in_stage5(broken):
    """A 60-word transcript for a 1-2 s clip: CTC cannot align it; stage 5 lists it and leaves it out of training."""
    utt = first_utt(broken)
    path = broken / "data/train" / SRC
    path.write_text("".join(f"{utt} {' '.join(['word'] * 60)}\n" if line.split()[0] == utt else line
                            for line in path.read_text().splitlines(True)))
    result = run(broken, "--stage", "3", "--stop_stage", "5")
    assert "left out of training" in result.stderr + result.stdout
    train = broken / "dump/fbank/train"
    dropped = read_kv(train / "dropped_utts_ctc")
    assert list(dropped) == [utt] and dropped[utt].startswith("ctc_infeasible(")
    for shape in ("speech_shape", "src_text_shape.phn", "text_shape.bpe_unigram300"):
        assert utt not in read_kv(train / shape) and len(read_kv(train / shape)) == 59
    assert utt in read_kv(train / "feats.scp")  # stage 4's outputs are stage 4's
    assert read_kv(broken / "dump/fbank/dev/dropped_utts_ctc", allow_empty=True) == {}


def test_a_bad_config_is_rejected_before_the_experiment_is_moved(recipe, tmp_path):
    """A missing config, a yaml error, an unknown key, a typo inside encoder_conf: the finished ST experiment stays."""
    st_exp = recipe / ST_EXP
    before = sorted(p.name for p in (recipe / "exp").iterdir())
    model_time = (st_exp / "valid.acc.ave.pth").resolve().stat().st_mtime_ns
    config = yaml.safe_load((recipe / "conf/tiny/train_st.yaml").read_text())
    unknown = tmp_path / "unknown_key.yaml"
    unknown.write_text(yaml.safe_dump({**config, "max_epochs": 3}))
    nested = tmp_path / "nested_typo.yaml"
    nested.write_text(yaml.safe_dump({**config, "encoder_conf": {**config["encoder_conf"], "num_block": 3}}))
    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text((recipe / "conf/tiny/train_st.yaml").read_text() + "\nbad: [\n")
    cases = [(tmp_path / "missing.yaml", "missing.yaml does not exist"),
             (unknown, "unrecognized arguments: max_epochs"), (nested, "num_block"), (broken_yaml, "broken.yaml")]
    for path, message in cases:
        out = failing(recipe, *FULL, "--stage", "8", "--stop_stage", "8", "--st_config", str(path))
        assert message in out, out[-3000:]
        assert "Successfully finished" not in out
        assert sorted(p.name for p in (recipe / "exp").iterdir() if p.suffix != ".check") == before
        assert (st_exp / "valid.acc.ave.pth").resolve().stat().st_mtime_ns == model_time
        assert finished(st_exp)


def finished(exp: Path) -> bool:
    return (exp / ".done").is_file() and (exp / ".done").read_text() == (exp / ".signature").read_text()


def test_a_second_st_sh_on_the_same_experiment_is_refused(recipe):
    lock_file = recipe / "exp/.locks/st_ctc_ot_mtdec.lock"
    assert lock_file.is_file()  # taken by the full run
    with open(lock_file, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.seek(0)
        lock.truncate()
        lock.write("process 4242, since 2026-01-01T00:00:00: ./run.sh --stage 8\n")
        lock.flush()
        out = failing(recipe, *FULL, "--stage", "9", "--stop_stage", "10")
        assert "another st.sh is writing st_ctc_ot_mtdec" in out and "process 4242" in out
        # Other experiments (as in the ablation) and earlier stages are free.
        assert "done before" in run(recipe, *FULL, "--stage", "6", "--stop_stage", "7").stdout
    assert "done before" in run(recipe, *FULL, "--stage", "9", "--stop_stage", "9").stdout


def test_stage5_is_redone_after_dump_is_rebuilt(recipe):
    """rm -rf dump; stages 3-4 again: stage 5's outputs in dump/ are gone, and stage 5 knows it."""
    shutil.rmtree(recipe / "dump")
    run(recipe, *FULL, "--stage", "3", "--stop_stage", "4")
    out = failing(recipe, *FULL, "--stage", "7", "--stop_stage", "7")
    assert "dump/fbank/train_sp/.done_tokens is missing: run stage 5 first" in out
    out = run(recipe, *FULL, "--stage", "5", "--stop_stage", "7").stdout
    assert "Stage 5" in out and "src_phn and data/token_list/tgt_bpe_unigram300: done before" not in out
    assert (recipe / "dump/fbank/train_sp/speech_shape").is_file()
    # The rebuilt stage-5 outputs equal the old ones: the models are still valid.
    assert "mt_train_mt/valid.acc.ave.pth exists: done before" in out
    assert "pretrain_ctc_ot/valid.loss.ave.pth exists: done before" in out


DISK_FULL_SHIM = """
# Test shim: while the file $CTCOT_TEST_DISK_FULL exists, the disk is full: torch.save of an epoch model writes
# half of it and fails as torch's zip writer does, and shutil.disk_usage reports no free space.
import os, shutil
_MARKER = os.environ["CTCOT_TEST_DISK_FULL"]
_disk_usage = shutil.disk_usage
def _usage(path):
    usage = _disk_usage(path)
    return usage._replace(free=0) if os.path.exists(_MARKER) else usage
shutil.disk_usage = _usage
import torch, io
_save = torch.save
def _full_save(obj, f, *args, **kwargs):
    if os.path.exists(_MARKER) and str(f).endswith("epoch.pth"):
        buffer = io.BytesIO()
        _save(obj, buffer, *args, **kwargs)
        with open(f, "wb") as out:
            out.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise RuntimeError("[enforce fail at inline_container.cc:858] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed; unexpected pos 48064 vs 48016")
    return _save(obj, f, *args, **kwargs)
torch.save = _full_save
"""


def test_a_disk_full_while_saving_a_checkpoint_is_named_and_resumed(recipe, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(DISK_FULL_SHIM)
    marker = tmp_path / "disk_is_full"
    marker.touch()
    env = {**os.environ, "PYTHONPATH": str(shim), "CTCOT_TEST_DISK_FULL": str(marker)}
    args = [*FULL, "--stage", "7", "--stop_stage", "7", "--pretrain_tag", "disk_full"]
    result = run(recipe, *args, check=False, env=env)
    out = result.stdout + result.stderr
    exp = recipe / "exp/pretrain_disk_full"
    assert result.returncode == 1 and "Successfully finished" not in out
    assert f"no space left on the device of {exp.relative_to(recipe)}" in out
    assert "exp/pretrain_disk_full/1epoch.pth is damaged" in out and not (exp / ".done").exists()
    # Space is back: the same command resumes and ends as an undisturbed run does.
    marker.unlink()
    out = run(recipe, *args, env=env).stdout
    assert (exp / ".done").is_file()
    assert [p.name.split(".")[0] for p in (exp / "damaged").iterdir()] == ["1epoch"]
    reference = torch.load(recipe / "exp/pretrain_ctc_ot/valid.loss.ave.pth")
    resumed = torch.load(exp / "valid.loss.ave.pth")
    assert all(torch.equal(resumed[k], v) for k, v in reference.items())


FAULT_SHIM = """
# Test shim: $CTCOT_TEST_FAULT names a file holding the fault to inject, if it exists.
import errno, io, os, signal, sys
_path = os.environ.get("CTCOT_TEST_FAULT", "")
_fault = open(_path).read().strip() if _path and os.path.exists(_path) else ""
if _fault == "kill_decoding_job_2" and any(arg.endswith("keys.2.scp") for arg in sys.argv):
    os.kill(os.getpid(), signal.SIGKILL)
if _fault == "disk_full":
    import builtins, zipfile
    _open = io.open
    def _full_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax") and "/logdir/output." in str(file):
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return _open(file, mode, *args, **kwargs)
    builtins.open = io.open = _full_open
    _write = zipfile.ZipFile.write
    def _full_write(self, *args, **kwargs):
        _write(self, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(self.filename))
    zipfile.ZipFile.write = _full_write
"""


def test_a_full_disk_or_a_killed_job_in_decoding_and_packing_is_named(recipe, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(FAULT_SHIM)
    fault = tmp_path / "fault"
    env = {**os.environ, "PYTHONPATH": str(shim), "CTCOT_TEST_FAULT": str(fault)}
    packed = recipe / ST_EXP / "ctc_ot_mtdec_packed.zip"
    before = packed.read_bytes()

    fault.write_text("disk_full")
    out = failing_with(recipe, env, *FULL, "--stage", "11", "--stop_stage", "11")
    assert f"the disk of {ST_EXP} is full" in out and "packed.partial.zip" in out, out[-3000:]
    assert "ctc_ot_mtdec_packed.zip is left as it was" in out
    assert packed.read_bytes() == before and not list((recipe / ST_EXP).glob(".*partial*"))

    # Stage 9 into a decoding directory of its own (another checkpoint's name), not the full run's.
    decode = ["--stage", "9", "--stop_stage", "9", "--inference_model", "valid.acc.best.pth"]
    out = failing_with(recipe, env, *FULL, *decode)
    assert "decoding job 1 of 2 failed (exit status 1)" in out
    assert "is full" in out and "No space left on device: " in out and "/logdir/output.1/" in out, out[-3000:]

    fault.write_text("kill_decoding_job_2")
    out = failing_with(recipe, env, *FULL, *decode)
    assert "decoding job 2 of 2 failed (killed by signal KILL: out of memory, or killed by hand)" in out
    assert "1 of 2 decoding job(s) failed" in out
    fault.unlink()
    assert "hypotheses" in run(recipe, *FULL, *decode, env=env).stdout


def failing_with(recipe: Path, env, *args: str) -> str:
    result = run(recipe, *args, check=False, env=env)
    assert result.returncode != 0 and "Successfully finished" not in result.stdout
    return result.stdout + result.stderr


def test_ctc_compress_ot_pretrains_translates_zero_shot_and_fine_tunes(recipe):
    """--pretrain ctc_compress_ot on the full run's data and MT model: the MT encoder inside the stack
    starts from the MT model's and, frozen, ends there; the zero-shot model and the fine-tuned ST model
    are decoded and scored; the cascade runs beside the zero-shot model."""
    out = run(recipe, *FULL, "--pretrain", "ctc_compress_ot", "--stage", "7").stdout
    exp = recipe / "exp/pretrain_ctc_compress_ot"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["init_param"] == ["exp/mt_train_mt/valid.acc.ave.pth:frontend:encoder.mt_frontend",
                                    "exp/mt_train_mt/valid.acc.ave.pth:encoder:encoder.mt_encoder"]
    mt = torch.load(recipe / "exp/mt_train_mt/valid.acc.ave.pth", map_location="cpu")
    pretrained = torch.load(exp / "valid.loss.ave.pth", map_location="cpu")
    for name in ("frontend", "encoder"):
        keys = [k for k in mt if k.startswith(f"{name}.")]
        assert keys and all(torch.equal(pretrained[f"encoder.mt_{k}"], mt[k]) for k in keys)  # frozen
    assert re.search(r"compression_ratio=[0-9.]+", (exp / "train.log").read_text())
    st_exp = recipe / "exp/st_ctc_compress_ot_mtdec"
    st_config = yaml.safe_load((st_exp / "config.yaml").read_text())
    assert st_config["encoder"] == "ctc_compress" and st_config["encoder_conf"]["freeze_mt_encoder"] is False
    assert st_config["max_epoch"] == yaml.safe_load((recipe / "conf/tiny/train_st.yaml").read_text())["max_epoch"]
    for result in (st_exp / "decode_decode_st_valid.acc.ave/test/result.json",
                   exp / "zero_shot/decode_decode_st/test/result.json"):
        assert json.loads(result.read_text())["num_sentences"] == 15, result
    assert (st_exp / "ctc_compress_ot_mtdec_packed.zip").is_file()
    assert "Successfully finished" in out
