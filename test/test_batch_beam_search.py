"""ctcot.batch_beam_search: the same n-best lists as ESPnet's Speech2Text, one utterance at a time."""
import random

import pytest
import torch
import yaml
from conftest import build_args
from espnet2.bin.st_inference import Speech2Text
from espnet2.tasks.st import STTask

import ctcot.batch_beam_search as batch_beam_search_module
from ctcot.batch_beam_search import batch_beam_search, encode_as_alone

FEATS_DIM = 20
# Input frames; after conv2d subsampling 5 to 39 encoder frames (the maximum output lengths).
LENGTHS = [160, 23, 97, 61, 130, 40, 75, 110]
TOKENS = ["<blank>", "<unk>", *(f"w{i}" for i in range(26)), "<2de>", "<sos/eos>"]
ST_CONFIG = dict(
    frontend=None, input_size=FEATS_DIM, normalize="utterance_mvn", token_type="word",
    encoder="transformer",
    encoder_conf=dict(
        output_size=32, attention_heads=2, linear_units=64, num_blocks=1, dropout_rate=0.0,
        positional_dropout_rate=0.0, attention_dropout_rate=0.0, input_layer="conv2d", normalize_before=True,
    ),
    decoder="transformer", decoder_conf=dict(attention_heads=2, linear_units=64, num_blocks=2, dropout_rate=0.0),
    # st_mtlalpha > 0 for the CTC on the decoder's tokens (st_ctc) that ctc_weight uses.
    model_conf=dict(asr_weight=0.0, mt_weight=0.0, mtlalpha=0.0, st_mtlalpha=0.3),
)


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    """A random tiny ST model (eval mode), saved as training would, and 8 padded utterances.

    Torch runs on one thread meanwhile: with tiny tensors, threads only wait on each other (on a
    loaded 2-core machine, ten times slower).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("st")
    (root / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    torch.manual_seed(0)
    args = build_args(STTask, ST_CONFIG, token_list=str(root / "tokens.txt"), src_token_list=str(root / "tokens.txt"))
    model = STTask.build_model(args)
    (root / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), root / "model.pth")
    # A variant with a constant <eos> logit, a little above the others: hypotheses end at every
    # step, so that ESPnet's end_detect stops the search before the maximum length.
    eager = STTask.build_model(args)
    eager.load_state_dict(model.state_dict())
    with torch.no_grad():
        eager.decoder.output_layer.weight[eager.eos] = 0.0
        eager.decoder.output_layer.bias[eager.eos] = 1.5
    torch.save(eager.state_dict(), root / "eager.pth")
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor(LENGTHS)
    speech = torch.randn(len(LENGTHS), max(LENGTHS), FEATS_DIM, generator=g)
    speech[torch.arange(max(LENGTHS)) >= lengths.unsqueeze(1)] = 0.0
    yield dict(models=dict(model=model.eval(), eager=eager.eval()), root=root, speech=speech, lengths=lengths)
    torch.set_num_threads(threads)


def espnet_nbest(st, name, primer, **options):
    """Speech2Text's n-best hypotheses (nbest = beam_size) for each utterance, decoded alone."""
    speech2text = Speech2Text(
        st_train_config=st["root"] / "config.yaml", st_model_file=st["root"] / f"{name}.pth",
        nbest=options["beam_size"], lm_weight=0.0, **options,
    )
    if primer is not None:
        speech2text.beam_search.set_hyp_primer(primer)
    return [[hyp for *_, hyp in speech2text(x[:n])] for x, n in zip(st["speech"], st["lengths"].tolist())]


def assert_same_nbest(ours, theirs):
    assert len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        assert mine.yseq == ref.yseq.tolist()
        assert mine.score == pytest.approx(float(ref.score), abs=1e-4)
        assert mine.scores == pytest.approx({k: float(v) for k, v in ref.scores.items()}, abs=1e-4)


# (model, beam_size, penalty, maxlenratio, minlenratio, ctc_weight, tag primer)
CASES = [
    ("model", 5, 0.0, 0.0, 0.0, 0.0, False),
    ("model", 5, 0.5, 0.0, 0.0, 0.0, False),
    ("model", 1, 0.0, 0.0, 0.0, 0.0, False),
    ("model", 1, 0.5, 0.3, 0.0, 0.0, False),
    ("model", 5, 0.0, 0.3, 0.0, 0.0, False),
    ("model", 5, 0.5, 0.0, 0.0, 0.0, True),
    # minlen >= maxlen: nothing ends until ESPnet's retries lower minlenratio (to 0.2 or 0.1 by utterance).
    ("model", 3, 0.5, 0.3, 0.5, 0.0, False),
    # CTC prefix scores on a pre-beam of int(1.5 * beam) < 30 tokens, ...
    ("model", 5, 0.5, 0.0, 0.0, 0.3, False),
    ("model", 2, 0.0, 0.5, 0.0, 0.5, True),
    # ... and on all 30 tokens.
    ("model", 20, 0.0, 0.3, 0.0, 0.3, False),
    # end_detect stops the 6 longer utterances (at step 9).
    ("eager", 5, 0.0, 0.0, 0.0, 0.0, False),
    ("eager", 2, 0.0, 0.0, 0.1, 0.3, True),
]


