"""ctcot.zero_shot: the swap model's weights, its files for ESPnet's ST inference, the shape check, and the
zero-shot curve's per-epoch decoding, on the tiny ESPnet models of conftest."""
import logging

import kaldiio
import numpy as np
import pytest
import sacrebleu
import torch
import yaml
from espnet2.bin.st_inference import Speech2Text
from espnet2.tasks.st import STTask

from ctcot.bin.zero_shot import main
from ctcot.encoders import encode_text, load_encoder, read_data, tokenize
from ctcot.gap_curves import ZeroShotData, gap_curve
from ctcot.zero_shot import SwapDecoder, build_swap_model, speech_state, write_swap_model

DECODE = dict(beam_size=2, maxlenratio=0.0, minlenratio=0.0, ctc_weight=0.0, lm_weight=0.0)


def files(models, name):
    return models[name] / "config.yaml", models[name] / "model.pth"


def assert_same(state, reference, prefix):
    keys = [k for k in reference if k.startswith(prefix)]
    assert keys and all(torch.equal(state[k], reference[k]) for k in keys)


@pytest.mark.parametrize("speech", ["ctcot", "asr"])
def test_swap_model_is_the_pretrained_encoder_and_the_mt_decoder(tiny_models, tmp_path, speech):
    out = tmp_path / "zero_shot"
    speech_config, speech_model = files(tiny_models, speech)
    mt_config, mt_model = files(tiny_models, "mt")
    assert main(["--speech_config", str(speech_config), "--speech_model", str(speech_model),
                 "--mt_config", str(mt_config), "--mt_model", str(mt_model), "--output_dir", str(out)]) == 0
    assert "# decoder: " in (out / "config.yaml").read_text()
    # ESPnet's own loader builds it from the written files.
    model, args = STTask.build_model_from_file(out / "config.yaml", out / "model.pth", "cpu")
    state = model.state_dict()
    pretrained, mt = torch.load(speech_model), torch.load(mt_model)
    assert_same(state, pretrained, "encoder.")
    assert_same(state, mt, "decoder.")
    assert args.token_list == yaml_list(mt_config, "token_list")
    # and ESPnet's inference decodes with it
    feats = kaldiio.load_scp(str(tiny_models["data"] / "feats.scp"))[tiny_models["utts"][0]]
    text = Speech2Text(st_train_config=out / "config.yaml", st_model_file=out / "model.pth", **DECODE)(
        torch.from_numpy(np.array(feats)))[0][0]
    assert isinstance(text, str)


def yaml_list(config, key):
    return yaml.safe_load(config.read_text())[key]


def test_states_of_another_size_are_refused_naming_both_configs(tiny_models, tmp_path, caplog):
    speech_config, speech_model = files(tiny_models, "ctc16")
    mt_config, mt_model = files(tiny_models, "mt")
    with caplog.at_level(logging.ERROR):
        assert main(["--speech_config", str(speech_config), "--speech_model", str(speech_model),
                     "--mt_config", str(mt_config), "--mt_model", str(mt_model),
                     "--output_dir", str(tmp_path / "out")]) == 1
    assert f"{speech_config} has 16-dim states" in caplog.text and f"MT decoder of {mt_config}" in caplog.text
    assert not (tmp_path / "out").exists()


def test_zero_shot_curve_decodes_with_each_epochs_encoder(tiny_models, tmp_path):
    """The curve swaps each epoch's speech side into one decoder; each epoch's hypotheses equal those of
    a swap model built from that epoch's checkpoint alone."""

    speech_config, speech_model = files(tiny_models, "ctcot")
    mt_config, mt_model = files(tiny_models, "mt")
    state = torch.load(speech_model)
    epochs = {1: tmp_path / "1epoch.pth", 2: tmp_path / "2epoch.pth"}
    torch.manual_seed(1)
    torch.save({k: v + 0.3 * torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}, epochs[1])
    torch.save(state, epochs[2])
    swap_dir = tmp_path / "swap"
    assert main(["--speech_config", str(speech_config), "--speech_model", str(epochs[1]), "--mt_config",
                 str(mt_config), "--mt_model", str(mt_model), "--output_dir", str(swap_dir)]) == 0
    data = tiny_models["data"]
    (data / "text.ref").write_text((data / "text.words").read_text())  # any reference will do
    zero_shot = ZeroShotData(swap_dir / "config.yaml", swap_dir / "model.pth", DECODE, data, "text.ref", max_utts=3)

    mt = load_encoder(mt_config, mt_model, "mt")
    utts, texts = read_data(data, "text.words")
    token_ids = tokenize(mt, texts)
    text_states = encode_text(mt, [token_ids[u] for u in utts])
    speech = load_encoder(speech_config, epochs[2], "ctcot")
    rows = gap_curve(speech, epochs, utts, data / "feats.scp", text_states, tmp_path / "out", zero_shot=zero_shot)
    assert [r["epoch"] for r in rows] == [1, 2]
    refs = [line.split(" ", 1)[1] for line in (tmp_path / "out/zero_shot/ref.txt").read_text().splitlines()]
    for row in rows:  # the curve's BLEU is sacreBLEU's of the hypotheses it wrote
        hyps = [line.partition(" ")[2] for line in (tmp_path / f"out/zero_shot/epoch{row['epoch']}.txt").read_text()
                .splitlines()]
        assert len(hyps) == len(refs) == 3
        assert row["zero_shot_bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)

    loader = kaldiio.load_scp(str(data / "feats.scp"))
    features = [torch.from_numpy(np.array(loader[u])) for u in utts[:3]]
    for epoch, path in epochs.items():
        model, args = build_swap_model(speech_config, path, mt_config, mt_model)
        alone = tmp_path / f"alone{epoch}"
        write_swap_model(alone, model, args, {})
        expected = SwapDecoder(alone / "config.yaml", alone / "model.pth", DECODE).translate(features)
        lines = (tmp_path / "out" / "zero_shot" / f"epoch{epoch}.txt").read_text().splitlines()
        assert [line.split(" ", 1)[0] for line in lines] == utts[:3]
        assert [line.split(" ", 1)[1] if " " in line else "" for line in lines] == expected

    # The swapped-in speech side is exactly the epoch's.
    decoder = SwapDecoder(swap_dir / "config.yaml", swap_dir / "model.pth", DECODE)
    for epoch in (2, 1):
        decoder.load_speech_side(epochs[epoch])
        assert_same(decoder.speech2text.st_model.state_dict(), speech_state(torch.load(epochs[epoch])), "encoder.")
    assert not torch.equal(torch.load(epochs[1])["encoder.after_norm.weight"], state["encoder.after_norm.weight"])
