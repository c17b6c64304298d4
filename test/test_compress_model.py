"""ctcot.compress_model: the compressed speech takes the place of the MT model's token embeddings; the
text side is ESPnet's MT encoder; the loss, the freeze, the zero-shot swap and stage 8's ST config."""
import kaldiio
import pytest
import torch
import yaml
from conftest import TINY_SPEECH_ENCODER, TINY_TEXT_ENCODER, WORDS, build_args, save_model
from espnet2.tasks.mt import MTTask
from espnet2.tasks.st import STTask

from ctcot import InputError
from ctcot.bin.st_config import main as st_config_main
from ctcot.compress_model import ENCODER_NAME, CompressedMTEncoder, CTCCompressOTModel, st_config_with_encoder
from ctcot.compression import Compressed, ctc_compress
from ctcot.ot import SinkhornOptions, sinkhorn_divergence
from ctcot.task import CTCOTTask
from ctcot.zero_shot import build_swap_model

VOCAB = len(WORDS) + 3  # <blank>, <unk>, the words, <sos/eos>
NO_DROPOUT_MT = dict(mt_embed_dim=32, mt_positional_dropout_rate=0.0, mt_encoder="transformer",
                     mt_encoder_conf=TINY_TEXT_ENCODER)
COMPRESS_CONF = dict(speech_encoder="transformer", speech_encoder_conf=TINY_SPEECH_ENCODER, **NO_DROPOUT_MT)


def stack(**overrides) -> CompressedMTEncoder:
    torch.manual_seed(0)
    return CompressedMTEncoder(input_size=80, vocab_size=VOCAB, **{**COMPRESS_CONF, **overrides})


@pytest.fixture(scope="module")
def mt_model(tiny_models):
    return MTTask.build_model_from_file(tiny_models["mt"] / "config.yaml", tiny_models["mt"] / "model.pth", "cpu")[0]


def load_mt(encoder: CompressedMTEncoder, mt) -> None:
    encoder.mt_frontend.load_state_dict(mt.frontend.state_dict())
    encoder.mt_encoder.load_state_dict(mt.encoder.state_dict())


def tokens():
    src = torch.tensor([[2, 3, 4, 5], [6, 7, -1, -1], [8, -1, -1, -1]])
    return src, torch.tensor([4, 2, 1])


def test_text_side_is_the_mt_models_encoder(mt_model):
    encoder = stack().eval()
    load_mt(encoder, mt_model.eval())
    src, lengths = tokens()
    ours, our_lengths, _ = encoder.encode_text(src, lengths)
    theirs, their_lengths = mt_model.encode(src, lengths)  # ESPnet's MT model puts <sos/eos> first
    assert torch.equal(our_lengths, their_lengths)
    for b, n in enumerate(lengths + 1):  # padded states differ (masked); the real ones are the MT model's
        assert torch.allclose(ours[b, :n], theirs[b, :n], atol=1e-5)


def test_compressed_vectors_take_the_place_of_the_token_embeddings(mt_model):
    """With an identity adapter and the token embeddings as the compressed vectors, the speech path
    gives exactly the MT encoder's states of the transcript."""
    encoder = stack(speech_encoder_conf={**TINY_SPEECH_ENCODER, "output_size": 32}).eval()
    load_mt(encoder, mt_model.eval())
    with torch.no_grad():
        encoder.adapter.weight.copy_(torch.eye(32))
        encoder.adapter.bias.zero_()
    src, lengths = tokens()
    embeddings = encoder.mt_frontend.embed[0](src.clamp(min=0)) * (torch.arange(4) < lengths[:, None])[..., None]
    speech, speech_lengths, _ = encoder.forward_compressed(Compressed(embeddings, lengths, torch.zeros(3).bool()))
    text, text_lengths, _ = encoder.encode_text(src, lengths)
    assert torch.equal(speech_lengths, text_lengths)
    for b, n in enumerate(lengths + 1):
        assert torch.allclose(speech[b, :n], text[b, :n], atol=1e-5)


