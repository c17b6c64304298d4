"""ctcot.scoring and python -m ctcot.bin.score_st: sacreBLEU scores, id checks, RESULTS.md."""
import json
import subprocess
import sys

import pytest

from ctcot.scoring import read_results_md, read_translations, score_translations, write_results_md

# (utt id, reference, hypothesis): some perfect, some partial, one empty hypothesis.
PAIRS = [
    ("ted_0001", "Das ist eine gute Idee.", "Das ist eine gute Idee."),
    ("ted_0002", "Ich habe heute keine Zeit.", "Ich habe heute leider keine Zeit."),
    ("ted_0003", "Wir sehen uns morgen in Berlin.", "Wir sehen uns morgen in Berlin."),
    ("ted_0004", "Der Hund schläft unter dem Tisch.", "Der Hund liegt unter dem Tisch."),
    ("ted_0005", "Können Sie mir bitte helfen?", "Können Sie mir helfen?"),
    ("ted_0006", "Das Wetter ist heute sehr schön.", ""),
    ("ted_0007", "Ich möchte ein Glas Wasser.", "Ich möchte ein Glas Wasser."),
    ("ted_0008", "Die Kinder spielen im Garten.", "Die Kinder spielen draußen im Garten."),
    ("ted_0009", "Er arbeitet seit zehn Jahren hier.", "Er arbeitet hier seit zehn Jahren."),
    ("ted_0010", "Wo ist der nächste Bahnhof?", "Wo ist der Bahnhof?"),
    ("ted_0011", "Sie liest gern Bücher über Geschichte.", "Sie liest gerne Bücher über die Geschichte."),
    ("ted_0012", "Wir müssen das Problem gemeinsam lösen.", "Wir müssen das Problem gemeinsam lösen."),
    ("ted_0013", "Das Museum ist montags geschlossen.", "Das Museum ist am Montag zu."),
    ("ted_0014", "Meine Schwester wohnt in München.", "Meine Schwester lebt in München."),
    ("ted_0015", "Wie viel kostet diese Jacke?", "Wie viel kostet die Jacke?"),
    ("ted_0016", "Der Zug hat zwanzig Minuten Verspätung.", "Der Zug ist zwanzig Minuten zu spät."),
    ("ted_0017", "Ich verstehe die Frage nicht.", "Ich verstehe die Frage nicht."),
    ("ted_0018", "Unsere Forschung zeigt erstaunliche Ergebnisse.",
     "Unsere Forschung zeigt überraschende Ergebnisse."),
    ("ted_0019", "Vielen Dank für Ihre Aufmerksamkeit.", "Vielen Dank für die Aufmerksamkeit."),
    ("ted_0020", "Das Leben ist zu kurz für schlechten Kaffee.", "Das Leben ist kurz."),
]


def write_text(path, pairs):
    """Write '<utt-id> <text>' lines; an empty text gives a line with only the id, as ESPnet writes."""
    path.write_text("".join(f"{utt} {text}".rstrip() + "\n" for utt, text in pairs), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    ref = write_text(tmp_path / "ref.txt", [(utt, ref) for utt, ref, _ in PAIRS])
    # Unsorted ids in the hypotheses: they must be paired with the references by id.
    hyp = write_text(tmp_path / "hyp.txt", [(utt, hyp) for utt, _, hyp in PAIRS[::-1]])
    return hyp, ref


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ctcot.bin.score_st", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_read_translations_empty_hypothesis(files):
    hyps = read_translations(files[0])
    assert len(hyps) == 20 and hyps["ted_0006"] == "" and hyps["ted_0001"] == "Das ist eine gute Idee."
    assert list(hyps)[0] == "ted_0020"  # file order


def test_scores_match_sacrebleu_cli(files, tmp_path):
    hyp, ref = files
    result = score_translations(hyp, ref)
    # Plain sentence files in id order for the command-line tool.
    (tmp_path / "ref.plain").write_text("".join(r + "\n" for _, r, _ in PAIRS), encoding="utf-8")
    (tmp_path / "hyp.plain").write_text("".join(h + "\n" for _, _, h in PAIRS), encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "sacrebleu", str(tmp_path / "ref.plain"), "-i",
                          str(tmp_path / "hyp.plain"), "-m", "bleu", "chrf", "ter", "-f", "json", "-w", "4"],
                         capture_output=True, text=True, check=True, timeout=60)
    bleu, chrf, ter = json.loads(cli.stdout)
    assert 0 < result["bleu"] < 100 and result["num_sentences"] == 20
    assert round(result["bleu"], 4) == bleu["score"]
    assert round(result["chrf"], 4) == chrf["score"]
    assert round(result["ter"], 4) == ter["score"]
    assert (result["bleu_signature"], result["chrf_signature"], result["ter_signature"]) == \
        (bleu["signature"], chrf["signature"], ter["signature"])
    assert "tok:13a" in result["bleu_signature"] and "case:mixed" in result["bleu_signature"]
    assert result["bleu_detail"].startswith(f"BLEU = {result['bleu']:.2f} ")
    assert result["bleu_detail"].endswith(bleu["verbose_score"])
    assert (result["hyp"], result["ref"]) == (str(hyp), str(ref))
    json.dumps(result)  # serialisable


