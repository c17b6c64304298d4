"""ctcot.bin: the docstring's table of programs matches the programs, the library and st.sh."""
import importlib
import re

from conftest import REPO

import ctcot.bin
from ctcot.recipe import STAGES

CORPORA = ("must_c", "covost2", "mini_st")


def table_rows():
    """(stage, program, library) of each row of the table in ctcot.bin's docstring."""
    sections = re.split(r"^=+(?:  +=+)+$", ctcot.bin.__doc__, flags=re.M)
    body = sections[2]  # text, rule, header, rule, body, rule, text
    return [tuple(re.split(r"  +", line.strip(), maxsplit=2)) for line in body.strip().splitlines()]


def expand(name):
    return [name.replace("<corpus>", corpus) for corpus in CORPORA] if "<corpus>" in name else [name]


def resolve(dotted):
    """The object a dotted name stands for: the longest importable module, then its attributes."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for attr in parts[end:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_program_is_in_the_table_and_every_entry_exists():
    rows = table_rows()
    listed = {program for _, name, _ in rows for program in expand(name)}
    programs = {path.stem for path in (REPO / "ctcot" / "bin").glob("*.py") if path.stem != "__init__"}
    assert listed == programs
    for _, _, library in rows:
        for item in library.split(", "):
            if not item.startswith("("):
                for name in expand(item):
                    assert resolve(name) is not None, name


def test_the_table_names_stages_as_ctcot_recipe_does():
    names = {stage.number: stage.name for stage in STAGES}
    for stage, _, _ in table_rows():
        single = re.fullmatch(r"(\d+) (\w+)", stage)
        span = re.fullmatch(r"(\d+)-(\d+) (\w+)\.\.(\w+)", stage)
        if single:
            assert names[int(single.group(1))] == single.group(2), stage
        elif span:
            assert (names[int(span.group(1))], names[int(span.group(2))]) == span.group(3, 4), stage
        else:
            assert stage.startswith("("), stage


def test_every_ctcot_program_st_sh_runs_is_in_the_table():
    run_by_st_sh = set(re.findall(r"-m ctcot\.bin\.(\w+)", (REPO / "egs2/TEMPLATE/st1/st.sh").read_text()))
    run_by_recipes = {m for path in REPO.glob("egs2/*/st1/local/data.sh")
                      for m in re.findall(r"-m ctcot\.bin\.(\w+)", path.read_text())}
    listed = {program for _, name, _ in table_rows() for program in expand(name)}
    assert run_by_st_sh | run_by_recipes <= listed
    assert {f"prepare_{corpus}" for corpus in CORPORA} <= run_by_recipes


def test_programs_report_bad_input_in_one_line_and_keep_the_traceback_of_bugs(caplog):
    import pytest

    from ctcot import ExternalProgramError, InputError

    def fail(error):
        def task():
            raise error
        return task

    assert ctcot.bin.run(fail(InputError("bad line 3"))) == 1
    assert ctcot.bin.run(fail(ExternalProgramError("espeak-ng -v xx failed: no voice"))) == 1
    assert ctcot.bin.run(fail(FileNotFoundError("no such file: data/train/wav.scp"))) == 1
    assert "bad line 3" in caplog.text and "espeak-ng -v xx failed" in caplog.text and "wav.scp" in caplog.text
    with pytest.raises(RuntimeError, match="shape mismatch"):  # torch's generic error: a bug, with its traceback
        ctcot.bin.run(fail(RuntimeError("shape mismatch")))
    with pytest.raises(ValueError, match="could not broadcast"):  # a library's ValueError: a bug too
        ctcot.bin.run(fail(ValueError("could not broadcast input array")))