def test_frozen_mt_side_gets_no_update_and_no_dropout_but_passes_the_gradient():
    encoder = stack(mt_positional_dropout_rate=0.5, mt_encoder_conf={**TINY_TEXT_ENCODER, "dropout_rate": 0.5})
    encoder.train()
    assert not encoder.mt_encoder.training and not encoder.mt_frontend.training and encoder.speech_encoder.training
    assert not any(p.requires_grad for p in [*encoder.mt_encoder.parameters(), *encoder.mt_frontend.parameters()])
    feats, lengths = torch.randn(2, 50, 80), torch.tensor([50, 33])
    with torch.no_grad():
        encoder.ctc.ctc_lo.bias[3] = 50.0  # every frame predicts token 3: one vector, never empty
    out1 = encoder(feats, lengths)[0]
    out2 = encoder(feats, lengths)[0]
    assert out1.shape[1] == 2  # <sos/eos> + one vector
    out1.sum().backward()
    assert encoder.adapter.weight.grad.abs().sum() > 0
    assert encoder.speech_encoder.encoders[0].feed_forward.w_1.weight.grad.abs().sum() > 0
    encoder.eval()
    assert torch.allclose(encoder(feats, lengths)[0], out2.detach(), atol=1e-6)  # the MT side has no dropout
    trainable = stack(freeze_mt_encoder=False).train()
    assert trainable.mt_encoder.training and all(p.requires_grad for p in trainable.mt_encoder.parameters())


def test_the_loss_is_ctc_plus_ot_per_source_token(tiny_models):
    torch.manual_seed(0)
    model = CTCCompressOTModel(vocab_size=VOCAB, token_list=["<blank>", "<unk>", *WORDS, "<sos/eos>"], frontend=None,
                               specaug=None, normalize=None, encoder=stack(), ctc_weight=0.7, ot_weight=0.3,
                               ot_embed_weight=0.2).eval()
    feats, lengths = torch.randn(3, 60, 80), torch.tensor([60, 48, 40])
    src, src_lengths = tokens()
    with torch.no_grad():
        loss, stats, weight = model(feats, lengths, src, src_lengths)
        states, state_lengths = model.encode_ctc(feats, lengths)
        ctc = model.ctc(states, state_lengths, src, src_lengths) * 3
        compressed = ctc_compress(states, state_lengths, model.ctc.log_softmax(states), "mean")
        speech, speech_lengths, speech_in = model.encoder.forward_compressed(compressed)
        text, text_lengths, text_in = model.encoder.encode_text(src, src_lengths)
        options = SinkhornOptions(position_weight=10.0)
        ot = sinkhorn_divergence(speech, speech_lengths, text, text_lengths, options=options).sum()
        ot_embed = sinkhorn_divergence(speech_in, speech_lengths, text_in, text_lengths, options=options).sum()
    assert weight.item() == 7
    assert loss.item() == pytest.approx(((0.7 * ctc + 0.3 * ot + 0.2 * ot_embed) / 7).item(), rel=1e-5)
    frames, vectors = state_lengths.sum().item(), compressed.lengths.sum().item()
    assert stats["compression_ratio"].item() == pytest.approx(frames / vectors)
    assert stats["vectors_per_token"].item() == pytest.approx(compressed.lengths.sum().item() / 7)
    assert "cer_ctc" in stats and "speech_text_r1" in stats
    assert model.encode(feats, lengths)[0].shape == speech.shape


PRETRAIN_CONFIG = dict(frontend=None, input_size=80, normalize="utterance_mvn", encoder=ENCODER_NAME,
                       encoder_conf=COMPRESS_CONF, model_conf=dict(ot_weight=0.5))


@pytest.fixture(scope="module")
def compress_pretrain(tiny_models, tmp_path_factory):
    """config.yaml and model.pth of a tiny ctc_compress_ot pre-training, as CTCOTTask writes them."""
    return save_model(tmp_path_factory.mktemp("compress") / "pretrain", CTCOTTask, PRETRAIN_CONFIG,
                      src_token_list=str(tiny_models["root"] / "tokens.txt"), src_token_type="word", src_bpemodel=None)


def test_the_task_builds_it_from_a_config_and_names_unknown_keys(tiny_models, compress_pretrain):
    directory = compress_pretrain
    written = yaml.safe_load((directory / "config.yaml").read_text())
    assert written["encoder_conf"]["vocab_size"] == VOCAB  # config.yaml builds the encoder alone
    model, _ = CTCOTTask.build_model_from_file(directory / "config.yaml", directory / "model.pth", "cpu")
    assert isinstance(model, CTCCompressOTModel) and model.ot_weight == 0.5
    with pytest.raises(InputError, match="unknown model_conf key.*ot_wieght"):
        CTCOTTask.build_model(build_args(CTCOTTask, {**PRETRAIN_CONFIG, "model_conf": dict(ot_wieght=1.0)},
                                         src_token_list=str(tiny_models["root"] / "tokens.txt")))