def test_case_sensitive(files, tmp_path):
    hyp, ref = files
    lower = write_text(tmp_path / "lower.txt", [(utt, h.lower()) for utt, _, h in PAIRS])
    assert score_translations(lower, ref)["bleu"] < score_translations(hyp, ref)["bleu"] - 10


@pytest.mark.parametrize("which, utt, expected", [
    ("hyp", "ted_0007", "missing from"),
    ("hyp", "ted_9999", "not in"),
    ("ref", "ted_0007", "not in"),
])
def test_id_mismatch(files, which, utt, expected):
    path = files[0] if which == "hyp" else files[1]
    lines = path.read_text(encoding="utf-8").splitlines()
    if utt in path.read_text(encoding="utf-8"):
        lines = [line for line in lines if not line.startswith(utt)]
    else:
        lines.append(f"{utt} Ein zusätzlicher Satz.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        score_translations(*files)
    message = str(err.value)
    assert str(files[0]) in message and str(files[1]) in message and repr(utt) in message and expected in message


@pytest.mark.parametrize("bad_line, problem", [("ted_0003 Noch einmal.", "duplicate"), ("", "empty line")])
def test_duplicate_id_or_blank_line(files, bad_line, problem):
    hyp, ref = files
    with hyp.open("a", encoding="utf-8") as f:
        f.write(bad_line + "\n")
    with pytest.raises(ValueError) as err:
        score_translations(hyp, ref)
    assert f"{hyp}:21:" in str(err.value) and problem in str(err.value)
    if bad_line:
        assert "'ted_0003'" in str(err.value)


def replace_line(path, lineno, line):
    lines = path.read_text(encoding="utf-8").splitlines(True)
    lines[lineno - 1] = line
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize("line", ["ted_0003\n", "ted_0003 \n", "ted_0003\t\n", "\n"])
def test_reference_with_only_an_id_or_blank_is_refused(files, tmp_path, line):
    hyp, ref = files
    replace_line(ref, 3, line)
    with pytest.raises(ValueError) as err:
        score_translations(hyp, ref)
    assert f"{ref}:3:" in str(err.value) and "bad references" in str(err.value)
    if line.strip():
        assert "'ted_0003'" in str(err.value)
    out = tmp_path / "result.json"
    proc = run_cli("--hyp", hyp, "--ref", ref, "--output_json", out, cwd=tmp_path)
    assert proc.returncode == 1 and not out.exists() and f"{ref}:3:" in proc.stderr


@pytest.mark.parametrize("line", ["ted_0006 \n", "ted_0006\t\n"])
def test_empty_hypothesis_is_scored(files, line):
    hyp, ref = files
    expected = score_translations(hyp, ref)  # line 15 is "ted_0006": an empty hypothesis
    replace_line(hyp, 15, line)
    assert read_translations(hyp)["ted_0006"] == ""
    assert score_translations(hyp, ref) == expected


def test_reference_with_only_a_language_tag_is_refused(files, tmp_path):
    hyp, ref = files
    replace_line(ref, 2, "ted_0002 <2de>\n")
    with pytest.raises(ValueError, match=r"ref.txt: 1 reference\(s\) are empty once the language tag is removed: "
                                         r"'ted_0002'"):
        score_translations(hyp, ref, strip_lang_tags=True)
    assert score_translations(hyp, ref)["num_sentences"] == 20  # without stripping, the tag is the reference


def make_result(bleu, chrf, ter, num=20):
    sigs = dict(bleu_signature="nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
                chrf_signature="nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
                ter_signature="nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0")
    return dict(num_sentences=num, bleu=bleu, chrf=chrf, ter=ter, bleu_detail=f"BLEU = {bleu:.2f}", **sigs)


def test_results_md_round_trip(tmp_path):
    exp = tmp_path / "exp" / "st_train"
    with pytest.raises(FileNotFoundError, match="decode_"):
        write_results_md(exp)
    expected = []
    for i, decode in enumerate(["decode_st_beam10", "decode_st_beam5"]):
        for j, test in enumerate(["tst-COMMON", "tst-HE"]):
            scores = (20.123 + i + j, 50.456 - i, 65.0 + 0.005 * j)
            (exp / decode / test).mkdir(parents=True)
            (exp / decode / test / "result.json").write_text(json.dumps(make_result(*scores, num=100 + j)))
            expected.append(dict(decode_dir=decode, test_set=test, num_sentences=100 + j,
                                 bleu=round(scores[0], 2), chrf=round(scores[1], 2), ter=round(scores[2], 2)))
    path = write_results_md(exp)
    assert path == exp / "RESULTS.md"
    text = path.read_text()
    assert str(exp) in text and text.count("version:2.6.0") == 3
    rows = read_results_md(path)
    assert [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in row.items()} for row in expected] == rows
    other = write_results_md(exp, output=tmp_path / "other.md")
    assert read_results_md(other) == rows


