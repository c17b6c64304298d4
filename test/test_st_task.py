"""ctcot.st_task: multi-task ST initialised from an MT model and a pre-trained speech encoder."""
import pytest
import torch
import yaml
from conftest import TINY_DECODER, TINY_SPEECH_ENCODER, TINY_TEXT_ENCODER, build_args
from espnet2.st.espnet_model import ESPnetSTModel
from espnet2.tasks.mt import MTTask
from espnet2.tasks.st import STTask
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

from ctcot.init_param import init_param_problems
from ctcot.st_task import MultitaskSTTask
from ctcot.task import CTCOTTask

ASR_WEIGHT, MT_WEIGHT = 0.2, 0.3


def multitask_config(tokens, **model_conf):
    return dict(
        frontend=None, input_size=80, normalize="utterance_mvn", encoder="transformer",
        encoder_conf=TINY_SPEECH_ENCODER, decoder="transformer", decoder_conf=TINY_DECODER,
        text_frontend="embed", text_frontend_conf=dict(embed_dim=32, positional_dropout_rate=0.0),
        text_encoder="transformer", text_encoder_conf=TINY_TEXT_ENCODER,
        model_conf=dict(asr_weight=ASR_WEIGHT, mt_weight=MT_WEIGHT, mtlalpha=1.0, **model_conf),
        token_list=str(tokens), token_type="word", bpemodel=None,
        src_token_list=str(tokens), src_token_type="word", src_bpemodel=None)


def build(tokens, **overrides):
    torch.manual_seed(1)
    return MultitaskSTTask.build_model(build_args(MultitaskSTTask, multitask_config(tokens), **overrides))


def load(model, specs):
    for spec in specs:
        assert init_param_problems(model, spec) == [], spec
        load_pretrained_model(spec, model, ignore_init_mismatch=False)


def batch(num_tokens):
    torch.manual_seed(2)
    src_lengths = torch.tensor([5, 3, 4])
    src = torch.randint(1, num_tokens - 1, (3, 5)).masked_fill(torch.arange(5) >= src_lengths[:, None], -1)
    tgt_lengths = torch.tensor([4, 6, 2])
    tgt = torch.randint(1, num_tokens - 1, (3, 6)).masked_fill(torch.arange(6) >= tgt_lengths[:, None], -1)
    speech_lengths = torch.tensor([60, 45, 52])
    return dict(speech=torch.randn(3, 60, 80), speech_lengths=speech_lengths, text=tgt, text_lengths=tgt_lengths,
                src_text=src, src_text_lengths=src_lengths)


def test_initialised_from_mt_and_ctc_ot_with_equal_weights_and_states(tiny_models):
    """Speech encoder and source CTC <- CTC+OT; text encoder and decoder <- MT: every tensor equal,
    the text encoder's states those of the MT model's encoder, the MT branch's loss the MT model's."""
    root, mt_dir, ctcot_dir = tiny_models["root"], tiny_models["mt"], tiny_models["ctcot"]
    model = build(root / "tokens.txt")
    mt_model, ctcot_model = f"{mt_dir}/model.pth", f"{ctcot_dir}/model.pth"
    load(model, [f"{ctcot_model}:encoder:encoder", f"{ctcot_model}:ctc:ctc",
                 f"{mt_model}:frontend:extra_mt_encoder.frontend", f"{mt_model}:encoder:extra_mt_encoder.encoder",
                 f"{mt_model}:decoder:decoder"])
    mt, _ = MTTask.build_model_from_file(mt_dir / "config.yaml", mt_model)
    pretrained, _ = CTCOTTask.build_model_from_file(ctcot_dir / "config.yaml", ctcot_model)
    pairs = [(model.encoder, pretrained.encoder), (model.ctc, pretrained.ctc), (model.decoder, mt.decoder),
             (model.extra_mt_encoder.frontend, mt.frontend), (model.extra_mt_encoder.encoder, mt.encoder)]
    for mine, theirs in pairs:
        assert len(list(mine.parameters())) == len(list(theirs.parameters())) > 0
        for a, b in zip(mine.state_dict().values(), theirs.state_dict().values()):
            assert torch.equal(a, b)

    model.eval()
    mt.eval()
    data = batch(len(model.token_list))
    with torch.no_grad():
        states, lengths = model.extra_mt_encoder(data["src_text"], data["src_text_lengths"])
        mt_states, mt_lengths = mt.encode(data["src_text"].clone(), data["src_text_lengths"])
        assert torch.equal(lengths, mt_lengths) and torch.equal(lengths, data["src_text_lengths"] + 1)
        for n, length in enumerate(lengths):
            torch.testing.assert_close(states[n, :length], mt_states[n, :length])
        _, stats, _ = model(**{k: v.clone() for k, v in data.items()})
        mt_loss, _, _ = mt(data["text"].clone(), data["text_lengths"],
                           data["src_text"].clone(), data["src_text_lengths"])
    torch.testing.assert_close(stats["loss_mt"], mt_loss)