def test_zero_shot_model_is_the_whole_stack_and_the_mt_decoder(tiny_models, compress_pretrain):
    """build_swap_model gives ESPnet's ST model whose encoder is the pre-trained stack and whose decoder
    is the MT model's; ESPnet's ST task builds it from the options alone."""
    directory = compress_pretrain
    mt = tiny_models["mt"]
    model, args = build_swap_model(directory / "config.yaml", directory / "model.pth", mt / "config.yaml",
                                   mt / "model.pth")
    assert args.encoder == ENCODER_NAME and isinstance(model.encoder, CompressedMTEncoder)
    pretrained, mt_state = torch.load(directory / "model.pth"), torch.load(mt / "model.pth")
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in pretrained.items() if k.startswith("encoder."))
    assert all(torch.equal(state[k], v) for k, v in mt_state.items() if k.startswith("decoder."))
    assert isinstance(STTask.build_model(args).encoder, CompressedMTEncoder)


def test_st_config_takes_the_budget_of_st_and_the_encoder_of_the_pretraining(tmp_path):
    st = dict(max_epoch=6, optim_conf=dict(lr=0.005), encoder="transformer", encoder_conf=dict(num_blocks=4),
              decoder="transformer")
    pretrain = dict(encoder=ENCODER_NAME, encoder_conf=dict(COMPRESS_CONF, vocab_size=VOCAB, freeze_mt_encoder=True))
    config = st_config_with_encoder(st, pretrain)
    assert config["max_epoch"] == 6 and config["decoder"] == "transformer" and config["encoder"] == ENCODER_NAME
    assert config["encoder_conf"] == {**pretrain["encoder_conf"], "freeze_mt_encoder": False}
    with pytest.raises(InputError, match="not ctc_compress"):
        st_config_with_encoder(st, dict(encoder="transformer"))
    for name, value in (("st.yaml", st), ("pretrain.yaml", pretrain)):
        (tmp_path / name).write_text(yaml.safe_dump(value))
    out = tmp_path / "out.yaml"
    assert st_config_main([str(tmp_path / "st.yaml"), str(tmp_path / "pretrain.yaml"), str(out),
                           "--freeze_mt_encoder", "true"]) == 0
    assert yaml.safe_load(out.read_text())["encoder_conf"]["freeze_mt_encoder"] is True
    assert st_config_main([str(tmp_path / "st.yaml"), str(tmp_path / "st.yaml"), str(tmp_path / "bad.yaml")]) == 1
    assert not (tmp_path / "bad.yaml").exists()


def test_compression_figure_draws_one_utterance(tiny_models, compress_pretrain, tmp_path):
    from ctcot.bin.compression_figure import main as figure_main
    from ctcot.compression_figure import compress_utterance
    from ctcot.encoders import load_encoder

    directory, output = compress_pretrain, tmp_path / "compression.png"
    common = ["--config", str(directory / "config.yaml"), "--model_file", str(directory / "model.pth"),
              "--data_dir", str(tiny_models["data"]), "--src_text", "text.words"]
    assert figure_main([*common, "--utt", "utt03", "--output", str(output)]) == 0
    assert output.stat().st_size > 10_000
    view = compress_utterance(load_encoder(directory / "config.yaml", directory / "model.pth", "ctcot"),
                              kaldiio.load_scp(str(tiny_models["data"] / "feats.scp"))["utt03"])
    assert len(view.units) == len(view.vectors) and len(view.labels) == ((len(view.features) - 1) // 2 - 1) // 2
    assert figure_main([*common, "--utt", "nope", "--output", str(tmp_path / "x.png")]) == 1
    # CTC+OT is not a ctc_compress_ot pre-training
    assert figure_main(["--config", str(tiny_models["ctcot"] / "config.yaml"), "--model_file",
                        str(tiny_models["ctcot"] / "model.pth"), "--data_dir", str(tiny_models["data"]),
                        "--output", str(tmp_path / "y.png")]) == 1


def test_a_transformer_adapter_maps_the_vectors_to_the_mt_embedding():
    encoder = stack(adapter_blocks=1, adapter_conf=dict(attention_heads=2, linear_units=64)).eval()
    feats, lengths = torch.randn(2, 50, 80), torch.tensor([50, 33])
    with torch.no_grad():
        encoder.ctc.ctc_lo.bias[3] = 50.0  # one vector per utterance
        out, out_lengths, _ = encoder(feats, lengths)
    assert out.shape == (2, 2, 32) and out_lengths.tolist() == [2, 2]
    with pytest.raises(InputError, match="compression"):
        stack(compression="max")
