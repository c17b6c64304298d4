"""ctcot.modality_gap and ctcot.ot.transport_plan: the figures on inputs with known answers, the plan
against POT, and python -m ctcot.bin.modality_gap end to end on tiny ESPnet models."""
import json
import logging

import numpy as np
import pytest
import torch
from conftest import assert_gap_json_aggregates_per_utt

from ctcot.bin.modality_gap import main
from ctcot.encoders import detect_task, encode_speech, encode_text, load_encoder, tokenize
from ctcot.modality_gap import cosine_matrix, cosine_scores, linear_cka, retrieval_ranks
from ctcot.ot import SinkhornOptions, append_positions, sinkhorn_divergence, transport_plan

# --- the figures ----------------------------------------------------------------------------------


def random_orthogonal(dim, rng):
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def test_linear_cka_invariances_and_independence():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 8)) @ rng.standard_normal((8, 8))  # correlated columns
    assert linear_cka(x, 3 * x @ random_orthogonal(8, rng) + 5.0) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, x[:, :3]) < 1  # dimensions may differ
    # independent representations: E[CKA] is about D / N
    independent = [linear_cka(rng.standard_normal((500, 8)), rng.standard_normal((500, 8))) for _ in range(5)]
    assert max(independent) < 0.1
    # a non-isotropic scaling is not invariant
    assert linear_cka(x, x * np.array([10.0] + [1.0] * 7)) < 0.99
    assert linear_cka(x, np.ones((60, 8))) == 0.0
    with pytest.raises(ValueError, match="expected"):
        linear_cka(x, x[:10])


def test_retrieval_ranks():
    rng = np.random.default_rng(1)
    pooled = rng.standard_normal((200, 16))
    ranks = retrieval_ranks(cosine_matrix(pooled, pooled))
    assert (ranks == 1).all()
    shuffled = retrieval_ranks(cosine_matrix(pooled, pooled[rng.permutation(200)]))
    assert (shuffled <= 1).mean() <= 5 / 200  # chance is 1/200
    assert abs(shuffled.mean() - 100.5) < 15  # own text anywhere: mean rank (N + 1) / 2
    # ties count against: a collapsed encoder does not retrieve
    assert (retrieval_ranks(np.ones((4, 4))) == 4).all()
    np.testing.assert_array_equal(retrieval_ranks(np.array([[0.9, 0.1, 0.95], [0.2, 0.5, 0.3], [0.0, 0.1, -1.0]])),
                                  [2, 1, 3])


def test_cosine_scores():
    similarity = np.array([[1.0, 0.2, 0.0], [0.4, 0.5, 0.0], [0.0, 0.6, 0.0]])
    paired, unpaired, margin = cosine_scores(similarity)
    assert (paired, unpaired) == pytest.approx((0.5, 0.2))
    assert margin == pytest.approx(0.3)
    rng = np.random.default_rng(2)
    # unrelated data of one distribution (a shared offset makes every cosine large): no margin
    speech, text = rng.standard_normal((300, 16)) + 2, rng.standard_normal((300, 16)) + 2
    paired, unpaired, margin = cosine_scores(cosine_matrix(speech, text))
    assert paired > 0.5 and abs(margin) < 0.03
    # paired data: a large margin
    paired, unpaired, margin = cosine_scores(cosine_matrix(speech, speech + 0.3 * rng.standard_normal((300, 16))))
    assert paired > 0.98 and margin > 0.1
    assert cosine_matrix(np.zeros((1, 3)), np.ones((2, 3))).tolist() == [[0.0, 0.0]]


# --- transport_plan -------------------------------------------------------------------------------

LENGTHS_X, LENGTHS_Y = [30, 17, 1], [12, 5, 4]


def padded_batch(dtype=torch.float64, seed=0, D=4):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, max(LENGTHS_X), D, generator=gen, dtype=dtype)
    y = torch.randn(3, max(LENGTHS_Y), D, generator=gen, dtype=dtype) + 0.3
    return x, torch.tensor(LENGTHS_X), y, torch.tensor(LENGTHS_Y)


