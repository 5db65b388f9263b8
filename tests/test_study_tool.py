"""`mgbone study new|check` on SYNTHETIC tables in a temporary data directory (never data/)."""

import yaml

from mgbone.cli import main
from mgbone.data import load_registry, load_selection
from mgbone.data.schema import COLUMNS
from mgbone.data.study_tool import registry_stub
from tests.conftest import HEADER, SYNTHETIC_ROWS, sha256


def mgbone(*args) -> int:
    try:
        main(list(args))
    except SystemExit as done:
        return done.code
    return 0


def test_new_writes_header_only_table_and_a_stub_with_every_field(synthetic, capsys):
    before = (synthetic.root / "studies.yaml").read_text()
    assert mgbone("study", "new", "Synthetic2001", "--data-dir", str(synthetic.root)) == 0
    out = capsys.readouterr().out
    table = synthetic.root / "studies" / "Synthetic2001.csv"
    assert table.read_text() == ",".join(COLUMNS) + "\n"
    for column in COLUMNS:
        assert f"  {column} " in out  # each column explained
    text = (synthetic.root / "studies.yaml").read_text()
    assert text.startswith(before)  # appended; the other entries are untouched
    entry = yaml.safe_load(text)["studies"]["Synthetic2001"]
    # every field of the registry schema is in the stub, with a comment
    stub = text[len(before):].splitlines()
    for key in ["citation", "pmid", "doi", "url", "design", "species", "population", "time_origin", "file",
                "sha256", "caveats"]:
        assert key in entry
        line = next(x for x in stub if x.startswith(f"    {key}: "))
        assert "  # " in line, line  # explained
    assert "menopause_at_years" in text and "reference_groups" in text
    assert entry["file"] == "studies/Synthetic2001.csv"
    # the untouched template is flagged, with the registry fields still to fill in
    assert mgbone("study", "check", "Synthetic2001", "--data-dir", str(synthetic.root)) == 1
    out = capsys.readouterr().out
    assert "Synthetic2001.csv: no data rows" in out
    assert "studies/Synthetic2001/citation': required field not filled in" in out
    assert "studies/Synthetic2001/species': required field not filled in" in out


def test_new_refuses_to_overwrite_a_table(synthetic, capsys):
    original = synthetic.table.read_bytes()
    registry = (synthetic.root / "studies.yaml").read_text()
    assert mgbone("study", "new", "Synthetic2000", "--data-dir", str(synthetic.root)) == 2
    assert "not overwritten" in capsys.readouterr().err
    assert synthetic.table.read_bytes() == original
    assert (synthetic.root / "studies.yaml").read_text() == registry


def test_new_print_only_and_bad_id(synthetic, capsys):
    registry = (synthetic.root / "studies.yaml").read_text()
    assert mgbone("study", "new", "Other1999", "--data-dir", str(synthetic.root), "--print-only") == 0
    assert "Other1999:" in capsys.readouterr().out
    assert (synthetic.root / "studies.yaml").read_text() == registry
    assert mgbone("study", "new", "9bad-id", "--data-dir", str(synthetic.root)) == 2


def test_stub_filled_in_loads_with_the_library(synthetic, capsys):
    """The stub's layout is what the registry expects: fill the nulls and the loader accepts it."""
    text = registry_stub("Synthetic2002")
    filled = (text.replace("citation: null", 'citation: "SYNTHETIC"').replace("pmid: null", 'pmid: "2"')
              .replace("url: null", "url: https://example.invalid").replace("design: null", "design: human_cohort")
              .replace("species: null", "species: rat").replace("population: null", "population: synthetic")
              .replace("time_origin: null", "time_origin: start"))
    (synthetic.root / "studies.yaml").write_text((synthetic.root / "studies.yaml").read_text() + filled)
    rows = [r.replace("Synthetic2000", "Synthetic2002") for r in SYNTHETIC_ROWS]
    (synthetic.root / "studies" / "Synthetic2002.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    assert mgbone("study", "check", "Synthetic2002", "--data-dir", str(synthetic.root), "--write-sha256") == 0
    out = capsys.readouterr().out
    assert "OK: Synthetic2002: 5 rows" in out
    dataset, _ = load_selection(synthetic.root, ["Synthetic2002"])
    assert len(dataset) == len(rows)


def test_check_passes_a_valid_table_and_prints_its_sha256(synthetic, capsys):
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root)) == 0
    out = capsys.readouterr().out
    assert f"sha256 {sha256(synthetic.table)}" in out
    assert "problem" not in out


