"""The contract between st.sh and ctcot.recipe, in milliseconds: the stages, the pre-training table,
what st.sh derives from its options (ctcot.recipe.recipe_settings), and the option errors that stop
st.sh before anything runs. (test_mini_st_recipe.py runs the stages themselves.)"""
import importlib.util
import re
import subprocess
import sys

import pytest
from conftest import REPO, copy_recipe
from conftest import run_recipe as run

from ctcot import InputError
from ctcot.recipe import (
    CASCADE_NAME,
    LAST_STAGE,
    PRETRAININGS,
    PRETRAINS,
    STAGES,
    decoding_name,
    experiment_name,
    gap_name,
    recipe_settings,
    stage_number,
)

ST_SH = REPO / "egs2" / "TEMPLATE" / "st1" / "st.sh"
CONF = REPO / "egs2" / "mini_st" / "st1" / "conf"


def st_sh_defaults():
    """st.sh's options and their defaults, read from its option block as its --help reads them."""
    block = ST_SH.read_text().split("# General\n", 1)[1].split("# Every option", 1)[0]
    return {name: value.strip('"') for name, value in re.findall(r'^([a-z0-9_]+)=("[^"]*"|[^ \n]*)', block, re.M)}


def settings(**options):
    """recipe_settings of st.sh's defaults with ``options``, the configs in the mini recipe's conf/."""
    return recipe_settings({**st_sh_defaults(), "conf_dir": str(CONF), **options})


def targets(init_params):
    """``MODEL:SOURCE:TARGET ...`` -> [(model's file name, SOURCE, TARGET), ...]"""
    return [(model.rsplit("/", 1)[-1], source, target)
            for model, source, target in (item.split(":") for item in init_params.split())]


def test_st_sh_help_lists_the_stages_of_ctcot_recipe():
    """Renumbering, adding or removing a stage in st.sh fails here until ctcot.recipe.STAGES says the same."""
    help_text = subprocess.run([str(ST_SH), "--help"], capture_output=True, text=True, timeout=60).stdout
    stages_text = help_text.split("Stages:\n", 1)[1].split("\nA stage skips", 1)[0]
    listed = re.findall(r"^  (\d+): (.*)$", stages_text, flags=re.M)
    assert [int(number) for number, _ in listed] == [stage.number for stage in STAGES]
    for (_, line), stage in zip(listed, STAGES):
        assert line.startswith(stage.summary), (line, stage)
    assert f"--stop_stage [{LAST_STAGE}]" in help_text
    pretrain_line = next(line for number, line in listed if int(number) == stage_number("pretrain"))
    assert re.search(r"--pretrain (\S+)", pretrain_line).group(1).split("|") == list(PRETRAINS)


def test_st_sh_stage_blocks_run_their_own_stage():
    """Each stage's block (``if runs N``) logs ``Stage N:``, so the code's numbers are the help's."""
    blocks = re.split(r"^if runs (\d+)(?:; then| &&)", ST_SH.read_text(), flags=re.M)
    logged = {int(number): set(map(int, re.findall(r'log "Stage (\d+):', body)))
              for number, body in zip(blocks[1::2], blocks[2::2]) if re.search(r'log "Stage \d+:', body)}
    assert sorted(logged) == [stage.number for stage in STAGES]
    assert all(numbers == {number} for number, numbers in logged.items()), logged


@pytest.mark.parametrize("name", PRETRAINS)
def test_each_pretraining_row_names_a_program_and_a_config_that_exist(name):
    row = PRETRAININGS[name]
    if name == "none":
        assert row.program == "" and settings(pretrain="none")["pretrain_init_args"] == ""
        return
    assert importlib.util.find_spec(row.program) is not None, row.program
    for conf_dir in (CONF, CONF / "tiny"):
        assert (conf_dir / row.config).is_file(), conf_dir / row.config
    out = settings(pretrain=name)
    assert out["pretrain_program"] == row.program and out["pretrain_config"] == f"{CONF}/{row.config}"
    assert out["pretrain_transcript"] == row.transcript
    # ESPnet's ASR task takes --token_list, ctcot's --src_token_list
    assert out["pretrain_token_args"].split()[::2] == [f"--{row.token_option_prefix}{key}"
                                                       for key in ("token_type", "token_list", "bpemodel")]