def test_transport_plan_matches_pot_when_converged():
    """Slow annealing at a large blur converges; POT's exact log-domain Sinkhorn on the same points
    (position appended; its cost ||x - y||^2 is 2 C, hence reg = 2 eps) gives the same plan."""
    ot = pytest.importorskip("ot")
    x, xl, y, yl = padded_batch()
    options = SinkhornOptions(blur=2.0, scaling=0.995)
    plans = transport_plan(x, xl, y, yl, options=options)
    for b in range(3):
        n, m = LENGTHS_X[b], LENGTHS_Y[b]
        xp = append_positions(x[b : b + 1, :n], xl[b : b + 1], options.position_weight)[0].numpy()
        yp = append_positions(y[b : b + 1, :m], yl[b : b + 1], options.position_weight)[0].numpy()
        expected = ot.bregman.sinkhorn_log(np.full(n, 1 / n), np.full(m, 1 / m), ot.dist(xp, yp, metric="sqeuclidean"),
                                           reg=2 * options.blur**2, numItermax=100000, stopThr=1e-14)
        plan = plans[b, :n, :m].numpy()
        assert np.abs(plan - expected).max() < 2e-3 * expected.max()
        np.testing.assert_allclose(plan.sum(1), 1 / n, rtol=1e-12)  # the last half-step: rows exact
        np.testing.assert_allclose(plan.sum(0), 1 / m, rtol=3e-3)  # columns: up to convergence
        assert plans[b, n:].abs().sum() == 0 and plans[b, :, m:].abs().sum() == 0


def test_transport_plan_of_a_sequence_with_itself_is_the_diagonal():
    """Identical sequences at a small blur: each frame is carried to itself (a monotonic alignment)."""
    x = 3 * torch.randn(1, 20, 8, generator=torch.Generator().manual_seed(4))
    lengths = torch.tensor([20])
    plan = transport_plan(x, lengths, x.clone(), lengths)[0]
    torch.testing.assert_close(plan, torch.eye(20) / 20, rtol=0, atol=1e-4)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_transport_plan_does_not_depend_on_padding(dtype, tol):
    x, xl, y, yl = padded_batch(dtype)
    x[1, LENGTHS_X[1]:] = float("nan")  # padding may hold anything
    plans = transport_plan(x, xl, y, yl)
    assert plans.shape == (3, 30, 12) and plans.dtype == dtype
    for b in range(3):
        n, m = LENGTHS_X[b], LENGTHS_Y[b]
        alone = transport_plan(x[b : b + 1, :n], xl[b : b + 1], y[b : b + 1, :m], yl[b : b + 1])[0]
        torch.testing.assert_close(plans[b, :n, :m], alone, rtol=0, atol=tol / (n * m))
        torch.testing.assert_close(plans[b].sum(1)[:n], torch.full((n,), 1 / n, dtype=dtype))


def test_transport_plan_checks_arguments_and_keeps_no_graph():
    x, xl, y, yl = padded_batch(torch.float32)
    with pytest.raises(ValueError, match="y_lengths must lie in"):
        transport_plan(x, xl, y, torch.tensor([13, 1, 1]))
    assert transport_plan(x.requires_grad_(), xl, y, yl).grad_fn is None


# --- the program on tiny models -------------------------------------------------------------------

def cli_args(models, speech, text, output_dir, *extra):
    return ["--speech_config", str(models[speech] / "config.yaml"), "--speech_model", str(models[speech] / "model.pth"),
            "--text_config", str(models[text] / "config.yaml"), "--text_model", str(models[text] / "model.pth"),
            "--data_dir", str(models["data"]), "--src_text", "text.words", "--output_dir", str(output_dir),
            "--batch_size", "3", *extra]


def read_per_utt(path):
    header, *rows = [line.split("\t") for line in path.read_text().splitlines()]
    return [dict(zip(header, row)) for row in rows]


def test_detect_task(tiny_models):
    assert detect_task(tiny_models["ctcot"] / "config.yaml", "speech") == "ctcot"
    assert detect_task(tiny_models["asr"] / "config.yaml", "speech") == "asr"
    assert detect_task(tiny_models["mt"] / "config.yaml", "text") == "mt"
    assert detect_task(tiny_models["ctcot"] / "config.yaml", "text") == "ctcot"


