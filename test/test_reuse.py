"""ctcot.init_param: checkpoints checked against the model part they initialise, token lists against each other."""
import pytest
import torch
import yaml
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

from ctcot.init_param import init_param_problems, parse_init_param, token_list_problem


class Model(torch.nn.Module):
    def __init__(self, layers=2, dim=4, vocab=5):
        super().__init__()
        self.encoder = torch.nn.Sequential(*(torch.nn.Linear(dim, dim) for _ in range(layers)))
        self.decoder = torch.nn.Embedding(vocab, dim)


def saved(tmp_path, name, model):
    path = tmp_path / f"{name}.pth"
    torch.save(model.state_dict(), path)
    return str(path)


def test_parse_init_param_as_espnet():
    assert parse_init_param("a.pth") == ("a.pth", None, None, [])
    assert parse_init_param("a.pth:decoder:decoder") == ("a.pth", "decoder", "decoder", [])
    assert parse_init_param("a.pth::decoder:decoder.embed,x") == ("a.pth", None, "decoder", ["decoder.embed", "x"])
    with pytest.raises(ValueError, match="a.pth:a:b:c:d: expected <file>:<src_key>:<dst_key>:<excludes>"):
        parse_init_param("a.pth:a:b:c:d")


def test_a_fitting_part_has_no_problem_and_loads_equal(tmp_path):
    source, target = Model(), Model()
    spec = f"{saved(tmp_path, 'src', source)}:encoder:encoder"
    assert init_param_problems(target, spec) == []
    load_pretrained_model(spec, target, ignore_init_mismatch=False)
    for a, b in zip(source.encoder.parameters(), target.encoder.parameters()):
        assert torch.equal(a, b)


def test_missing_tensors_are_named(tmp_path):
    """ESPnet loads a 1-layer encoder into a 2-layer one without a word; the check names what stays random."""
    spec = f"{saved(tmp_path, 'small', Model(layers=1))}:encoder:encoder"
    target = Model(layers=2)
    load_pretrained_model(spec, target, ignore_init_mismatch=False)  # no error from ESPnet
    (problem,) = init_param_problems(target, spec)
    assert "2 tensor(s) would keep their random values: 1.weight, 1.bias" in problem


def test_other_shapes_and_leftovers_are_named(tmp_path):
    shapes = init_param_problems(Model(vocab=5), f"{saved(tmp_path, 'v7', Model(vocab=7))}:decoder:decoder")
    assert shapes == [f"{tmp_path}/v7.pth:decoder -> decoder: other shapes (checkpoint vs model): "
                      "weight (7, 4) vs (5, 4)"]
    leftovers = init_param_problems(Model(layers=1), f"{saved(tmp_path, 'big', Model(layers=2))}:encoder:encoder")
    assert len(leftovers) == 1 and "2 tensor(s) have no place in the model: 1.weight, 1.bias" in leftovers[0]
    absent = f"{tmp_path}/none.pth"
    assert init_param_problems(Model(), f"{absent}:encoder:encoder") == [f"{absent} does not exist"]
    assert "no tensor under 'nothing'" in init_param_problems(Model(), f"{tmp_path}/big.pth:nothing:encoder")[0]


def test_token_lists_compared_with_both_named(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"token_list": ["<blank>", "<unk>", "a", "b", "<sos/eos>"],
                                      "src_token_list": ["<blank>", "<unk>", "a", "c", "<sos/eos>"]}))
    assert token_list_problem(config, "token_list", tokens) is None
    problem = token_list_problem(config, "src_token_list", tokens)
    assert str(config) in problem and str(tokens) in problem
    assert "first difference at token 3: 'c' vs 'b'" in problem
    assert token_list_problem(config, "missing_list", tokens) == f"{config} has no missing_list"


def test_check_init_program_lists_the_problems(tmp_path, caplog):
    """python -m ctcot.bin.check_init: exit 1 naming both token lists; 0 when they are equal."""
    from ctcot.bin.check_init import main

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\na\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"token_list": ["<blank>", "a"], "src_token_list": ["<blank>", "b"]}))
    assert main(["--task", "st", "--same_tokens", f"{config}:token_list={tokens}"]) == 0
    assert main(["--task", "st", "--same_tokens", f"{config}:src_token_list={tokens}"]) == 1
    assert f"{config} src_token_list has 2 tokens, {tokens} has 2" in caplog.text
    assert main(["--task", "st", "--same_tokens", "no_key_here"]) == 1


def test_localize_config_makes_the_recipes_paths_absolute(tmp_path):
    """A model's config from another recipe: its feature statistics and SentencePiece model are found
    in the recipe directory above it; inline token lists and absolute paths are kept."""
    from ctcot.init_param import localize_config

    recipe = tmp_path / "other" / "st1"
    (recipe / "dump/fbank/train").mkdir(parents=True)
    (recipe / "dump/fbank/train/feats_stats.npz").write_bytes(b"x")
    (recipe / "exp/pretrain").mkdir(parents=True)
    (recipe / "data/token_list/src").mkdir(parents=True)
    (recipe / "data/token_list/src/bpe.model").write_bytes(b"x")
    config = recipe / "exp/pretrain/config.yaml"
    settings = {"normalize_conf": {"stats_file": "dump/fbank/train/feats_stats.npz"}, "src_token_list": ["a", "b"],
                "src_bpemodel": "data/token_list/src/bpe.model", "bpemodel": None, "token_list": "/abs/tokens.txt"}
    config.write_text(yaml.safe_dump(settings))
    output = tmp_path / "here/speech_config.yaml"
    assert localize_config(config, output) == ["normalize_conf.stats_file", "src_bpemodel"]
    localized = yaml.safe_load(output.read_text())
    assert localized["normalize_conf"]["stats_file"] == str(recipe / "dump/fbank/train/feats_stats.npz")
    assert localized["src_bpemodel"] == str(recipe / "data/token_list/src/bpe.model")
    assert {k: localized[k] for k in ("src_token_list", "bpemodel", "token_list")} == \
           {k: settings[k] for k in ("src_token_list", "bpemodel", "token_list")}

    settings["normalize_conf"]["stats_file"] = "dump/fbank/train_sp/feats_stats.npz"
    config.write_text(yaml.safe_dump(settings))
    with pytest.raises(ValueError, match="normalize_conf.stats_file is dump/fbank/train_sp/feats_stats.npz, "
                                         "which exists in no directory above"):
        localize_config(config, output)
