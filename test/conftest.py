"""Shared fixtures: tiny configs, a small generated speech/transcript corpus, copies of the recipes.

Test lanes: the tests marked ``recipe`` run a recipe's stages end to end (minutes each);
``tools/test.sh --quick`` runs the others.
"""
import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

REPO = Path(__file__).resolve().parents[1]


def copy_recipe(root: Path, corpus: str, linked: tuple = ()) -> Path:
    """A copy of ``egs2/<corpus>/st1`` under ``root`` that runs as the original: its own data/,
    dump/ and exp/ (none copied), tools/ and egs2/TEMPLATE (and ``linked`` corpora, whose configs
    its conf/ may link to) linked to the repository's. Returns the copy's recipe directory."""
    (root / "egs2").mkdir(parents=True)
    (root / "tools").symlink_to(REPO / "tools")
    for name in ("TEMPLATE", *linked):
        (root / "egs2" / name).symlink_to(REPO / "egs2" / name)
    recipe = root / "egs2" / corpus / "st1"
    shutil.copytree(REPO / "egs2" / corpus / "st1", recipe, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    return recipe


# The mini recipe's CI scale: the tiny corpus and configs.
TINY = ["--local_data_opts", "--size tiny", "--conf_dir", "conf/tiny", "--nj", "2", "--inference_nj", "2"]


def run_recipe(recipe: Path, *args: str, check: bool = True, env=None) -> subprocess.CompletedProcess:
    """``./run.sh`` of a mini recipe (:func:`copy_recipe`) at the CI scale (:data:`TINY`), with ``args``."""
    result = subprocess.run(["./run.sh", *TINY, *args], cwd=recipe, capture_output=True, text=True, timeout=1200,
                            env=env)
    if check and result.returncode != 0:
        pytest.fail(f"run.sh {' '.join(args)} failed ({result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


TINY_SPEECH_ENCODER = dict(
    output_size=32, attention_heads=2, linear_units=64, num_blocks=2, dropout_rate=0.0,
    positional_dropout_rate=0.0, attention_dropout_rate=0.0, input_layer="conv2d", normalize_before=True,
)
TINY_TEXT_ENCODER = dict(
    output_size=32, attention_heads=2, linear_units=64, num_blocks=1, dropout_rate=0.0,
    positional_dropout_rate=0.0, attention_dropout_rate=0.0, input_layer=None, normalize_before=True,
)

# Pre-training config used by the model and CLI tests (features from the ESPnet frontend).
TINY_PRETRAIN_CONFIG = dict(
    batch_type="folded", batch_size=4, max_epoch=1, num_workers=0, seed=0,
    best_model_criterion=[["valid", "loss", "min"]], keep_nbest_models=1,
    frontend="default", frontend_conf=dict(n_fft=512, win_length=400, hop_length=160, n_mels=80, fs="16k"),
    normalize="utterance_mvn", encoder="transformer", encoder_conf=TINY_SPEECH_ENCODER,
    text_frontend="embed", text_frontend_conf=dict(embed_dim=32, positional_dropout_rate=0.0),
    text_encoder="transformer", text_encoder_conf=TINY_TEXT_ENCODER,
    model_conf=dict(ctc_weight=1.0, ot_weight=0.1),
    optim="adam", optim_conf=dict(lr=0.002), scheduler="warmuplr", scheduler_conf=dict(warmup_steps=10),
)

WORDS = "the cat dog sees a big small red house tree runs under over bird".split()


def write_corpus(root: Path, num_utts: int, seed: int) -> Path:
    """Write a Kaldi-style dir (wav.scp, text) of synthetic tone 'speech' with random sentences."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "wav").mkdir(exist_ok=True)
    scp, text = [], []
    for i in range(num_utts):
        utt = f"utt{seed}_{i:03d}"
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
        duration = 0.25 * sum(len(w) for w in words) / 4 + 0.3
        t = np.arange(int(16000 * duration)) / 16000
        freq = 200 + 40 * (sum(map(ord, words[0])) % 10)
        audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(i).standard_normal(t.size)
        path = root / "wav" / f"{utt}.wav"
        soundfile.write(path, audio.astype(np.float32), 16000, subtype="PCM_16")
        scp.append(f"{utt} {path}")
        text.append(f"{utt} {' '.join(words)}")
    (root / "wav.scp").write_text("\n".join(scp) + "\n")
    (root / "text").write_text("\n".join(text) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A train and a dev dir, a SentencePiece model and ESPnet's token list for the source."""
    import sentencepiece as spm

    root = tmp_path_factory.mktemp("corpus")
    train = write_corpus(root / "train", 12, seed=1)
    dev = write_corpus(root / "dev", 4, seed=2)
    sentences = root / "sentences.txt"
    sentences.write_text("".join(line.split(" ", 1)[1] + "\n" for line in (train / "text").read_text().splitlines()))
    spm.SentencePieceTrainer.train(
        input=str(sentences), model_prefix=str(root / "bpe"), vocab_size=30, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    pieces = [line.split("\t")[0] for line in (root / "bpe.vocab").read_text().splitlines()[3:]]
    tokens = root / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", *pieces, "<sos/eos>"]) + "\n")
    config = root / "pretrain.yaml"
    config.write_text(yaml.safe_dump(TINY_PRETRAIN_CONFIG))
    return dict(root=root, train=train, dev=dev, bpemodel=root / "bpe.model", tokens=tokens, config=config)


def build_args(task, config: dict, **overrides):
    """Parse ``task``'s defaults, then apply a config dict as ESPnet's --config would."""
    args = task.get_parser().parse_args(["--output_dir", "unused"])
    for key, value in {**config, **overrides}.items():
        setattr(args, key, value)
    return args


TINY_DECODER = dict(attention_heads=2, linear_units=64, num_blocks=1, dropout_rate=0.0)


def save_model(directory, task, config, **overrides):
    """Build a tiny model of ``task``, save config.yaml and model.pth as training would."""
    import torch

    torch.manual_seed(0)
    args = build_args(task, config, **overrides)
    model = task.build_model(args)
    directory.mkdir(parents=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), directory / "model.pth")
    return directory


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Word-level tokens, a data dir of random 80-dim features with transcripts, and four models:
    a CTC+OT model, an ESPnet ASR model (CE) and an ESPnet MT model with 32-dim states, and a
    CTC-only model (no text encoder) with 16-dim states."""
    import kaldiio
    from espnet2.tasks.asr import ASRTask
    from espnet2.tasks.mt import MTTask

    from ctcot.task import CTCOTTask

    root = tmp_path_factory.mktemp("gap")
    tokens = root / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", *WORDS, "<sos/eos>"]) + "\n")
    data = root / "dev"
    data.mkdir()
    rng = np.random.default_rng(0)
    utts = [f"utt{i:02d}" for i in range(7)]
    with kaldiio.WriteHelper(f"ark,scp:{data}/feats.ark,{data}/feats.scp") as writer:
        for utt in utts:
            writer(utt, rng.standard_normal((int(rng.integers(30, 120)), 80)).astype(np.float32))
    transcripts = {utt: " ".join(rng.choice(WORDS, int(rng.integers(2, 7)))) for utt in utts}
    (data / "text.words").write_text("".join(f"{u} {t}\n" for u, t in transcripts.items()))

    word_tokens = dict(src_token_list=str(tokens), src_token_type="word", src_bpemodel=None)
    speech_conf = dict(frontend=None, input_size=80, normalize="utterance_mvn", encoder="transformer",
                       encoder_conf=TINY_SPEECH_ENCODER)
    ctcot = save_model(root / "pretrain_ctc_ot", CTCOTTask, {**TINY_PRETRAIN_CONFIG, **speech_conf}, **word_tokens)
    asr = save_model(root / "pretrain_ce", ASRTask, {
        **speech_conf, "decoder": "transformer", "decoder_conf": TINY_DECODER,
        "model_conf": dict(ctc_weight=0.0)}, token_list=str(tokens), token_type="word", bpemodel=None)
    mt = save_model(root / "mt", MTTask, dict(
        frontend="embed", frontend_conf=dict(embed_dim=32, positional_dropout_rate=0.0),
        encoder="transformer", encoder_conf=TINY_TEXT_ENCODER, decoder="transformer", decoder_conf=TINY_DECODER,
    ), token_list=str(tokens), token_type="word", bpemodel=None, **word_tokens)
    ctc16 = save_model(root / "pretrain_ctc", CTCOTTask, {
        **TINY_PRETRAIN_CONFIG, **speech_conf, "encoder_conf": {**TINY_SPEECH_ENCODER, "output_size": 16},
        "model_conf": dict(ctc_weight=1.0, ot_weight=0.0)}, **word_tokens)
    return dict(root=root, data=data, utts=utts, transcripts=transcripts, ctcot=ctcot, asr=asr, mt=mt, ctc16=ctc16)


def assert_gap_json_aggregates_per_utt(gap_dir):
    """gap.json's per-utterance figures are the means of per_utt.tsv's columns (written separately)."""
    gap = json.loads((gap_dir / "gap.json").read_text())
    rows = [line.split("\t") for line in (gap_dir / "per_utt.tsv").read_text().splitlines()[1:]]
    assert len(rows) == gap["n_utts"]
    sinkhorn, cosine, rank = ([float(row[col]) for row in rows] for col in (3, 4, 5))
    assert gap["sinkhorn"] == pytest.approx(np.mean(sinkhorn), rel=1e-4)
    assert gap["cosine_paired"] == pytest.approx(np.mean(cosine), abs=1e-5)
    assert gap["retrieval_top1"] == pytest.approx(np.mean(np.array(rank) == 1))
    assert gap["retrieval_top5"] == pytest.approx(np.mean(np.array(rank) <= 5))
