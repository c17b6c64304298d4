"""CTCOTModel / CTCOTTask: losses, options, and checkpoint exchange with ESPnet's MT and ST models."""
import pytest
import torch
from conftest import TINY_PRETRAIN_CONFIG, TINY_SPEECH_ENCODER, TINY_TEXT_ENCODER, build_args
from espnet2.tasks.mt import MTTask
from espnet2.tasks.st import STTask
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

from ctcot.espnet_model import ctc_infeasible
from ctcot.ot import SinkhornOptions, sinkhorn_divergence
from ctcot.task import CTCOTTask
from ctcot.tokenizers import sos_eos_index


def build_model(tokens, **model_conf):
    config = {**TINY_PRETRAIN_CONFIG, "frontend": None, "input_size": 80}
    config["model_conf"] = {**config["model_conf"], **model_conf}
    return CTCOTTask.build_model(build_args(CTCOTTask, config, src_token_list=str(tokens)))


def make_batch(vocab_size, seed=0):
    """Features (B, L, 80) and source ids (B, N) padded with -1, as ESPnet's collate_fn gives."""
    gen = torch.Generator().manual_seed(seed)
    speech = torch.randn(3, 120, 80, generator=gen)
    speech_lengths = torch.tensor([120, 90, 40])
    src_text = torch.randint(2, sos_eos_index(vocab_size), (3, 9), generator=gen)  # no <blank>, <unk>, <sos/eos>
    src_text_lengths = torch.tensor([9, 6, 3])
    for b, n in enumerate(src_text_lengths):
        src_text[b, n:] = -1
    return dict(speech=speech, speech_lengths=speech_lengths, src_text=src_text,
                src_text_lengths=src_text_lengths, utt_id=["a", "b", "c"])


@torch.no_grad()
def encode_both(model, batch):
    """Speech states (B, S, D), their lengths, text states (B, N + 1, D), their lengths."""
    return (*model.encode(batch["speech"], batch["speech_lengths"]),
            *model.encode_text(batch["src_text"], batch["src_text_lengths"]))


def grads(module):
    return [p.grad for p in module.parameters()]


def test_forward_backward_and_stats(tiny_corpus):
    torch.manual_seed(0)
    model = build_model(tiny_corpus["tokens"])
    batch = make_batch(model.vocab_size)
    loss, stats, weight = model(**batch)
    assert set(stats) == {"loss", "loss_ctc", "loss_ot", "sinkhorn", "ctc_infeasible"}
    assert stats["ctc_infeasible"].item() == 0
    assert weight.item() == batch["src_text_lengths"].sum().item() and torch.isfinite(loss).all()
    torch.testing.assert_close(stats["loss"], 1.0 * stats["loss_ctc"] + 0.1 * stats["loss_ot"])
    loss.sum().backward()
    for module in (model.encoder, model.ctc, model.text_frontend, model.text_encoder):
        assert all(g is not None and torch.isfinite(g).all() for g in grads(module))

    model.eval()
    _, stats, _ = model(**batch)
    assert "cer_ctc" in stats and stats["cer_ctc"] >= 0 and 0 <= stats["speech_text_r1"] <= 1


def test_losses_are_normalised_by_source_tokens(tiny_corpus):
    model = build_model(tiny_corpus["tokens"]).eval()
    batch = make_batch(model.vocab_size)
    _, stats, _ = model(**batch)
    speech_out, speech_lens, text_out, text_lens = encode_both(model, batch)
    with torch.no_grad():
        ot_sum = sinkhorn_divergence(speech_out, speech_lens, text_out, text_lens).sum()
        ctc_per_utt = torch.nn.functional.ctc_loss(
            model.ctc.log_softmax(speech_out).transpose(0, 1), batch["src_text"].clamp(min=0),
            speech_lens, batch["src_text_lengths"], reduction="none", zero_infinity=True)
    num_tokens = batch["src_text_lengths"].sum()
    torch.testing.assert_close(stats["loss_ot"], (ot_sum / num_tokens).view(1))
    torch.testing.assert_close(stats["loss_ctc"], (ctc_per_utt.sum() / num_tokens).view(1), rtol=1e-5, atol=1e-5)


def test_ot_options_come_from_the_config_keys(tiny_corpus):
    assert build_model(tiny_corpus["tokens"]).ot_options == SinkhornOptions()
    model = build_model(tiny_corpus["tokens"], ot_blur=0.2, ot_scaling=0.8, ot_position_weight=0.0).eval()
    assert model.ot_options == SinkhornOptions(blur=0.2, scaling=0.8, position_weight=0.0)
    batch = make_batch(model.vocab_size)
    _, stats, _ = model(**batch)
    speech_out, speech_lens, text_out, text_lens = encode_both(model, batch)
    with torch.no_grad():
        divergence = sinkhorn_divergence(speech_out, speech_lens, text_out, text_lens, options=model.ot_options)
    torch.testing.assert_close(stats["sinkhorn"], divergence.mean().view(1))


