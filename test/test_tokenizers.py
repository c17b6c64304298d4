"""Token units: SentencePiece models and ESPnet token lists, espeak-ng phonemes, shape files, key splits."""
import shutil

import pytest
import sentencepiece as spm
from espnet2.text.build_tokenizer import build_tokenizer
from espnet2.text.token_id_converter import TokenIDConverter

from ctcot import tokenizers
from ctcot.bin import split_keys
from ctcot.bin import tokenizers as tokenizers_cli

SENTENCES = ["the small cat sees a big dog", "a red bird flies over the house", "the dog runs under the tree",
             "she gave the teacher a fresh soup", "because the farmer fell asleep the bird sang"]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text"
    path.write_text("".join(f"utt{i:02d} {s}\n" for i, s in enumerate(SENTENCES * 4)))
    return path


def test_sentencepiece_token_list_is_espnets(text_file, tmp_path):
    model = tokenizers.train_sentencepiece(text_file, tmp_path / "bpe", vocab_size=40)
    tokens = (tmp_path / "bpe" / "tokens.txt").read_text().splitlines()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>"
    assert "<s>" not in tokens and "</s>" not in tokens and len(set(tokens)) == len(tokens)
    # ESPnet's own tokenizer and converter map every training sentence without unknowns.
    espnet_tokenizer = build_tokenizer("bpe", bpemodel=str(model))
    converter = TokenIDConverter(token_list=str(tmp_path / "bpe" / "tokens.txt"))
    ours = tokenizers.tokenizer_for("bpe", model)
    for sentence in SENTENCES:
        pieces = espnet_tokenizer.text2tokens(sentence)
        assert ours(sentence) == pieces
        assert 1 not in converter.tokens2ids(pieces)  # <unk>
    assert not list(tmp_path.glob("bpe/bpe.tmp*"))


def test_sentencepiece_rejects_empty_input(tmp_path):
    (tmp_path / "text").write_text("utt1\nutt2\n")
    with pytest.raises(ValueError, match="no transcripts"):
        tokenizers.train_sentencepiece(tmp_path / "text", tmp_path / "bpe", vocab_size=10)


needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@needs_espeak
def test_phonemize_one_line_per_sentence():
    phonemes = tokenizers.phonemize(["the cat", "hello, world. how are you", "a dog"], chunk_size=2)
    assert len(phonemes) == 3
    assert phonemes[0] == phonemes_of("the cat")
    assert phonemes[2] == phonemes_of("a dog")
    # Punctuation makes espeak-ng split clauses; the sentence still gets one line.
    assert len(phonemes[1]) > 8
    assert "k" in phonemes[0] and "t" in phonemes[0]


def phonemes_of(sentence):
    return tokenizers.phonemize([sentence])[0]


@needs_espeak
def test_phoneme_transcripts_token_list_and_shapes(text_file, tmp_path):
    assert tokenizers_cli.main(["phonemize", "--text", str(text_file), "--output", str(tmp_path / "phn")]) == 0
    assert tokenizers_cli.main(["phoneme_list", "--text", str(tmp_path / "phn"),
                               "--output", str(tmp_path / "tok" / "tokens.txt")]) == 0
    lines = (tmp_path / "phn").read_text().splitlines()
    assert [line.split()[0] for line in lines] == [f"utt{i:02d}" for i in range(len(SENTENCES) * 4)]
    tokens = (tmp_path / "tok" / "tokens.txt").read_text().splitlines()
    converter = TokenIDConverter(token_list=str(tmp_path / "tok" / "tokens.txt"))
    for line in lines:
        assert 1 not in converter.tokens2ids(line.split()[1:])
    assert tokenizers_cli.main(["shape", "--text", str(tmp_path / "phn"), "--token_type", "word",
                               "--token_list", str(tmp_path / "tok" / "tokens.txt"),
                               "--output", str(tmp_path / "shape")]) == 0
    shapes = dict(line.split() for line in (tmp_path / "shape").read_text().splitlines())
    assert shapes["utt00"] == f"{len(lines[0].split()) - 1},{len(tokens)}"


def test_shape_cli_errors(text_file, tmp_path):
    (tmp_path / "bad_tokens.txt").write_text("a\nb\n")
    assert tokenizers_cli.main(["shape", "--text", str(text_file), "--token_type", "word",
                               "--token_list", str(tmp_path / "bad_tokens.txt"), "--output", str(tmp_path / "s")]) == 1
    assert tokenizers_cli.main(["shape", "--text", str(text_file), "--token_type", "bpe",
                               "--token_list", str(tmp_path / "bad_tokens.txt"), "--output", str(tmp_path / "s")]) == 1


@pytest.mark.parametrize("lines,parts,sizes", [(10, 3, [4, 3, 3]), (2, 4, [1, 1]), (6, 1, [6])])
def test_split_keys(tmp_path, lines, parts, sizes):
    scp = tmp_path / "feats.scp"
    scp.write_text("".join(f"utt{i} x.ark:{i}\n" for i in range(lines)))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keys.9.scp").write_text("stale\n")
    assert split_keys.main([str(scp), str(tmp_path / "out"), "--nj", str(parts)]) == 0
    pieces = [(tmp_path / "out" / f"keys.{i}.scp").read_text().splitlines() for i in range(1, len(sizes) + 1)]
    assert [len(p) for p in pieces] == sizes
    assert sum(pieces, []) == scp.read_text().splitlines()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"keys.{i}.scp" for i in range(1, len(sizes) + 1)]


def test_lang_tags_become_first_pieces_and_untagged_lines_are_refused(tmp_path):
    text = tmp_path / "text.tc.mul"
    lines = [f"u{i:03d}_{lang} <2{lang}> {sentence}" for i in range(20)
             for lang, sentence in [("de", "Er war kein junger Mann."), ("es", "No era un joven.")]]
    text.write_text("\n".join(sorted(lines)) + "\n", encoding="utf-8")
    model = tokenizers.train_sentencepiece(text, tmp_path / "spm", vocab_size=40, lang_tags=True)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    pieces = sp.encode("<2es> No era", out_type=str)
    assert pieces[0] == "<2es>" and pieces[1].startswith("▁") and sp.decode(pieces) == "<2es> No era"
    assert {"<2de>", "<2es>"} <= set(tokenizers.read_token_list(tmp_path / "spm" / "tokens.txt"))
    assert tokenizers.strip_lang_tag("<2de> Er war") == "Er war" and tokenizers.strip_lang_tag("<2de>") == ""

    text.write_text("a <2de> Er war\nb Er war\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"transcript 2 \('Er war'\) does not begin with a target-language tag"):
        tokenizers.train_sentencepiece(text, tmp_path / "spm2", vocab_size=40, lang_tags=True)
