"""The corpus of bad inputs: each must stop loading with a message naming file, row, column and rule."""

import pytest

from mgbone.data import DataValidationError, load_selection
from tests.conftest import HEADER, SYNTHETIC_ROWS


def replace(row: int, column: str, value: str):
    """Mutation: set one cell of a data row (row 0 = first data line)."""
    def mutate(lines):
        header = lines[0].split(",")
        cells = lines[1 + row].split(",")
        cells[header.index(column)] = value
        lines[1 + row] = ",".join(cells)
        return lines
    return mutate


BASELINE = {"outcome": "serum_mg", "value": 0.9, "sd": 0.1, "unit": "mmol/L", "same_sample": False,
            "citation": "SYNTHETIC reference level", "doi": "10.0000/synthetic", "url": "https://example.invalid/level",
            "locator": "Table 1", "quote": "SYNTHETIC"}
CASES = {
    # id: (mutation of the CSV lines, or None; mutation of the registry; expected message fragments)
    "unknown_outcome": (replace(0, "outcome", "serum_zinc"), None, ["row 2", "'outcome'", "unknown outcome"]),
    "unknown_unit": (replace(0, "unit", "furlongs"), None, ["row 2", "'unit'", "unit not accepted"]),
    "negative_sd": (replace(0, "dispersion", "-0.2"), None, ["row 2", "'dispersion'", "dispersion must be > 0"]),
    "zero_sd": (replace(1, "dispersion", "0"), None, ["row 3", "'dispersion'", "dispersion must be > 0"]),
    "n_zero": (replace(0, "n", "0"), None, ["row 2", "'n'", "n must be >= 1"]),
    "n_not_integer": (replace(0, "n", "six"), None, ["row 2", "'n'", "not a number", "'six'"]),
    "n_fractional": (replace(0, "n", "6.5"), None, ["row 2", "'n'"]),
    "value_not_numeric": (replace(0, "value", "abc"), None, ["row 2", "'value'", "not a number"]),
    "time_before_baseline": (replace(2, "time", "-1"), None, ["row 4", "'time'", "time before baseline"]),
    "unknown_time_unit": (replace(0, "time_unit", "fortnight"), None, ["row 2", "'time_unit'"]),
    "unknown_species": (replace(0, "species", "dog"), None, ["row 2", "'species'"]),
    "bad_role": (replace(0, "role", "boss"), None, ["row 2", "'role'"]),
    "bad_sex": (replace(0, "sex", "X"), None, ["row 2", "'sex'"]),
    "unknown_statistic": (replace(0, "statistic", "mode"), None, ["row 2", "'statistic'", "unknown statistic"]),
    "missing_locator": (replace(0, "locator", ""), None, ["row 2", "'locator'", "required value is missing"]),
    "study_id_not_file": (replace(0, "study_id", "Other2000"), None, ["row 2", "'study_id'", "must equal the file name"]),
    "ci_without_bounds": (replace(4, "ci_upper", ""), None, ["row 6", "'ci_lower'", "CI95 needs"]),
    "sd_without_value": (replace(0, "dispersion", ""), None, ["row 2", "'dispersion'", "SD or SE needs a dispersion value"]),
    "spread_without_type": (replace(0, "dispersion_type", ""), None, ["row 2", "'dispersion_type'", "needs dispersion_type"]),
    "dose_without_unit": (replace(0, "mg_dose_unit", ""), None, ["row 2", "'mg_dose_unit'", "mg_dose needs mg_dose_unit"]),
    "percent_with_unit": (replace(4, "unit", "mg/dL"), None, ["row 6", "'unit'", "unit not accepted"]),
    "mean_not_positive": (replace(0, "value", "0"), None, ["row 2", "'value'", "a mean must be > 0"]),
    "percent_below_minus_100": (replace(4, "value", "-100"), None, ["row 6", "'value'", "> -100"]),
    # an absolute change carries the outcome's unit, never `percent`
    "absolute_change_in_percent": (lambda lines: replace(2, "unit", "percent")(replace(2, "statistic", "change_from_baseline")(lines)),
                                   None, ["row 4", "'unit'", "unit not accepted"]),
    "duplicate_rows": (lambda lines: [*lines, lines[1]], None, ["duplicate row"]),
    "missing_column": (lambda lines: [",".join(c for c in line.split(",")[:-1]) for line in lines], None,
                       ["row 1", "'note'", "missing column"]),
    "unknown_column": (lambda lines: [lines[0] + ",extra"] + [line + ",x" for line in lines[1:]], None,
                       ["row 1", "'extra'", "unknown column"]),
    "header_only": (lambda lines: lines[:1], None, ["no data rows"]),
    "missing_citation": (None, lambda r: r["studies"]["Synthetic2000"].pop("citation"), ["citation", "required"]),
    "no_pmid_or_doi": (None, lambda r: r["studies"]["Synthetic2000"].update(pmid=None, doi=None),
                       ["missing citation identifier"]),
    "bad_doi": (None, lambda r: r["studies"]["Synthetic2000"].update(doi="doi:abc"), ["doi"]),
    "unknown_design": (None, lambda r: r["studies"]["Synthetic2000"].update(design="anecdote"), ["design"]),
    "species_differs": (None, lambda r: r["studies"]["Synthetic2000"].update(species="mouse"),
                        ["species differs from the registry"]),
    # -- a tired curator pasting numbers from a PDF: each said as what it is, on its own row and column
    "value_inf": (replace(0, "value", "inf"), None, ["row 2", "'value'", "not a finite number"]),
    "value_minus_inf": (replace(1, "value", "-inf"), None, ["row 3", "'value'", "not a finite number"]),
    "dispersion_inf": (replace(0, "dispersion", "Infinity"), None, ["row 2", "'dispersion'", "not a finite number"]),
    "decimal_comma": (replace(0, "value", '"0,4"'), None, ["row 2", "'value'", "not a number", "decimal comma"]),
    "value_NA": (replace(0, "value", "NA"), None, ["row 2", "'value'", "not a number", "leave the cell empty"]),
    "value_nan": (replace(1, "value", "nan"), None, ["row 3", "'value'", "not a number", "leave the cell empty"]),
    "value_dash": (replace(0, "value", "-"), None, ["row 2", "'value'", "not a number", "leave the cell empty"]),
    "unicode_minus": (replace(4, "value", "−40"), None, ["row 6", "'value'", "not a number", "typographic minus"]),
    "percent_sign": (replace(4, "value", "-40%"), None, ["row 6", "'value'", "not a number", "percent sign"]),
    "mean_plus_minus_sd": (replace(0, "value", "0.4 ± 0.2"), None, ["row 2", "'value'", "not a number", "spread"]),
    "bound_as_value": (replace(2, "value", "<5"), None, ["row 4", "'value'", "not a number", "a bound"]),
    "unit_in_number": (replace(0, "value", "0.4mg/dL"), None, ["row 2", "'value'", "not a number", "unit inside"]),
    "thousands_space": (replace(2, "value", "1 036"), None, ["row 4", "'value'", "not a number", "thousands"]),
    "time_not_numeric": (replace(0, "time", "12 wk"), None, ["row 2", "'time'", "not a number"]),
    "dose_not_numeric": (replace(0, "mg_dose", "twenty"), None, ["row 2", "'mg_dose'", "not a number"]),
    "ci_bound_not_numeric": (replace(4, "ci_lower", "-50.0.1"), None, ["row 6", "'ci_lower'", "not a number"]),
    "bad_cell_blames_only_itself": (replace(0, "value", "NA"), None, ["1 data problem(s)"]),
    # physiologically impossible values (bounds and reasons in vocabulary.yaml)
    "serum_mg_1e300": (replace(0, "value", "1e300"), None,
                       ["row 2", "'value'", "outside the plausible range of serum_mg", "mmol/L", "lethal"]),
    "serum_mg_40_mg_dl": (replace(0, "value", "40"), None, ["row 2", "'value'", "outside the plausible range of serum_mg"]),
    "pth_implausible": (replace(2, "value", "360000"), None, ["row 4", "'value'", "plausible range of pth"]),
    "percent_huge": (lambda lines: replace(4, "ci_upper", "4100")(replace(4, "ci_lower", "3900")(
        replace(4, "value", "4000")(lines))), None, ["row 6", "'value'", "percent change above"]),
    "time_in_wrong_unit": (lambda lines: replace(0, "time_unit", "year")(replace(0, "time", "120")(lines)), None,
                           ["row 2", "'time'", "beyond 100 years"]),
    "dose_unit_slip": (replace(0, "mg_dose", "200000"), None, ["row 2", "'mg_dose'", "implausible"]),
    "n_missing_with_spread": (replace(0, "n", ""), None, ["row 2", "'n'", "n is required for a direction row"]),
    "n_huge": (replace(0, "n", "600000000"), None, ["row 2", "'n'", "implausible"]),
    # the reference group of a study must be unambiguous
    "two_controls": (replace(0, "role", "control"), None,
                     ["'role'", "exactly one reference group per study", "'low_Mg'", "'control'"]),
    "group_role_flips": (replace(2, "role", "control"), None, ["row 4", "'role'", "group 'low_Mg' has different role"]),
    "group_sex_flips": (replace(2, "sex", "M"), None, ["row 4", "'sex'", "group 'low_Mg' has different sex"]),
    # results printed only as a direction
    "direction_not_unit_direction": (lambda lines: replace(2, "statistic", "direction_vs_control")(
        replace(2, "dispersion", "")(replace(2, "dispersion_type", "none")(replace(2, "value", "1")(lines)))),
        None, ["row 4", "'unit'", "unit not accepted"]),
    "direction_value_not_sign": (lambda lines: replace(2, "unit", "direction")(replace(2, "statistic", "direction_vs_control")(
        replace(2, "dispersion", "")(replace(2, "dispersion_type", "none")(replace(2, "value", "0.5")(lines))))),
        None, ["row 4", "'value'", "a direction is 1"]),
    "direction_with_spread": (lambda lines: replace(2, "unit", "direction")(replace(2, "statistic", "direction_vs_control")(
        replace(2, "value", "1")(lines))), None, ["row 4", "'dispersion'", "a direction row carries no spread"]),
    # cited baseline levels (absolute changes become relative through them): unit, provenance and sample
    "baseline_level_unit": (None, lambda r: r["studies"]["Synthetic2000"].update(baseline_levels=[
        dict(BASELINE, unit="furlong")]), ["Synthetic2000/baseline_levels/0", "'furlong' is not a unit of outcome"]),
    "baseline_level_unquoted": (None, lambda r: r["studies"]["Synthetic2000"].update(baseline_levels=[
        {k: v for k, v in BASELINE.items() if k != "quote"}]), ["baseline_levels/0", "'quote' is a required property"]),
    "baseline_level_own_sample_without_n": (None, lambda r: r["studies"]["Synthetic2000"].update(baseline_levels=[
        dict(BASELINE, same_sample=True)]), ["baseline_levels/0", "'n' is a required property"]),
    "baseline_level_without_identifier": (None, lambda r: r["studies"]["Synthetic2000"].update(baseline_levels=[
        {k: v for k, v in BASELINE.items() if k != "doi"}]), ["baseline_levels/0"]),
    "file_missing": (None, lambda r: r["studies"]["Synthetic2000"].update(file="studies/Nowhere2000.csv"),
                     ["must be studies/Synthetic2000.csv"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_rejected_with_location(synthetic, case):
    mutate_lines, mutate_registry, fragments = CASES[case]
    if mutate_lines:
        synthetic.write_rows(mutate_lines([HEADER, *SYNTHETIC_ROWS]))
    if mutate_registry:
        mutate_registry(synthetic.registry)
        synthetic.save_registry()
    with pytest.raises(DataValidationError) as err:
        load_selection(synthetic.root, ["Synthetic2000"])
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} not in {message!r}"
    if mutate_lines:
        assert "Synthetic2000.csv" in message


def test_valid_synthetic_table_loads(synthetic):
    dataset, provenance = load_selection(synthetic.root, ["Synthetic2000"])
    assert len(dataset) == len(SYNTHETIC_ROWS)
    assert provenance["files"][0]["rows"] == len(SYNTHETIC_ROWS)


def test_checksum_mismatch(synthetic):
    synthetic.write_bytes(synthetic.table.read_bytes() + b"\n", update_checksum=False)
    with pytest.raises(DataValidationError, match="checksum mismatch with the registry"):
        load_selection(synthetic.root, ["Synthetic2000"])


def test_wrong_encoding_names_the_line(synthetic):
    lines = [HEADER, *SYNTHETIC_ROWS]
    raw = ("\n".join(lines) + "\n").encode("utf-8").replace(b"Table 1,,synthetic\nSynthetic2000,control",
                                                            b"Table 1,,synth\xe9tic\nSynthetic2000,control", 1)
    synthetic.write_bytes(raw)
    with pytest.raises(DataValidationError, match=r"Synthetic2000.csv, row 2: wrong encoding: file is not UTF-8"):
        load_selection(synthetic.root, ["Synthetic2000"])


def test_empty_file(synthetic):
    synthetic.write_bytes(b"")
    with pytest.raises(DataValidationError, match="empty file"):
        load_selection(synthetic.root, ["Synthetic2000"])


def test_study_absent_from_registry(synthetic):
    with pytest.raises(DataValidationError, match="absent from the registry.*Missing1999"):
        load_selection(synthetic.root, ["Synthetic2000", "Missing1999"])


def test_registry_not_yaml(synthetic):
    (synthetic.root / "studies.yaml").write_text("studies: [unclosed\n")
    with pytest.raises(DataValidationError, match="not valid YAML"):
        load_selection(synthetic.root, ["Synthetic2000"])


def test_all_problems_reported_together(synthetic):
    lines = replace(0, "n", "0")(replace(1, "outcome", "serum_zinc")([HEADER, *SYNTHETIC_ROWS]))
    synthetic.write_rows(lines)
    with pytest.raises(DataValidationError) as err:
        load_selection(synthetic.root, ["Synthetic2000"])
    assert len(err.value.issues) == 2
