"""ctcot.cascade: greedy CTC, the token error rate (against editdistance), and the program on conftest's tiny
models; the MT model reads its transcripts (ESPnet's mt_inference, empty ones included)."""
import json
import logging
import random

import editdistance
import kaldiio
import numpy as np
import pytest
import torch
import yaml
from espnet2.asr.ctc import CTC

from ctcot import InputError
from ctcot.bin.cascade import main
from ctcot.cascade import align_counts, collapse, error_counts, greedy_ctc, load_recognizer
from ctcot.data_dir import read_kv
from ctcot.encoders import load_encoder


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([0, 3, 3, 0, 3, 5, 5, 0, 0]) == [3, 3, 5]
    assert collapse([2, 2, 2]) == [2] and collapse([0, 0]) == [] and collapse([]) == []


class FakeModel(torch.nn.Module):
    """encode returns its input as the states, each frame's last feature dropped (fewer frames than the input)."""

    def __init__(self, vocab: int, with_encode_ctc: bool = False):
        super().__init__()
        self.ctc = CTC(odim=vocab, encoder_output_size=vocab)
        with torch.no_grad():  # logits = states: the argmax is the state's
            self.ctc.ctc_lo.weight.copy_(torch.eye(vocab))
            self.ctc.ctc_lo.bias.zero_()
        if with_encode_ctc:
            self.encode_ctc = lambda speech, lengths: (speech, lengths)

    def encode(self, speech, lengths):
        return speech[:, :-1] * 0, lengths - 1  # all blank: encode_ctc, where present, must be used instead


def one_hot(ids, vocab, length):
    x = torch.zeros(length, vocab)
    x[torch.arange(len(ids)), torch.tensor(ids)] = 1.0
    return x


def test_greedy_ctc_of_a_padded_batch_uses_each_length_and_encode_ctc():
    vocab = 6
    frames = [[0, 3, 3, 0, 3, 5], [4, 4, 0, 2]]
    speech = torch.stack([one_hot(f, vocab, 6) for f in frames])
    speech[1, 4:, 1] = 5.0  # padding that would read as token 1
    lengths = torch.tensor([6, 4])
    assert greedy_ctc(FakeModel(vocab, with_encode_ctc=True), speech, lengths) == [[3, 3, 5], [4, 2]]
    assert greedy_ctc(FakeModel(vocab), speech, lengths) == [[], []]  # encode's states: all blank


def test_a_model_without_ctc_is_refused():
    model = FakeModel(4)
    model.ctc = None
    with pytest.raises(InputError, match="no CTC"):
        greedy_ctc(model, torch.zeros(1, 3, 4), torch.tensor([3]))


def test_error_counts_by_hand():
    # ref a b c d / hyp a x c d e: one substitution (b -> x), one insertion (e)
    assert align_counts("abcd", "axcde") == (1, 0, 1)
    assert align_counts("abc", "") == (0, 3, 0) and align_counts("", "ab") == (0, 0, 2)
    assert align_counts("abcd", "bcd") == (0, 1, 0) and align_counts("abc", "abc") == (0, 0, 0)
    counts = error_counts([[1, 2, 3, 4], [5, 6]], [[1, 9, 3, 4, 7], []])
    assert (counts.substitutions, counts.deletions, counts.insertions, counts.ref_tokens, counts.utterances) == (
        1, 2, 1, 6, 2)
    assert counts.error_rate == pytest.approx(4 / 6)
    assert counts.to_json() == {"error_rate": pytest.approx(4 / 6), "substitutions": 1, "deletions": 2,
                                "insertions": 1, "ref_tokens": 6, "utterances": 2}


def test_error_counts_are_the_edit_distance_of_random_sequences():
    rng = random.Random(0)
    for _ in range(300):
        ref = [rng.randrange(5) for _ in range(rng.randrange(0, 15))]
        hyp = [rng.randrange(5) for _ in range(rng.randrange(0, 15))]
        subs, dels, ins = align_counts(ref, hyp)
        assert subs + dels + ins == editdistance.eval(ref, hyp), (ref, hyp)
        assert dels - ins == len(ref) - len(hyp)  # ref = C + S + D, hyp = C + S + I
        assert min(subs, dels, ins) >= 0


# --- the program on conftest's tiny models --------------------------------------------------------

def files(models, name):
    return models[name] / "config.yaml", models[name] / "model.pth"


def run_program(models, name, out, *extra):
    config, model = files(models, name)
    return main(["--config", str(config), "--model_file", str(model), "--data_dir", str(models["data"]),
                 "--src_text", "text.words", "--output_dir", str(out), *extra])