def test_cli_ctc_ot_encoder_vs_mt_encoder(tiny_models, tmp_path, capsys):
    out = tmp_path / "gap"
    assert main(cli_args(tiny_models, "ctcot", "mt", out, "--num_plans", "2")) == 0
    gap = json.loads((out / "gap.json").read_text())
    n = len(tiny_models["utts"])
    assert gap["n_utts"] == n and gap["speech_model"]["task"] == "ctcot" and gap["text_model"]["task"] == "mt"
    assert gap["ot"] == dict(blur=0.05, scaling=0.5, position_weight=1.0) and "sinkhorn" in gap["notes"]
    assert gap["cosine_margin"] == pytest.approx(gap["cosine_paired"] - gap["cosine_unpaired"])
    assert_gap_json_aggregates_per_utt(out)
    assert (gap["retrieval_chance_top1"], gap["retrieval_chance_top5"]) == pytest.approx((1 / n, 5 / n))

    rows = read_per_utt(out / "per_utt.tsv")
    assert [r["utt_id"] for r in rows] == tiny_models["utts"]
    # the MT encoder's states: <sos> and one per word
    transcripts = tiny_models["transcripts"]
    assert [int(r["tokens"]) for r in rows] == [len(transcripts[u].split()) + 1 for u in tiny_models["utts"]]
    assert np.mean([float(r["sinkhorn"]) for r in rows]) == pytest.approx(gap["sinkhorn"], rel=1e-5)
    assert np.mean([int(r["rank"]) == 1 for r in rows]) == pytest.approx(gap["retrieval_top1"])
    plots = sorted(p.name for p in out.glob("*.png"))
    utts = tiny_models["utts"]
    assert plots == sorted(["projection.png", f"plan_{utts[0]}.png", f"plan_{utts[-1]}.png"])
    assert all((out / p).stat().st_size > 1000 for p in plots)
    assert "linear CKA" in capsys.readouterr().out


def test_cli_gap_curve_has_a_row_per_epoch_ending_at_the_analysed_model(tiny_models, tmp_path):
    """Epoch 1 a differently initialised model, epoch 2 the analysed one (in the experiment's top
    directory, as ESPnet leaves the last epoch): the curve's last point is gap.json's figures."""
    from ctcot.gap_curves import CURVE_FIGURES, read_curve

    exp = tmp_path / "pretrain_ctc_ot"
    (exp / "epochs").mkdir(parents=True)
    state = torch.load(tiny_models["ctcot"] / "model.pth")
    other = {k: v + 0.05 * torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}
    torch.save(other, exp / "epochs" / "1epoch.pth")
    torch.save(state, exp / "2epoch.pth")
    out = tmp_path / "gap"
    assert main(cli_args(tiny_models, "ctcot", "mt", out, "--num_plans", "0", "--curve_exp_dir", str(exp))) == 0
    rows = read_curve(out / "curves.tsv")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["model"] for r in rows] == [str(exp / "epochs" / "1epoch.pth"), str(exp / "2epoch.pth")]
    gap = json.loads((out / "gap.json").read_text())
    for key in CURVE_FIGURES:
        if key == "zero_shot_bleu":
            assert rows[1][key] is None  # not asked for
        else:
            assert rows[1][key] == pytest.approx(gap[key], rel=1e-5, abs=1e-9)
    assert rows[0]["sinkhorn"] != pytest.approx(rows[1]["sinkhorn"])
    assert (out / "curves.png").stat().st_size > 10_000

    assert main(cli_args(tiny_models, "ctcot", "mt", tmp_path / "none", "--curve_exp_dir", str(tmp_path))) == 1