def test_ctc_infeasible_utterances_are_those_with_an_infinite_ctc_loss(tiny_corpus):
    """Against torch's CTC loss without zero_infinity, on utterances with too few frames for their tokens."""
    model = build_model(tiny_corpus["tokens"]).eval()
    batch = make_batch(model.vocab_size)
    # In a padded batch ESPnet's conv2d leaves ceil(T / 4) frames of a shorter utterance: 8 and 3 here.
    batch["speech_lengths"] = torch.tensor([120, 30, 10])
    batch["src_text"][2, :3] = torch.tensor([5, 5, 7])  # 3 tokens with a repeat: 4 frames needed
    speech_out, speech_lens, _, _ = encode_both(model, batch)
    with torch.no_grad():
        ctc_per_utt = torch.nn.functional.ctc_loss(
            model.ctc.log_softmax(speech_out).transpose(0, 1), batch["src_text"].clamp(min=0),
            speech_lens, batch["src_text_lengths"], reduction="none", zero_infinity=False)
    assert speech_lens.tolist() == [29, 8, 3]
    assert ctc_per_utt.isinf().tolist() == [False, False, True]
    assert ctc_infeasible(batch["src_text"], batch["src_text_lengths"], speech_lens).tolist() == [False, False, True]
    _, stats, _ = model(**batch)
    assert stats["ctc_infeasible"].item() == pytest.approx(1 / 3)


def test_ctc_only_has_no_text_encoder(tiny_corpus):
    model = build_model(tiny_corpus["tokens"], ot_weight=0.0)
    assert model.text_encoder is None and model.text_frontend is None
    assert not any(k.startswith("text_") for k in model.state_dict())
    loss, stats, _ = model(**make_batch(model.vocab_size))
    assert "loss_ot" not in stats
    torch.testing.assert_close(stats["loss"], stats["loss_ctc"])


def test_frozen_text_encoder_gets_no_update(tiny_corpus):
    model = build_model(tiny_corpus["tokens"], text_encoder_freeze=True)
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    loss, _, _ = model(**make_batch(model.vocab_size))
    loss.sum().backward()
    assert all(g is None for g in grads(model.text_encoder) + grads(model.text_frontend))
    assert all(g is not None for g in grads(model.encoder))


def test_frozen_text_encoder_keeps_its_weights_and_eval_mode(tiny_corpus):
    torch.manual_seed(0)
    model = build_model(tiny_corpus["tokens"], text_encoder_freeze=True)
    model.train()
    assert model.encoder.training and not model.text_encoder.training and not model.text_frontend.training
    text_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("text_")}
    speech_before = model.encoder.embed.conv[0].weight.clone()
    # ESPnet's trainer: one optimizer over all the model's parameters.
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for seed in range(3):
        optimizer.zero_grad()
        loss, _, _ = model(**make_batch(model.vocab_size, seed))
        loss.sum().backward()
        optimizer.step()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in text_before.items())
    assert not torch.equal(speech_before, model.encoder.embed.conv[0].weight)


def test_validation_reports_pooled_similarity(tiny_corpus):
    from ctcot.modality_gap import cosine_matrix, mean_pool, retrieval_ranks

    model = build_model(tiny_corpus["tokens"]).eval()
    batch = make_batch(model.vocab_size)
    _, stats, _ = model(**batch)
    speech_out, speech_lens, text_out, text_lens = encode_both(model, batch)
    # The same figures as stage 12's, on this batch.
    similarity = cosine_matrix(mean_pool([s[:n] for s, n in zip(speech_out, speech_lens)]),
                               mean_pool([t[:n] for t, n in zip(text_out, text_lens)]))
    assert stats["speech_text_cos"].item() == pytest.approx(float(similarity.diagonal().mean()), rel=1e-5, abs=1e-6)
    assert stats["speech_text_r1"].item() == pytest.approx(float((retrieval_ranks(similarity) == 1).mean()))
    model.train()
    _, stats, _ = model(**batch)
    assert "speech_text_cos" not in stats


def test_detached_text_encoder_only_moves_speech(tiny_corpus):
    model = build_model(tiny_corpus["tokens"], text_encoder_detach=True, ctc_weight=0.0)
    loss, _, _ = model(**make_batch(model.vocab_size))
    loss.sum().backward()
    assert all(g is None for g in grads(model.text_encoder))
    assert all(g is not None and g.abs().sum() > 0 for g in grads(model.encoder))