def test_text_encoder_from_ctc_ot_gives_its_states(tiny_models):
    """The option of starting the MT branch's encoder from CTC+OT's own text encoder."""
    root, ctcot_dir = tiny_models["root"], tiny_models["ctcot"]
    model = build(root / "tokens.txt")
    ctcot_model = f"{ctcot_dir}/model.pth"
    load(model, [f"{ctcot_model}:text_frontend:extra_mt_encoder.frontend",
                 f"{ctcot_model}:text_encoder:extra_mt_encoder.encoder"])
    pretrained, _ = CTCOTTask.build_model_from_file(ctcot_dir / "config.yaml", ctcot_model)
    model.eval()
    pretrained.eval()
    data = batch(len(model.token_list))
    with torch.no_grad():
        states, lengths = model.extra_mt_encoder(data["src_text"], data["src_text_lengths"])
        theirs, their_lengths = pretrained.encode_text(data["src_text"], data["src_text_lengths"])
    assert torch.equal(lengths, their_lengths)
    torch.testing.assert_close(states, theirs)


def test_the_loss_weights_each_task_once(tiny_models):
    """(1 - asr_weight - mt_weight) loss_st + asr_weight loss_asr + mt_weight loss_mt, unlike ESPnet's mt_weight²:
    loss_mt is the MT branch's attention loss, computed here by ESPnet's own method."""
    model = build(tiny_models["root"] / "tokens.txt")
    model.eval()
    data = batch(len(model.token_list))
    with torch.no_grad():
        loss, stats, _ = model(**{k: v.clone() for k, v in data.items()})
        states, lengths = model.extra_mt_encoder(data["src_text"], data["src_text_lengths"])
        loss_mt, _, _ = ESPnetSTModel._calc_mt_att_loss(model, states, lengths, data["text"], data["text_lengths"],
                                                        None, None, st=False)
    assert float(stats["loss_mt"]) == pytest.approx(float(loss_mt), rel=1e-5)
    expected = ((1 - ASR_WEIGHT - MT_WEIGHT) * float(stats["loss_st"]) + ASR_WEIGHT * float(stats["loss_asr"])
                + MT_WEIGHT * float(loss_mt))
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert loss_mt > 0 and stats["loss_asr"] > 0 and stats["acc_mt"] is not None


def test_espnet_builds_the_trained_model_for_decoding(tiny_models, tmp_path):
    """ESPnet's own STTask (stage 9's decoding, the packer) loads the multi-task model's files;
    its encoder and decoder are the trained ones, the MT branch is left out."""
    tokens = tiny_models["root"] / "tokens.txt"
    args = build_args(MultitaskSTTask, multitask_config(tokens))
    torch.manual_seed(3)
    model = MultitaskSTTask.build_model(args)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), tmp_path / "model.pth")
    espnet_model, _ = STTask.build_model_from_file(tmp_path / "config.yaml", tmp_path / "model.pth")
    assert type(espnet_model).__name__ == "ESPnetSTModel" and espnet_model.extra_mt_encoder is None
    state = espnet_model.state_dict()
    for name, value in model.state_dict().items():
        if not name.startswith("extra_mt_encoder."):
            assert torch.equal(state[name], value), name
    data = batch(len(model.token_list))
    model.eval()
    espnet_model.eval()
    with torch.no_grad():
        ours, _ = model.encode(data["speech"].clone(), data["speech_lengths"])  # utterance_mvn works in place
        theirs, _ = espnet_model.encode(data["speech"].clone(), data["speech_lengths"])
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("overrides, message", [
    (dict(text_encoder=None), "needs text_frontend and text_encoder"),
    (dict(model_conf=dict(asr_weight=0.2, mt_weight=0.0, mtlalpha=1.0)), "mt_weight is 0.0"),
    (dict(extra_mt_encoder="transformer"), "not --extra_mt_encoder"),
])
def test_inconsistent_options_are_named(tiny_models, overrides, message):
    with pytest.raises(ValueError, match=message):
        build(tiny_models["root"] / "tokens.txt", **overrides)