def test_cli_batched_figures_equal_one_utterance_alone(tiny_models, tmp_path):
    """An ESPnet ASR (CE) speech encoder against a CTC+OT model's text encoder: per_utt.tsv's
    values, computed in padded batches, equal those of each utterance encoded alone."""
    out = tmp_path / "gap"
    assert main(cli_args(tiny_models, "asr", "ctcot", out, "--num_plans", "0", "--ot_position_weight", "0.5")) == 0
    gap = json.loads((out / "gap.json").read_text())
    assert (gap["speech_model"]["task"], gap["text_model"]["task"]) == ("asr", "ctcot")
    assert gap["ot"]["position_weight"] == 0.5
    assert not list(out.glob("plan_*.png")) and (out / "projection.png").is_file()
    rows = {r["utt_id"]: r for r in read_per_utt(out / "per_utt.tsv")}

    speech = load_encoder(tiny_models["asr"] / "config.yaml", tiny_models["asr"] / "model.pth", "asr")
    text = load_encoder(tiny_models["ctcot"] / "config.yaml", tiny_models["ctcot"] / "model.pth", "ctcot")
    for utt in tiny_models["utts"][:3]:
        ids = tokenize(text, {utt: tiny_models["transcripts"][utt]})[utt]
        assert len(ids) == len(tiny_models["transcripts"][utt].split())
        s = encode_speech(speech, [utt], tiny_models["data"] / "feats.scp", batch_size=1)[0]
        t = encode_text(text, [ids], batch_size=1)[0]
        value = sinkhorn_divergence(s[None], torch.tensor([len(s)]), t[None], torch.tensor([len(t)]),
                                    options=SinkhornOptions(position_weight=0.5)).item()
        assert (int(rows[utt]["frames"]), int(rows[utt]["tokens"])) == (len(s), len(t))
        assert float(rows[utt]["sinkhorn"]) == pytest.approx(value, rel=1e-4)
        cosine = torch.nn.functional.cosine_similarity(s.mean(0), t.mean(0), dim=0).item()
        assert float(rows[utt]["cosine"]) == pytest.approx(cosine, abs=1e-5)


def test_cli_spaces_of_different_sizes_get_only_cka(tiny_models, tmp_path, caplog):
    out = tmp_path / "gap"
    assert main(cli_args(tiny_models, "ctc16", "mt", out)) == 0
    gap = json.loads((out / "gap.json").read_text())
    assert (gap["speech_model"]["dim"], gap["text_model"]["dim"]) == (16, 32)
    assert 0 < gap["linear_cka"] <= 1
    assert all(gap[k] is None for k in ("sinkhorn", "cosine_margin", "retrieval_top1", "retrieval_top5"))
    assert {r["sinkhorn"] for r in read_per_utt(out / "per_utt.tsv")} == {"NA"}
    assert not list(out.glob("*.png")) and "only linear_cka" in caplog.text
    # a CTC-only model has no text side
    caplog.clear()
    assert main(cli_args(tiny_models, "asr", "ctc16", tmp_path / "other")) == 1
    assert "has no text encoder" in caplog.text


def test_cli_rejects_invalid_ot_options_before_loading_models(tmp_path, capsys):
    models = {name: tmp_path / "missing" for name in ("ctcot", "mt", "data")}
    with pytest.raises(SystemExit) as exit_info:
        main(cli_args(models, "ctcot", "mt", tmp_path / "out", "--ot_scaling", "1.5"))
    assert exit_info.value.code == 2
    assert "scaling must lie in (0, 1), got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_errors_name_the_file(tiny_models, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    data = tmp_path / "dev"
    data.mkdir()
    (data / "text.words").write_text((tiny_models["data"] / "text.words").read_text())
    args = cli_args(tiny_models, "ctcot", "mt", tmp_path / "out")
    args[args.index("--data_dir") + 1] = str(data)
    assert main(args) == 1
    assert f"{data}/feats.scp: no such file" in caplog.text

    # an utterance of feats.scp without transcript
    (data / "feats.scp").write_text((tiny_models["data"] / "feats.scp").read_text())
    lines = (tiny_models["data"] / "text.words").read_text().splitlines(True)
    (data / "text.words").write_text("".join(lines[:2] + lines[3:]))
    caplog.clear()
    assert main(args) == 1
    assert f"{data}/text.words: no transcript for 1 utterance(s)" in caplog.text
    assert tiny_models["utts"][2] in caplog.text

    # a checkpoint of another model
    args = cli_args(tiny_models, "ctcot", "mt", tmp_path / "out")
    args[args.index("--speech_model") + 1] = str(tiny_models["mt"] / "model.pth")
    caplog.clear()
    assert main(args) == 1
    assert "model.pth does not fit the ctcot model" in caplog.text
    assert not (tmp_path / "out").exists()
