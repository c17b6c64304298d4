"""The paper's configs (egs2/must_c/st1/conf/{medium,large}, shared by CoVoST-2): they build with
ESPnet, their hyper-parameters are the paper's, and each initialisation of st.sh finds matching shapes."""
from pathlib import Path

import pytest
import yaml

CONF = Path(__file__).resolve().parents[1] / "egs2" / "must_c" / "st1" / "conf"
PRETRAIN = ["ce", "ctc", "ctc_ce", "ctc_ot"]
SIZES = {"medium": (512, 2048, 8), "large": (1024, 4096, 16)}


def load(size, name):
    return yaml.safe_load((CONF / size / f"{name}.yaml").read_text())


@pytest.mark.parametrize("size", sorted(SIZES))
def test_hyperparameters_are_the_papers(size):
    d, ffn, heads = SIZES[size]
    st = load(size, "train_st")
    assert st["encoder_conf"]["num_blocks"] == 12 and st["encoder_conf"]["input_layer"] == "conv2d"
    assert st["decoder_conf"]["num_blocks"] == 6
    assert load(size, "pretrain_ctc_ot")["text_encoder_conf"]["num_blocks"] == 6
    for name in ["train_mt", "train_st"] + [f"pretrain_{p}" for p in PRETRAIN]:
        config = load(size, name)
        encoder = config["encoder_conf"]
        assert (encoder["output_size"], encoder["linear_units"], encoder["attention_heads"]) == (d, ffn, heads), name
        assert encoder["dropout_rate"] == 0.2 and encoder["normalize_before"], name
        assert config["optim"] == "adam" and config["optim_conf"] == {"lr": 0.002, "betas": [0.9, 0.98]}, name
        assert config["scheduler_conf"] == {"warmup_steps": 10000} and config["grad_clip"] == 10, name
        assert config["keep_nbest_models"] == 10, name  # st.sh averages them
        assert config["batch_type"] == "length", name  # numel would count target tokens x vocabulary
        if "specaug" in config:
            assert config["specaug_conf"]["apply_freq_mask"] and config["specaug_conf"]["apply_time_mask"], name
        if "lsm_weight" in config.get("model_conf", {}):
            assert config["model_conf"]["lsm_weight"] == 0.1, name
    assert load(size, "pretrain_ctc_ot")["model_conf"]["ot_weight"] == 0.1
    assert load(size, "decode_st")["beam_size"] == 5


@pytest.mark.parametrize("size", sorted(SIZES))
def test_initialised_parts_have_the_same_shapes(size):
    """st.sh stage 7 loads the MT encoder into the text encoder; stage 8 the pre-trained encoder and
    the MT decoder into the ST model."""
    st, mt, ctc_ot = load(size, "train_st"), load(size, "train_mt"), load(size, "pretrain_ctc_ot")
    assert ctc_ot["text_encoder_conf"] == {**mt["encoder_conf"], "input_layer": None}
    assert ctc_ot["text_frontend_conf"]["embed_dim"] == mt["frontend_conf"]["embed_dim"]
    assert st["decoder_conf"] == mt["decoder_conf"]
    for kind in PRETRAIN:
        assert load(size, f"pretrain_{kind}")["encoder_conf"] == st["encoder_conf"], kind


def test_medium_models_build_with_espnet_and_share_shapes(tmp_path):
    from espnet2.tasks.asr import ASRTask
    from espnet2.tasks.mt import MTTask
    from espnet2.tasks.st import STTask

    from ctcot.st_task import MultitaskSTTask
    from ctcot.task import CTCOTTask

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(["<blank>", "<unk>", *[f"t{i}" for i in range(100)], "<sos/eos>"]) + "\n")

    def build(task, name, *args):
        parsed = task.get_parser().parse_args(["--config", str(CONF / "medium" / f"{name}.yaml"), *map(str, args)])
        return {k: v.shape for k, v in task.build_model(parsed).state_dict().items()}

    st = build(STTask, "train_st", "--token_list", tokens, "--src_token_list", tokens, "--input_size", 80)
    mt = build(MTTask, "train_mt", "--token_list", tokens, "--src_token_list", tokens)
    ctc_ot = build(CTCOTTask, "pretrain_ctc_ot", "--src_token_list", tokens, "--input_size", 80)
    ce = build(ASRTask, "pretrain_ce", "--token_list", tokens, "--input_size", 80)
    multitask = build(MultitaskSTTask, "train_st_multitask", "--token_list", tokens, "--src_token_list", tokens,
                      "--input_size", 80)

    def part(shapes, prefix):
        return {k[len(prefix):]: v for k, v in shapes.items() if k.startswith(prefix)}

    assert part(ctc_ot, "encoder.") == part(st, "encoder.") == part(ce, "encoder.")
    assert part(ctc_ot, "text_encoder.") == part(mt, "encoder.")
    assert part(mt, "decoder.") == part(st, "decoder.") == part(multitask, "decoder.")
    assert part(multitask, "extra_mt_encoder.encoder.") == part(mt, "encoder.")
    assert part(multitask, "extra_mt_encoder.frontend.") == part(mt, "frontend.")
    assert part(multitask, "ctc.") == part(ctc_ot, "ctc.")
    assert {k: v for k, v in multitask.items() if not k.startswith(("extra_mt_encoder.", "ctc."))} == st
    assert 65e6 < sum(s.numel() for s in st.values()) < 75e6  # 70.5M with this 103-token vocabulary


MULTITASK_CONFS = [CONF / "medium", CONF / "large", CONF.parents[2] / "mini_st" / "st1" / "conf",
                   CONF.parents[2] / "mini_st" / "st1" / "conf" / "tiny"]


@pytest.mark.parametrize("conf", MULTITASK_CONFS, ids=lambda c: "/".join(c.parts[-4:]))
def test_multitask_st_differs_from_vanilla_only_in_its_losses(conf):
    """train_st_multitask.yaml is train_st.yaml plus the auxiliary losses and the MT branch's text
    encoder (shaped as train_mt.yaml's, which initialises it): the same budget as vanilla ST."""
    st, multitask, mt = (yaml.safe_load((conf / f"{name}.yaml").read_text())
                         for name in ("train_st", "train_st_multitask", "train_mt"))
    text_keys = ("text_frontend", "text_frontend_conf", "text_encoder", "text_encoder_conf")
    assert {k: v for k, v in multitask.items() if k not in ("model_conf", *text_keys)} == \
           {k: v for k, v in st.items() if k != "model_conf"}
    weights = ("asr_weight", "mt_weight", "mtlalpha")
    assert {k: v for k, v in multitask["model_conf"].items() if k not in weights} == \
           {k: v for k, v in st["model_conf"].items() if k not in weights}
    assert [multitask["model_conf"][k] for k in weights] == [0.3, 0.3, 1.0]
    assert (multitask["text_frontend"], multitask["text_encoder"]) == (mt["frontend"], mt["encoder"])
    assert multitask["text_frontend_conf"] == mt["frontend_conf"]
    assert multitask["text_encoder_conf"] == mt["encoder_conf"]