def test_cli(files, tmp_path):
    hyp, ref = files
    exp = tmp_path / "exp"
    out = exp / "decode_st" / "tst-COMMON" / "result.json"
    out.parent.mkdir(parents=True)
    proc = run_cli("--hyp", hyp, "--ref", ref, "--output_json", out, "--exp_dir", exp, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result == score_translations(hyp, ref)
    assert proc.stdout.strip() == result["bleu_detail"]
    assert "INFO: " in proc.stderr and f"BLEU {result['bleu']:.2f}" in proc.stderr
    [row] = read_results_md(exp / "RESULTS.md")
    assert row["bleu"] == round(result["bleu"], 2) and row["test_set"] == "tst-COMMON"
    assert f"| {result['bleu']:.2f} |" in (exp / "RESULTS.md").read_text()


def test_groups_are_scored_on_their_own(files, tmp_path):
    """by_group: each group's sentences scored alone equal sacreBLEU on those sentences; RESULTS.md has a row each."""
    hyp, ref = files
    groups = write_text(tmp_path / "utt2engine", [(utt, "espeak" if i % 3 else "festival")
                                                  for i, (utt, _, _) in enumerate(PAIRS)] + [("extra_utt", "flite")])
    result = score_translations(hyp, ref, utt2group=groups)
    assert result["bleu"] == score_translations(hyp, ref)["bleu"]
    assert list(result["by_group"]) == ["espeak", "festival"]  # sorted; an id of the file not scored is ignored
    for group, wanted in (("espeak", True), ("festival", False)):
        members = [(u, r, h) for i, (u, r, h) in enumerate(PAIRS) if bool(i % 3) == wanted]
        sub = score_translations(write_text(tmp_path / f"h_{group}", [(u, h) for u, _, h in members]),
                                 write_text(tmp_path / f"r_{group}", [(u, r) for u, r, _ in members]))
        assert result["by_group"][group] == {k: sub[k] for k in ("num_sentences", "bleu", "chrf", "ter")}
    assert result["by_group"]["espeak"]["bleu"] != result["by_group"]["festival"]["bleu"]
    exp = tmp_path / "exp"
    (exp / "decode_st" / "test").mkdir(parents=True)
    (exp / "decode_st" / "test" / "result.json").write_text(json.dumps(result))
    rows = read_results_md(write_results_md(exp))
    assert [r["test_set"] for r in rows] == ["test", "test (espeak)", "test (festival)"]
    assert rows[2]["bleu"] == round(result["by_group"]["festival"]["bleu"], 2)
    one = write_text(tmp_path / "one", [(u, "espeak") for u, _, _ in PAIRS])
    one_group = score_translations(hyp, ref, utt2group=one)
    (exp / "decode_st" / "test" / "result.json").write_text(json.dumps(one_group))
    assert [r["test_set"] for r in read_results_md(write_results_md(exp))] == ["test"]  # its row would repeat test's
    write_text(groups, [(utt, "espeak") for utt, _, _ in PAIRS[1:]])
    with pytest.raises(ValueError, match=r"utt2engine: no group for 1 utterance\(s\): 'ted_0001'"):
        score_translations(hyp, ref, utt2group=groups)
    out = tmp_path / "result.json"
    proc = run_cli("--hyp", hyp, "--ref", ref, "--output_json", out, "--utt2group", groups, cwd=tmp_path)
    assert proc.returncode == 1 and "no group for 1 utterance" in proc.stderr


def test_cli_bad_input(files, tmp_path):
    hyp, ref = files
    with hyp.open("a", encoding="utf-8") as f:
        f.write("ted_0001 doppelt\n")
    out = tmp_path / "result.json"
    proc = run_cli("--hyp", hyp, "--ref", ref, "--output_json", out, cwd=tmp_path)
    assert proc.returncode == 1 and not out.exists()
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("score_st: error: ") and f"{hyp}:21:" in line and "duplicate" in line
    proc = run_cli("--hyp", tmp_path / "nope.txt", "--ref", ref, "--output_json", out, cwd=tmp_path)
    assert proc.returncode == 1 and "nope.txt" in proc.stderr