def test_ctc_ot_initialises_its_text_encoder_from_mt_and_frozen_adds_the_freeze():
    ctc_ot, frozen, ctc = settings(pretrain="ctc_ot"), settings(pretrain="ctc_ot_frozen"), settings(pretrain="ctc")
    expected = [("valid.acc.ave.pth", "frontend", "text_frontend"), ("valid.acc.ave.pth", "encoder", "text_encoder")]
    assert targets(ctc_ot["pretrain_init_params"]) == targets(frozen["pretrain_init_params"]) == expected
    assert ctc_ot["pretrain_init_args"] == "--init_param " + ctc_ot["pretrain_init_params"]
    assert frozen["pretrain_init_args"] == ctc_ot["pretrain_init_args"] + " --model_conf text_encoder_freeze=true"
    assert ctc_ot["pretrain_same_tokens"] == "exp/mt_train_mt/config.yaml:src_token_list=data/token_list/" \
                                             "src_bpe_unigram1000/tokens.txt"
    assert ctc["pretrain_init_params"] == ctc["pretrain_init_args"] == ctc["pretrain_same_tokens"] == ""
    assert frozen["pretrain_config"] == ctc_ot["pretrain_config"]  # ctc_ot_frozen trains with ctc_ot's config
    assert ctc_ot["gap_own_text_dir"] == "exp/pretrain_ctc_ot/modality_gap_dev_own_text"
    assert frozen["gap_own_text_dir"] == ""  # its text encoder is the MT encoder


@pytest.mark.parametrize("options, st_tag, program, expected", [
    (dict(pretrain="ctc_ot"), "ctc_ot_mtdec", "espnet2.bin.st_train",
     [("valid.loss.ave.pth", "encoder", "encoder"), ("valid.acc.ave.pth", "decoder", "decoder")]),
    (dict(pretrain="none", st_init_decoder_from_mt="false"), "none", "espnet2.bin.st_train", []),
    (dict(pretrain="ce", st_init_decoder_from_mt="false"), "ce", "espnet2.bin.st_train",
     [("valid.loss.ave.pth", "encoder", "encoder")]),
    (dict(pretrain="ctc_ce", st_multitask="true"), "ctc_ce_mtdec_multitask", "ctcot.bin.st_train",
     [("valid.loss.ave.pth", "encoder", "encoder"), ("valid.loss.ave.pth", "ctc", "ctc"),
      ("valid.acc.ave.pth", "decoder", "decoder"), ("valid.acc.ave.pth", "frontend", "extra_mt_encoder.frontend"),
      ("valid.acc.ave.pth", "encoder", "extra_mt_encoder.encoder")]),
    (dict(pretrain="ce", st_multitask="true", st_init_decoder_from_mt="false"), "ce_multitask", "ctcot.bin.st_train",
     [("valid.loss.ave.pth", "encoder", "encoder"), ("valid.acc.ave.pth", "frontend", "extra_mt_encoder.frontend"),
      ("valid.acc.ave.pth", "encoder", "extra_mt_encoder.encoder")]),
    (dict(pretrain="ctc_ot_frozen", st_multitask="true", st_init_text_encoder_from="pretrain"),
     "ctc_ot_frozen_mtdec_multitask", "ctcot.bin.st_train",
     [("valid.loss.ave.pth", "encoder", "encoder"), ("valid.loss.ave.pth", "ctc", "ctc"),
      ("valid.acc.ave.pth", "decoder", "decoder"),
      ("valid.loss.ave.pth", "text_frontend", "extra_mt_encoder.frontend"),
      ("valid.loss.ave.pth", "text_encoder", "extra_mt_encoder.encoder")]),
])
def test_what_st_training_starts_from(options, st_tag, program, expected):
    out = settings(**options)
    assert out["st_tag"] == st_tag and out["st_exp"] == f"exp/st_{st_tag}" and out["st_program"] == program
    assert targets(out["st_init_params"]) == expected
    assert out["st_uses_mt"] == ("true" if any(model == "valid.acc.ave.pth" for model, _, _ in expected) else "false")
    # The ST signature of earlier versions: "--init_param" and the maps, two spaces apart.
    assert out["st_init_args"] == ("--init_param  " + out["st_init_params"] if expected else "")
    # Every model whose token embedding or output layer is loaded has its token list checked.
    keys = [item.split(":")[1].split("=")[0] for item in out["st_same_tokens"].split()]
    maps = [(source, target) for _, source, target in expected]
    source_key = PRETRAININGS[options["pretrain"]].token_option_prefix + "token_list"
    assert keys == [key for loaded, key in ((("ctc", "ctc"), source_key), (("decoder", "decoder"), "token_list"),
                                            (("encoder", "extra_mt_encoder.encoder"), "src_token_list"))
                    if loaded in maps]