def test_bad_options_are_named(tiny_corpus):
    with pytest.raises(ValueError, match="output_size"):
        config = {**TINY_PRETRAIN_CONFIG, "frontend": None, "input_size": 80,
                  "text_encoder_conf": {**TINY_TEXT_ENCODER, "output_size": 16, "attention_heads": 2}}
        CTCOTTask.build_model(build_args(CTCOTTask, config, src_token_list=str(tiny_corpus["tokens"])))
    with pytest.raises(ValueError, match="not both 0"):
        build_model(tiny_corpus["tokens"], ctc_weight=0.0, ot_weight=0.0)
    with pytest.raises(ValueError, match=r"scaling must lie in \(0, 1\), got 1.0"):
        build_model(tiny_corpus["tokens"], ot_scaling=1.0)


def test_text_encoder_initialises_from_espnet_mt_encoder(tiny_corpus, tmp_path):
    mt_config = dict(
        frontend="embed", frontend_conf=dict(embed_dim=32, positional_dropout_rate=0.0),
        encoder="transformer", encoder_conf=TINY_TEXT_ENCODER,
        decoder="transformer", decoder_conf=dict(attention_heads=2, linear_units=64, num_blocks=1),
        model_conf=dict(lsm_weight=0.1),
    )
    tokens = str(tiny_corpus["tokens"])
    mt_model = MTTask.build_model(build_args(MTTask, mt_config, token_list=tokens, src_token_list=tokens))
    mt_path = tmp_path / "mt.pth"
    torch.save(mt_model.state_dict(), mt_path)

    model = build_model(tiny_corpus["tokens"])
    assert not torch.equal(model.text_encoder.encoders[0].feed_forward.w_1.weight,
                           mt_model.encoder.encoders[0].feed_forward.w_1.weight)
    for init in (f"{mt_path}:frontend:text_frontend", f"{mt_path}:encoder:text_encoder"):
        load_pretrained_model(init, model, ignore_init_mismatch=False)
    for name, value in mt_model.encoder.state_dict().items():
        assert torch.equal(model.text_encoder.state_dict()[name], value), name
    for name, value in mt_model.frontend.state_dict().items():
        assert torch.equal(model.text_frontend.state_dict()[name], value), name

    # The text side then computes exactly the MT encoder's states (<sos/eos> first, as ESPnet's
    # MT model feeds its encoder), so OT pulls speech towards what the MT decoder was trained on.
    assert mt_model.src_sos == sos_eos_index(model.vocab_size)
    model.eval(), mt_model.eval()
    batch = make_batch(model.vocab_size)
    with torch.no_grad():
        ours, our_lens = model.encode_text(batch["src_text"], batch["src_text_lengths"])
        theirs, their_lens = mt_model.encode(batch["src_text"], batch["src_text_lengths"])
    assert torch.equal(our_lens, batch["src_text_lengths"] + 1) and torch.equal(our_lens, their_lens)
    for b, n in enumerate(our_lens):
        torch.testing.assert_close(ours[b, :n], theirs[b, :n])


def test_speech_encoder_initialises_espnet_st_model(tiny_corpus, tmp_path):
    model = build_model(tiny_corpus["tokens"])
    ckpt = tmp_path / "pretrain.pth"
    torch.save(model.state_dict(), ckpt)

    tokens = str(tiny_corpus["tokens"])
    st_config = dict(
        frontend=None, input_size=80, normalize="utterance_mvn",
        encoder="transformer", encoder_conf=TINY_SPEECH_ENCODER,
        decoder="transformer", decoder_conf=dict(attention_heads=2, linear_units=64, num_blocks=1),
        model_conf=dict(asr_weight=0.0, mt_weight=0.0, mtlalpha=0.0, lsm_weight=0.1),
    )
    st_model = STTask.build_model(build_args(STTask, st_config, token_list=tokens, src_token_list=tokens))
    load_pretrained_model(f"{ckpt}:encoder:encoder", st_model, ignore_init_mismatch=False)
    for name, value in model.encoder.state_dict().items():
        assert torch.equal(st_model.encoder.state_dict()[name], value), name
    # ... and the ST model's encoder now computes what the pre-trained one did.
    model.eval(), st_model.eval()
    batch = make_batch(model.vocab_size)
    with torch.no_grad():
        expected, _ = model.encode(batch["speech"], batch["speech_lengths"])
        actual, _ = st_model.encode(batch["speech"], batch["speech_lengths"])
    torch.testing.assert_close(actual, expected)


def test_non_finite_features_name_the_utterance(tiny_corpus):
    """CTC pre-training once skipped such batches with only a warning in train.log; CTC+OT died inside the OT."""
    model = build_model(tiny_corpus["tokens"])
    batch = make_batch(model.vocab_size)
    batch["speech"][1, 50, 3] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or infinite input features in utterance\(s\) b: "):
        model(**batch)
    batch["speech"][1, 50, 3] = 0.0
    batch["speech"][2, 100] = float("nan")  # padding of "c" (40 frames): not a feature
    model(**batch)