@pytest.mark.parametrize("name,beam_size,penalty,maxlenratio,minlenratio,ctc_weight,tagged", CASES)
def test_same_as_espnet_per_utterance(st, name, beam_size, penalty, maxlenratio, minlenratio, ctc_weight, tagged):
    model = st["models"][name]
    primer = [model.sos, TOKENS.index("<2de>")] if tagged else None
    options = dict(
        beam_size=beam_size, penalty=penalty, maxlenratio=maxlenratio, minlenratio=minlenratio, ctc_weight=ctc_weight
    )
    expected = espnet_nbest(st, name, primer, **options)

    n_utts = len(LENGTHS)
    shuffled = list(range(n_utts))
    random.Random(0).shuffle(shuffled)
    batchings = [[list(range(i, min(i + size, n_utts))) for i in range(0, n_utts, size)] for size in (1, 3, 8)]
    # The shuffled batch also encodes in sub-batches (of 1 to 3 utterances).
    for batches, encoder_frames in [*((b, None) for b in batchings), ([shuffled], 300)]:
        for utts in batches:
            lengths = st["lengths"][utts]
            speech = st["speech"][utts, : int(lengths.max())]
            found = batch_beam_search(model, speech, lengths, nbest=beam_size, primer=primer,
                                      encoder_batch_frames=encoder_frames, **options)
            for b, nbest in zip(utts, found):
                assert_same_nbest(nbest, expected[b])
    if tagged:
        assert all(hyp.yseq[:2].tolist() == primer for nbest in expected for hyp in nbest)


def test_cases_cover_early_and_maxlen_ends(st):
    """The random model ends some utterances early and others only at the maximum length."""
    found = batch_beam_search(st["models"]["model"], st["speech"], st["lengths"], beam_size=5)
    _, enc_lens = encode_as_alone(st["models"]["model"], st["speech"], st["lengths"])
    # yseq = sos, tokens, eos (and one more eos when forced at the maximum length).
    at_maxlen = [len(nbest[0].yseq) >= n + 2 for nbest, n in zip(found, enc_lens.tolist())]
    assert any(at_maxlen) and not all(at_maxlen)


@pytest.mark.parametrize("batch_frames", [None, 1, 300])
def test_padded_batch_encodes_as_alone(st, batch_frames):
    """Plain model.encode gives padded utterances extra frames; encode_as_alone does not, whole or
    in sub-batches (of one utterance with batch_frames=1, of 1 to 3 with 300)."""
    model, speech, lengths = st["models"]["model"], st["speech"], st["lengths"]
    with torch.no_grad():
        padded_enc, padded_lens = model.encode(speech, lengths)
        enc, enc_lens = encode_as_alone(model, speech, lengths, batch_frames=batch_frames)
        assert enc.shape[:2] == (len(LENGTHS), int(enc_lens.max()))
        for b, n in enumerate(lengths.tolist()):
            alone, alone_len = model.encode(speech[b : b + 1, :n], lengths[b : b + 1])
            assert int(enc_lens[b]) == int(alone_len)
            torch.testing.assert_close(enc[b, : int(alone_len)], alone[0], atol=1e-5, rtol=1e-5)
    assert (padded_lens > enc_lens).any()


@pytest.mark.parametrize("ctc_weight", [0.0, 0.3])
def test_same_as_espnet_without_cached_attention(st, monkeypatch, ctc_weight):
    """Decoders whose attention is not ESPnet's plain MultiHeadedAttention run ESPnet's layers as
    they are (no cached keys and values), with the same results."""
    monkeypatch.setattr(batch_beam_search_module, "_plain_attention", lambda attn: False)
    model = st["models"]["model"]
    options = dict(beam_size=4, penalty=0.5, maxlenratio=0.0, minlenratio=0.0, ctc_weight=ctc_weight)
    expected = espnet_nbest(st, "model", None, **options)
    found = batch_beam_search(model, st["speech"], st["lengths"], nbest=4, **options)
    for nbest, reference in zip(found, expected):
        assert_same_nbest(nbest, reference)


def test_rejects_unsupported(st):
    model, speech, lengths = st["models"]["model"], st["speech"], st["lengths"]
    with pytest.raises(ValueError, match="ctc_weight"):
        batch_beam_search(model, speech, lengths, beam_size=2, ctc_weight=1.0)
    with pytest.raises(ValueError, match="beam_size"):
        batch_beam_search(model, speech, lengths, beam_size=len(TOKENS) + 1)
    model.train()
    try:
        with pytest.raises(ValueError, match="eval mode"):
            batch_beam_search(model, speech, lengths, beam_size=2)
    finally:
        model.eval()