@pytest.mark.parametrize("options, need_mt", [
    (dict(pretrain="ctc_ot", st_init_decoder_from_mt="false"), "true"),
    (dict(pretrain="ctc", st_init_decoder_from_mt="true"), "true"),
    (dict(pretrain="ctc", st_init_decoder_from_mt="false"), "false"),
    (dict(pretrain="ce", st_init_decoder_from_mt="false", st_multitask="true"), "true"),
    (dict(pretrain="ctc_ot_frozen", st_init_decoder_from_mt="false", st_multitask="true",
          st_init_text_encoder_from="pretrain"), "true"),
])
def test_stage6_trains_mt_when_a_later_stage_loads_it(options, need_mt):
    assert settings(**options)["need_mt"] == need_mt


def test_names_of_data_and_experiments():
    out = settings(src_token_type="phn", tgt_nbpe="300", speed_perturb_factors="0.9 1.0 1.1", tgt_lang="mul",
                   mt_model="../other/exp/mt_big/model.pth", pretrain_tag="mine", valid_set="dev.en-de")
    assert out["train_set_sp"] == "train_sp" and out["src_text"] == "text.phn.en" and out["src_bpemodel"] == "none"
    assert out["src_tokendir"] == "data/token_list/src_phn" and out["src_espnet_token_type"] == "word"
    assert out["tgt_tokendir"] == "data/token_list/tgt_bpe_unigram300" and out["lang_tag_opt"] == "--lang_tags"
    assert out["external_mt"] == "true" and out["mt_model_config"] == "../other/exp/mt_big/config.yaml"
    assert out["external_pretrain"] == "false" and out["pretrain_model"] == "exp/pretrain_mine/valid.loss.ave.pth"
    assert out["mt_inference_tag"] == "decode_decode_st_model" == decoding_name(out["inference_config"], "model.pth")
    assert out["inference_tag"] == "decode_decode_st_valid.acc.ave"
    assert out["gap_dir"] == f"exp/{experiment_name('pretrain', 'mine')}/{gap_name('dev.en-de')}"
    assert out["zero_shot_dir"] == "exp/pretrain_mine/zero_shot"
    assert out["cascade_dir"] == "exp/pretrain_mine/cascade"
    assert settings(mt_model="model.pth")["mt_model_config"] == "./config.yaml"  # as the shell's dirname
    assert settings(st_multitask="true")["st_config"] == f"{CONF}/train_st_multitask.yaml"


@pytest.mark.parametrize("name", PRETRAINS)
def test_stage12_has_a_cascade_for_ctc_pretrainings_only(name):
    """st.sh skips the cascade where cascade_dir is empty: no CTC to transcribe with."""
    expected = f"exp/pretrain_{name}/{CASCADE_NAME}" if PRETRAININGS[name].ctc else ""
    assert settings(pretrain=name)["cascade_dir"] == expected
    assert (expected != "") == (name in ("ctc", "ctc_ce", "ctc_ot", "ctc_ot_frozen", "ctc_compress_ot"))


def test_every_setting_is_used_by_st_sh():
    """A value ctcot.recipe derives that st.sh never reads is dead; one st.sh reads that it does not set, a bug
    (st.sh runs with set -u)."""
    text = ST_SH.read_text()
    unused = [name for name in settings() if not re.search(r"\$\{?" + name + r"\b", text)]
    assert unused == []