@pytest.mark.parametrize("name", ["ctcot", "ctc16"])
def test_program_writes_the_greedy_transcripts_and_their_error_rate(tiny_models, tmp_path, name):
    out = tmp_path / "cascade"
    assert run_program(tiny_models, name, out) == 0
    hyps = read_kv(out / "text", allow_empty=True)
    assert list(hyps) == tiny_models["utts"]
    # Each utterance alone through the model's own encode and CTC: the same tokens, words joined by spaces.
    config, model_file = files(tiny_models, name)
    model = load_encoder(config, model_file, "ctcot").model
    tokens = yaml.safe_load(config.read_text())["src_token_list"]
    loader = kaldiio.load_scp(str(tiny_models["data"] / "feats.scp"))
    errors = ref_tokens = 0
    for utt in tiny_models["utts"]:
        feats = torch.from_numpy(np.array(loader[utt]))[None]
        states, lengths = model.encode(feats, torch.tensor([feats.size(1)]))
        ids = collapse(model.ctc.ctc_lo(states)[0, : int(lengths[0])].argmax(-1).tolist())
        assert hyps[utt] == " ".join(tokens[i] for i in ids)
        ref = tiny_models["transcripts"][utt].split()
        errors += editdistance.eval(ref, hyps[utt].split())
        ref_tokens += len(ref)
    result = json.loads((out / "ctc_error.json").read_text())
    assert result["ref_tokens"] == ref_tokens and result["utterances"] == len(tiny_models["utts"])
    assert result["substitutions"] + result["deletions"] + result["insertions"] == errors
    assert result["error_rate"] == pytest.approx(errors / ref_tokens)
    # Per group: each group's counts add up to the whole.
    groups = tmp_path / "utt2group"
    groups.write_text("".join(f"{u} {'a' if i % 2 else 'b'}\n" for i, u in enumerate(tiny_models["utts"])))
    assert run_program(tiny_models, name, tmp_path / "grouped", "--utt2group", str(groups)) == 0
    grouped = json.loads((tmp_path / "grouped/ctc_error.json").read_text())
    assert {k: v for k, v in grouped.items() if k != "by_group"} == result and list(grouped["by_group"]) == ["a", "b"]
    for key in ("substitutions", "deletions", "insertions", "ref_tokens", "utterances"):
        assert sum(g[key] for g in grouped["by_group"].values()) == result[key]
    # In length-sorted batches: the same file layout (the states may differ slightly: padding).
    assert run_program(tiny_models, name, tmp_path / "batched", "--batch_size", "3") == 0
    assert list(read_kv(tmp_path / "batched/text", allow_empty=True)) == tiny_models["utts"]


def test_program_names_what_is_missing(tiny_models, tmp_path, caplog):
    config, model = files(tiny_models, "ctcot")
    data = tmp_path / "data"
    data.mkdir()
    lines = (tiny_models["data"] / "feats.scp").read_text().splitlines()
    (data / "feats.scp").write_text("\n".join(lines) + "\n")
    (data / "text.words").write_text("".join(f"{u} {t}\n" for u, t in list(tiny_models["transcripts"].items())[1:]))
    args = ["--config", str(config), "--model_file", str(model), "--data_dir", str(data), "--output_dir",
            str(tmp_path / "out")]
    with caplog.at_level(logging.ERROR):
        assert main([*args, "--src_text", "text.words"]) == 1
        assert f"{data / 'text.words'}: no transcript for 1 utterance(s)" in caplog.text
        assert tiny_models["utts"][0] in caplog.text
        assert main([*args, "--src_text", "text.none"]) == 1
        assert "text.none: no such file" in caplog.text
        assert main([*args[:2], "--model_file", str(tmp_path / "none.pth"), *args[4:], "--src_text", "text.words"]) == 1
        assert "none.pth: no such model file" in caplog.text
        (data / "text.all").write_text("".join(f"{u} {t}\n" for u, t in tiny_models["transcripts"].items()))
        (data / "utt2engine").write_text(f"{tiny_models['utts'][0]} espeak\n")
        assert main([*args, "--src_text", "text.all", "--utt2group", str(data / "utt2engine")]) == 1
        assert f"utt2engine: no group for {len(lines) - 1} utterance(s)" in caplog.text
    assert not (tmp_path / "out").exists()


def test_a_model_without_ctc_names_its_config(tiny_models, tmp_path, caplog):
    """conftest's ESPnet ASR model (CE pre-training) has ctc_weight 0: no CTC."""
    config, _ = files(tiny_models, "asr")
    with caplog.at_level(logging.ERROR):
        assert run_program(tiny_models, "asr", tmp_path / "out") == 1
    assert f"{config}: this model has no CTC" in caplog.text


def test_sentencepiece_units_are_written_as_text(tiny_corpus, tmp_path):
    """With SentencePiece source units, the transcript is the detokenised text (what the MT model's preprocessor
    tokenises), and the reference is tokenised as the CTC's targets were."""
    from conftest import TINY_PRETRAIN_CONFIG, TINY_SPEECH_ENCODER, save_model

    from ctcot.task import CTCOTTask

    model_dir = save_model(tmp_path / "bpe_model", CTCOTTask, {
        **TINY_PRETRAIN_CONFIG, "frontend": None, "input_size": 80, "encoder_conf": TINY_SPEECH_ENCODER,
        "model_conf": dict(ctc_weight=1.0, ot_weight=0.0)},
        src_token_list=str(tiny_corpus["tokens"]), src_token_type="bpe", src_bpemodel=str(tiny_corpus["bpemodel"]))
    recognizer = load_recognizer(model_dir / "config.yaml", model_dir / "model.pth")
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_corpus["bpemodel"]))
    tokens = recognizer.token_list
    text = "the cat sees a big red house"
    pieces = sp.encode(text, out_type=str)
    assert len(pieces) > len(text.split()) and all(p in tokens for p in pieces)  # some words in several pieces
    assert recognizer.ids_to_text([tokens.index(p) for p in pieces]) == "".join(pieces).replace("▁", " ").strip()
    assert recognizer.ids_to_text([tokens.index(p) for p in pieces]) == text
    assert recognizer.text_to_ids(text) == [tokens.index(p) for p in pieces]
    assert recognizer.text_to_ids("the zebra") == [tokens.index(p) if p in tokens else 1
                                                  for p in sp.encode("the zebra", out_type=str)]
