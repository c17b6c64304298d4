"""The offline install: tools/wheelhouse.py's plan and checks, and tools/setup_env.sh --wheelhouse on a tiny wheelhouse.

The whole wheelhouse (tools/make_wheelhouse.sh) needs the package index and is rehearsed by hand
(docs/gpus.md); here the install runs offline from wheels made in the test, into a venv whose base
Python is tools/venv's, which it must see (torch, espnet) through its .pth file.
"""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import wheelhouse  # noqa: E402  (tools/wheelhouse.py)

VENV_PYTHON = REPO / "tools" / "venv" / "bin" / "python"


def make_wheel(directory: Path, name: str, version: str, requires=(), module: str = None) -> Path:
    """A pure-Python wheel with the given Requires-Dist lines (and a module, if named)."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = directory / f"{dist}-py3-none-any.whl"
    metadata = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    metadata += "".join(f"Requires-Dist: {line}\n" for line in requires)
    wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files = {f"{dist}.dist-info/METADATA": metadata, f"{dist}.dist-info/WHEEL": wheel}
    if module:
        files[f"{module}.py"] = "VALUE = 42\n"
    files[f"{dist}.dist-info/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def test_plan_leaves_out_what_the_target_has(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\nNumPy==2.4.6\ntyping_extensions==4.16.0\nruff==0.17.6\nkaldiio==2.18.1\n")
    have = tmp_path / "have.txt"
    have.write_text("# the image\nnumpy\ntyping-extensions\n")
    plan = wheelhouse.plan(constraints, wheelhouse.read_names(have), add=["espnet==202511"], exclude=["ruff"])
    assert plan == ["espnet==202511", "kaldiio==2.18.1"]
    shipped = wheelhouse.read_names(REPO / "tools" / "gpu_image_packages.txt")
    assert {"torch", "torchaudio", "numpy", "scipy", "numba", "pytest", "typing-extensions"} <= shipped
    assert not {"espnet", "librosa", "geomloss", "kaldiio"} & shipped


def test_closure_names_what_is_missing_or_too_old(tmp_path):
    make_wheel(tmp_path, "alpha", "1.0", ["beta>=2", "gamma", 'delta; python_version < "3.8"', 'eps; extra == "x"',
                                          'zeta; sys_platform == "win32"'])
    make_wheel(tmp_path, "beta", "1.5")
    make_wheel(tmp_path, "espnet", "202511", ["setuptools<74", "lightning"])  # --no-deps: not followed
    assert wheelhouse.closure(tmp_path, "3.12", {"gamma"}) == [
        "alpha-1.0-py3-none-any.whl requires beta>=2, the wheelhouse has 1.5"]
    problems = wheelhouse.closure(tmp_path, "3.7", set())
    assert any("requires gamma: neither" in p for p in problems) and any("delta" in p for p in problems)
    make_wheel(tmp_path, "beta", "2.0")
    assert any("two versions of beta" in p for p in wheelhouse.closure(tmp_path, "3.12", {"gamma"}))


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="needs tools/venv (tools/setup_env.sh)")
def test_setup_env_installs_a_wheelhouse_offline(tmp_path):
    house = tmp_path / "wheelhouse"
    house.mkdir()
    version = subprocess.run([str(VENV_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (house / "target.txt").write_text(version + "\n")
    make_wheel(house, "ctcot-fixture", "1.0", ["packaging", "torch"], module="ctcot_fixture")
    venv = tmp_path / "venv"
    setup = [str(REPO / "tools" / "setup_env.sh"), "--venv", str(venv), "--python", str(VENV_PYTHON)]

    result = subprocess.run(setup + ["--wheelhouse", str(house)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "offline install" in result.stderr
    # The venv has the wheel, and sees its base Python's torch and espnet through the .pth file.
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import ctcot_fixture, torch, espnet2; print(ctcot_fixture.__file__)"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(venv))
    assert (venv / ".ctcot_installed").read_text().startswith("wheelhouse ")
    # The ordinary set-up leaves such a venv as it is (it would need the index).
    kept = subprocess.run(setup, capture_output=True, text=True, timeout=60)
    assert kept.returncode == 0 and "kept as it is" in kept.stderr

    make_wheel(house, "needs-more", "1.0", ["no-such-package-ctcot>=1"])
    missing = subprocess.run(setup + ["--wheelhouse", str(house)], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1
    assert "missing: no-such-package-ctcot>=1 (needed by needs-more)" in missing.stderr

    (house / "target.txt").write_text("3.2\n")
    wrong = subprocess.run(setup + ["--wheelhouse", str(house)], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "is for Python 3.2" in wrong.stderr