@pytest.mark.parametrize("options, message", [
    (dict(pretrain="ctc_of"), "unknown pre-training 'ctc_of': expected one of none, ce,"),
    (dict(src_token_type="char"), "--src_token_type char: expected bpe or phn"),
    (dict(pretrain="ctc", st_multitask="true", st_init_text_encoder_from="pretrain"),
     "'ctc' has none (only ctc_ot, ctc_ot_frozen)"),
    (dict(st_multitask="true", st_init_text_encoder_from="asr"), "unknown text encoder initialisation 'asr'"),
])
def test_options_st_sh_cannot_use(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        settings(**options)


def test_ctcot_bin_recipe_prints_assignments_or_exits_2():
    def arguments(options):
        return [arg for name, value in options.items() for arg in ("--set", f"{name}={value}")]

    options = st_sh_defaults()
    good = subprocess.run([sys.executable, "-m", "ctcot.bin.recipe", *arguments({**options, "st_tag": "my tag"})],
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "st_exp='exp/st_my tag'\n" in good.stdout  # quoted for eval
    del options["pretrain"]
    missing = subprocess.run([sys.executable, "-m", "ctcot.bin.recipe", *arguments(options)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "st.sh did not pass its option --pretrain" in missing.stderr


def test_an_unknown_pretraining_stops_st_sh(tmp_path):
    recipe = copy_recipe(tmp_path, "mini_st")
    result = run(recipe, "--pretrain", "ctc_of", check=False)
    assert result.returncode == 2 and "unknown pre-training 'ctc_of': expected one of none, ce," in result.stderr
    assert not (recipe / "data").exists()


@pytest.mark.parametrize("args, message", [
    (["--max_wav_duration", "3O"], "--max_wav_duration '3O': expected a decimal number"),
    (["--min_wav_duration", "abc"], "--min_wav_duration 'abc': expected a decimal number"),
    (["--inference_batch_bins", "-5"], "--inference_batch_bins '-5': expected a whole number"),
    (["--ngpu", "abc", "--nj", "2.5"], "--nj '2.5': expected a whole number"),
    (["--inference_nj", "0"], "--inference_nj 0: expected at least 1"),
    (["--min_wav_duration", "40"], "--min_wav_duration 40 is not below --max_wav_duration 30"),
])
def test_numeric_options_are_checked_before_any_stage(tmp_path, args, message):
    """Once, '3O' became 3 s in awk and dropped an utterance; 'abc' as --nj failed only in its stage."""
    recipe = copy_recipe(tmp_path, "mini_st")
    result = run(recipe, *args, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (recipe / "data").exists() and not (recipe / "exp").exists()


def test_config_digest_is_of_the_meaning(tmp_path):
    from ctcot.recipe import config_digest

    base = tmp_path / "a.yaml"
    base.write_text("optim: adam\noptim_conf:\n    lr: 0.002\nmax_epoch: 5\n")
    same = tmp_path / "b.yaml"
    same.write_text("# a comment\nmax_epoch: 5   # epochs\n\noptim_conf: {lr: 0.002}\noptim: 'adam'\n")
    other = tmp_path / "c.yaml"
    other.write_text("optim: adam\noptim_conf:\n    lr: 0.001\nmax_epoch: 5\n")
    assert config_digest(base) == config_digest(same) != config_digest(other)
    assert config_digest(tmp_path / "missing.yaml") == ""
    broken = tmp_path / "broken.yaml"
    broken.write_text("optim: adam\nbad: [\n")
    with pytest.raises(ValueError, match=r"broken.yaml is not valid YAML, line 3, column 1: expected the node content"):
        config_digest(broken)


# --- faults: nothing finished is lost, nothing false is reported -----------------------------------

@pytest.mark.parametrize("args", [["--stage", "abc"], ["--stop_stage", "xyz"], ["--stage", str(LAST_STAGE + 1)],
                                  ["--stage", "0"], ["--stage", "9", "--stop_stage", "3"]])
def test_bad_stage_numbers_are_errors(tmp_path, args):
    recipe = copy_recipe(tmp_path, "mini_st")
    result = run(recipe, *args, check=False)
    assert result.returncode == 2 and "Successfully finished" not in result.stdout
    assert f"stages 1 to {LAST_STAGE}" in result.stdout or f"from 1 to {LAST_STAGE}" in result.stdout
    assert not (recipe / "data").exists()


def test_st_sh_from_another_directory_says_where_to_run_it(tmp_path):
    st_sh = copy_recipe(tmp_path, "mini_st") / "st.sh"
    result = subprocess.run([str(st_sh)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "run st.sh from its recipe directory" in result.stdout
    help_text = subprocess.run([str(st_sh), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "Stages:" in help_text.stdout




def test_ctc_compress_ot_hands_its_whole_encoder_stack_to_st():
    """Stage 7 loads the MT model's frontend and encoder into the stack; stage 8 trains with the ST config
    rewritten with the stack (in the pre-training's experiment), with ctcot's ST task, from the whole
    pre-trained encoder and the MT decoder; multi-task ST is refused."""
    out = settings(pretrain="ctc_compress_ot")
    assert out["pretrain_config"] == f"{CONF}/pretrain_ctc_compress_ot.yaml"
    assert targets(out["pretrain_init_params"]) == [("valid.acc.ave.pth", "frontend", "encoder.mt_frontend"),
                                                    ("valid.acc.ave.pth", "encoder", "encoder.mt_encoder")]
    assert out["st_train_config"] == "exp/pretrain_ctc_compress_ot/train_st.yaml"
    assert (out["st_program"], out["st_task"]) == ("ctcot.bin.st_train", "st_multitask")
    assert targets(out["st_init_params"]) == [("valid.loss.ave.pth", "encoder", "encoder"),
                                              ("valid.acc.ave.pth", "decoder", "decoder")]
    assert out["st_uses_mt"] == "true" and out["need_mt"] == "true"
    ctc_ot = settings(pretrain="ctc_ot")
    assert ctc_ot["st_train_config"] == ctc_ot["st_config"] and ctc_ot["st_program"] == "espnet2.bin.st_train"
    with pytest.raises(InputError, match="multi-task ST .* is not built for --pretrain ctc_compress_ot"):
        settings(pretrain="ctc_compress_ot", st_multitask="true")
