"""ctcot.checkpoints and ctcot.bin.check_checkpoints: damaged checkpoints set aside, epoch models restored,
a full disk named."""
import shutil
from collections import namedtuple

import torch
from espnet2.train.reporter import Reporter

from ctcot import checkpoints
from ctcot.bin import check_checkpoints
from ctcot.checkpoints import damage, disk_full_message, set_aside_damaged


def save_training(exp, epoch):
    """What ESPnet's trainer leaves after ``epoch`` epochs: checkpoint.pth and <N>epoch.pth."""
    torch.manual_seed(epoch)
    model = {"encoder.weight": torch.randn(64, 64), "encoder.bias": torch.randn(64)}
    reporter = Reporter()
    for _ in range(epoch):
        reporter.set_epoch(reporter.get_epoch() + 1)
    exp.mkdir(exist_ok=True)
    torch.save({"model": model, "reporter": reporter.state_dict(), "optimizers": [], "schedulers": [],
                "scaler": None}, exp / "checkpoint.pth")
    torch.save(model, exp / f"{epoch}epoch.pth")
    return model


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_damage_finds_truncated_and_corrupt_files(tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"w": torch.arange(1000.0)}, path)
    assert damage(path) is None
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the tensor data
    path.write_bytes(bytes(data))
    assert "corrupt" in damage(path)
    truncate(path)
    assert "not a complete torch checkpoint" in damage(path)


def test_an_epoch_model_cut_short_is_set_aside_and_restored_from_the_checkpoint(tmp_path):
    """The disk filled up after checkpoint.pth, while 2epoch.pth was written (ESPnet's order)."""
    exp = tmp_path / "exp"
    save_training(exp, 1)
    model = save_training(exp, 2)
    (exp / "valid.acc.best.pth").symlink_to("2epoch.pth")
    truncate(exp / "2epoch.pth")
    moved = set_aside_damaged(exp)
    assert list(moved) == [exp / "2epoch.pth"]
    assert [p.name.split(".")[0] for p in (exp / "damaged").iterdir()] == ["2epoch"]
    restored = torch.load(exp / "2epoch.pth")
    assert all(torch.equal(restored[k], v) for k, v in model.items())
    assert torch.load(exp / "valid.acc.best.pth")["encoder.bias"].equal(model["encoder.bias"])
    assert set_aside_damaged(exp) == {}  # now whole


def test_a_missing_epoch_model_is_restored_and_a_damaged_checkpoint_means_a_fresh_start(tmp_path):
    exp = tmp_path / "exp"
    model = save_training(exp, 3)
    (exp / "3epoch.pth").unlink()  # the disk filled before the file was created
    assert set_aside_damaged(exp) == {}
    assert torch.load(exp / "3epoch.pth")["encoder.weight"].equal(model["encoder.weight"])

    truncate(exp / "checkpoint.pth", keep=0.9)
    assert list(set_aside_damaged(exp)) == [exp / "checkpoint.pth"]
    assert not (exp / "checkpoint.pth").exists() and (exp / "3epoch.pth").is_file()


def test_epoch_models_kept_in_epochs_are_checked_too(tmp_path):
    exp = tmp_path / "exp"
    save_training(exp, 1)
    (exp / "epochs").mkdir()
    shutil.copy(exp / "1epoch.pth", exp / "epochs" / "1epoch.pth")
    truncate(exp / "epochs" / "1epoch.pth")
    assert list(set_aside_damaged(exp)) == [exp / "epochs" / "1epoch.pth"]
    assert [p.name.split(".")[0] for p in (exp / "damaged").iterdir()] == ["epochs_1epoch"]


Usage = namedtuple("Usage", "total used free")


def test_disk_full_message_names_the_directory(tmp_path, monkeypatch):
    exp = tmp_path / "exp"
    save_training(exp, 1)
    assert disk_full_message(exp) is None  # this machine's disk has room
    monkeypatch.setattr(checkpoints.shutil, "disk_usage", lambda path: Usage(1 << 30, (1 << 30) - 4096, 4096))
    message = disk_full_message(exp)
    assert message.startswith(f"no space left on the device of {exp}: 0.0 MiB free") and "resumes" in message


def test_program_after_failure_reports_the_full_disk_and_the_damaged_file(tmp_path, monkeypatch, caplog):
    exp = tmp_path / "exp"
    save_training(exp, 1)
    truncate(exp / "1epoch.pth")
    monkeypatch.setattr(checkpoints.shutil, "disk_usage", lambda path: Usage(1 << 30, 1 << 30, 0))
    assert check_checkpoints.main([str(exp), "--after_failure"]) == 0
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(errors) == 1 and errors[0].startswith(f"no space left on the device of {exp}")
    assert any(f"{exp / '1epoch.pth'} is damaged" in w for w in warnings)
    assert check_checkpoints.main([str(tmp_path / "not_there")]) == 0