def test_check_names_file_row_column_and_rule_of_every_problem(synthetic, capsys):
    lines = [HEADER, *SYNTHETIC_ROWS]
    bad = lines[1].split(",")
    bad[COLUMNS.index("outcome")] = "serum_zinc"  # row 2: not in the vocabulary
    lines[1] = ",".join(bad)
    bad = lines[3].split(",")
    bad[COLUMNS.index("n")] = "0"  # row 4: schema rule
    lines[3] = ",".join(bad)
    synthetic.write_rows(lines)
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root)) == 1
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith("problem:")]
    assert any("Synthetic2000.csv, row 2, column 'outcome': unknown outcome" in p for p in problems), out
    assert any("Synthetic2000.csv, row 4, column 'n': n must be >= 1" in p for p in problems), out
    assert "2 problem(s)" in out


def test_check_against_the_registry(synthetic, capsys):
    synthetic.registry["studies"]["Synthetic2000"]["species"] = "human"
    synthetic.save_registry()
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root)) == 1
    assert "species differs from the registry" in capsys.readouterr().out
    assert mgbone("study", "check", "Nobody2000", "--data-dir", str(synthetic.root)) == 1
    out = capsys.readouterr().out
    assert "no registry entry for 'Nobody2000'" in out and "study file not found" in out


def test_write_sha256_edits_only_that_line(synthetic, capsys):
    synthetic.write_bytes(synthetic.table.read_bytes() + b"Synthetic2000,control,control,rat,F,adult,500,mg/kg diet,"
                          b"12,week,calcitriol,mean,90,pmol/L,10,SD,,,6,Table 1,,synthetic\n", update_checksum=False)
    registry = synthetic.root / "studies.yaml"
    # a comment and a second entry that must survive the edit byte for byte
    text = "# SYNTHETIC registry, hand-edited\n" + registry.read_text().replace(
        "    caveats: synthetic", "    caveats: synthetic  # keep this comment") + (
        "  Synthetic1999:\n    citation: SYNTHETIC\n    pmid: '3'\n    url: https://example.invalid\n"
        "    design: animal_deficiency\n    species: rat\n    population: rats\n    time_origin: start\n"
        "    file: studies/Synthetic1999.csv\n    sha256: " + "a" * 64 + "\n")
    registry.write_text(text)
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root)) == 1
    assert "checksum mismatch with the registry" in capsys.readouterr().out
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root), "--write-sha256") == 0
    out = capsys.readouterr().out
    assert "wrote sha256" in out
    new = registry.read_text()
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1] == f"    sha256: {sha256(synthetic.table)}", changed
    assert load_registry(registry)["Synthetic2000"]["sha256"] == sha256(synthetic.table)
    load_selection(synthetic.root, ["Synthetic2000"])  # the library accepts it


def test_write_sha256_is_refused_for_a_broken_table(synthetic, capsys):
    synthetic.write_rows([HEADER, SYNTHETIC_ROWS[0].replace(",6,Table 1", ",0,Table 1")])
    synthetic.registry["studies"]["Synthetic2000"]["sha256"] = "0" * 64
    synthetic.save_registry()
    assert mgbone("study", "check", "Synthetic2000", "--data-dir", str(synthetic.root), "--write-sha256") == 1
    assert "sha256 not written" in capsys.readouterr().out
    assert load_registry(synthetic.root / "studies.yaml")["Synthetic2000"]["sha256"] == "0" * 64


def test_write_sha256_fills_the_stub_null(synthetic, capsys):
    assert mgbone("study", "new", "Synthetic2003", "--data-dir", str(synthetic.root)) == 0
    rows = [r.replace("Synthetic2000", "Synthetic2003") for r in SYNTHETIC_ROWS]
    (synthetic.root / "studies" / "Synthetic2003.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    assert mgbone("study", "check", "Synthetic2003", "--data-dir", str(synthetic.root), "--write-sha256") == 1
    out = capsys.readouterr().out
    assert "wrote sha256" in out and "sha256': required" not in out  # the rest is still to fill in
    text = (synthetic.root / "studies.yaml").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("sha256:") and "Synthetic2003" in x)
    assert line.startswith(f"    sha256: {sha256(synthetic.root / 'studies' / 'Synthetic2003.csv')}  ")
    assert "# required: written by" in line  # the explanation stays


def test_run_subcommand_is_unchanged():
    """`mgbone run` still passes everything after it to snakemake (parsing only: nothing is run)."""
    import mgbone.cli as cli

    seen = {}
    original = cli.run
    cli.run = lambda rest: seen.setdefault("rest", rest)
    try:
        cli.main(["run", "--cores", "2", "-n", "--study", "x"])
    finally:
        cli.run = original
    assert seen["rest"] == ["--cores", "2", "-n", "--study", "x"]
