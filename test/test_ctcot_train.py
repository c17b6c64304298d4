"""python -m ctcot.bin.ctcot_train: statistics pass, training, a resumed run and the models of every epoch
(--keep_epoch_models), on generated audio."""
import os
import subprocess
import sys

import torch
import yaml


def run_train(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "ctcot.bin.ctcot_train", *map(str, args)],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def test_collect_stats_train_and_resume(tiny_corpus, tmp_path):
    c = tiny_corpus
    common = [
        "--ngpu", 0, "--config", c["config"],
        "--src_token_list", c["tokens"], "--src_token_type", "bpe", "--src_bpemodel", c["bpemodel"],
        "--train_data_path_and_name_and_type", f"{c['train']}/wav.scp,speech,sound",
        "--train_data_path_and_name_and_type", f"{c['train']}/text,src_text,text",
        "--valid_data_path_and_name_and_type", f"{c['dev']}/wav.scp,speech,sound",
        "--valid_data_path_and_name_and_type", f"{c['dev']}/text,src_text,text",
    ]
    stats = tmp_path / "stats"
    run_train(*common, "--collect_stats", "true", "--train_shape_file", f"{c['train']}/wav.scp",
              "--valid_shape_file", f"{c['dev']}/wav.scp", "--output_dir", stats, cwd=tmp_path)
    assert (stats / "train" / "feats_stats.npz").is_file()
    speech_shapes = (stats / "train" / "speech_shape").read_text().split("\n")
    assert len([s for s in speech_shapes if s]) == 12

    exp = tmp_path / "exp"
    train = [
        *common, "--normalize", "global_mvn", "--normalize_conf", f"stats_file={stats}/train/feats_stats.npz",
        "--train_shape_file", stats / "train" / "speech_shape",
        "--train_shape_file", stats / "train" / "src_text_shape",
        "--valid_shape_file", stats / "valid" / "speech_shape",
        "--valid_shape_file", stats / "valid" / "src_text_shape",
        "--fold_length", 80000, "--fold_length", 150, "--output_dir", exp, "--keep_epoch_models", "true",
    ]
    log = run_train(*train, "--max_epoch", 1, cwd=tmp_path)
    assert "1epoch results: [train]" in log and "loss_ot=" in log and "cer_ctc=" in log
    assert "speech_text_cos=" in log and "speech_text_r1=" in log  # validation's similarity
    assert (exp / "1epoch.pth").is_file() and (exp / "valid.loss.best.pth").is_file()
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["model_conf"]["ot_weight"] == 0.1 and config["src_token_list"][0] == "<blank>"
    first_epoch = torch.load(exp / "1epoch.pth", map_location="cpu")

    log = run_train(*train, "--max_epoch", 2, "--resume", "true", cwd=tmp_path)
    assert "1/2epoch started" not in log and "2/2epoch started" in log and "2epoch results" in log
    second_epoch = torch.load(exp / "2epoch.pth", map_location="cpu")
    assert any(k.startswith("text_encoder.") for k in second_epoch)
    # the resumed run trained on from the first epoch's weights
    name = "encoder.encoders.0.feed_forward.w_1.weight"
    assert not torch.equal(first_epoch[name], second_epoch[name])

    # keep_nbest_models is 1: ESPnet deleted one of the two epochs' models; both are kept in epochs/.
    assert len(list(exp.glob("[12]epoch.pth"))) == 1
    kept = {p.name: torch.load(p, map_location="cpu") for p in (exp / "epochs").glob("*.pth")}
    assert sorted(kept) == ["1epoch.pth", "2epoch.pth"]
    assert torch.equal(kept["1epoch.pth"][name], first_epoch[name])
    assert torch.equal(kept["2epoch.pth"][name], second_epoch[name])
    from ctcot.trainer import epoch_models
    assert list(epoch_models(exp)) == [1, 2]
