"""`mgbone study new|check`: the tools for adding a study (see data/README.md, "Tools").

- `new ID` writes `studies/ID.csv` with the header row only (a table with no data rows, which `check`
  reports until rows are added), prints what each column holds with an example row, and appends a
  registry stub to `studies.yaml` whose required fields are `null` until filled in (so nothing
  half-registered can pass: every run and `check` name the fields still empty). It never overwrites a
  table, and leaves an existing registry entry alone.
- `check ID` validates the one table with the library's own loader (`read_study_table`, then
  `load_selection` for the registry, checksum, species and unit harmonisation), prints every problem with
  its file, row, column and rule, prints the table's sha256 and, with `--write-sha256`, writes it into the
  registry by editing that one line of `studies.yaml` (comments and layout are kept).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mgbone.data.errors import DataIssue, DataValidationError
from mgbone.data.loading import load_selection, read_study_table
from mgbone.data.registry import DESIGNS, SPECIES, load_registry, sha256_of
from mgbone.data.schema import COLUMNS, DISPERSION_TYPES, DOSE_UNITS, ROLES, SEXES
from mgbone.data.vocabulary import load_vocabulary
from mgbone.io import write_text

STUDY_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")  # as the registry schema's propertyNames

# what each column holds, printed by `new` (the full table is in data/README.md)
COLUMN_HELP = {
    "study_id": "the registry key; equals the file name stem",
    "group": "group label as in the paper (low_Mg, control, placebo, Mg_300mg)",
    "role": " | ".join(ROLES),
    "species": " | ".join(SPECIES),
    "sex": " | ".join(SEXES),
    "life_stage": "stage at time 0: weanling, young_adult, adult, premenopausal, perimenopausal, postmenopausal, "
                  "ovariectomized, child",
    "mg_dose": "optional: Mg exposure of the group (number)",
    "mg_dose_unit": "with mg_dose: " + " | ".join(DOSE_UNITS),
    "time": "time of the measurement since the registry's time_origin, >= 0",
    "time_unit": "day | week | month | year",
    "outcome": "a key of `outcomes` in vocabulary.yaml",
    "statistic": "a key of `statistics` in vocabulary.yaml (mean, pct_change_from_baseline, ...)",
    "value": "the number as printed",
    "unit": "for a mean or an absolute change: a unit listed for the outcome; for percents: percent",
    "dispersion": "optional: the spread as printed (one number)",
    "dispersion_type": "with a spread: " + " | ".join(DISPERSION_TYPES),
    "ci_lower": "with CI95: lower bound as printed",
    "ci_upper": "with CI95: upper bound as printed",
    "n": "subjects or animals behind the value, integer >= 1",
    "locator": "where in the source: abstract sentence 3, Table 2, Fig 1A",
    "digitised": "empty unless read off a figure; then the method",
    "note": "anything a reader needs",
}
EXAMPLE_ROW = {
    "group": "low_Mg", "role": "treatment", "species": "rat", "sex": "F", "life_stage": "adult", "mg_dose": "20",
    "mg_dose_unit": "mg/kg diet", "time": "12", "time_unit": "week", "outcome": "serum_mg", "statistic": "mean",
    "value": "0.4", "unit": "mg/dL", "dispersion": "0.2", "dispersion_type": "SD", "ci_lower": "", "ci_upper": "",
    "n": "6", "locator": "Table 1", "digitised": "", "note": "",
}


def registry_stub(study_id: str, indent: str = "  ") -> str:
    """A registry entry with every field explained; required fields stay null (invalid) until filled in."""
    i2 = indent * 2
    fields = [
        ("citation", "null", "required: full citation as printed (authors, title, journal year;volume(issue):pages)"),
        ("pmid", "null", 'PMID as a quoted string of digits, e.g. "9705567"; a PMID or a DOI is required'),
        ("doi", "null", 'DOI without "doi:" or URL prefix, e.g. "10.1210/jcem-73-5-1067"'),
        ("url", "null", "required: the page every number was re-read on (PubMed or a mirror, publisher, PMC)"),
        ("design", "null", "required: " + " | ".join(DESIGNS)),
        ("species", "null", "required: " + " | ".join(SPECIES) + " (must equal the table's species column)"),
        ("population", "null", 'required: who was studied, e.g. "female Sprague-Dawley rats, weanling"'),
        ("time_origin", "null", 'required: what time 0 means in the table, e.g. "start of experimental diet"'),
        ("file", f'"studies/{study_id}.csv"', "the table; must be studies/<study_id>.csv"),
        ("sha256", "null", f"required: written by `mgbone study check {study_id} --write-sha256`"),
        ("caveats", "null", "anything that limits the numbers: abstract only, SE assumed, digitised, ..."),
    ]
    width = max(len(f"{name}: {value}") for name, value, _ in fields) + 2
    lines = [f"{indent}{study_id}:  # added by `mgbone study new`; fill in, then `mgbone study check {study_id}`"]
    lines += [f"{i2}{f'{name}: {value}':<{width}}# {why}" for name, value, why in fields]
    lines += [
        f"{i2}# menopause_at_years: 5     # optional: a cohort followed through menopause passes its final",
        f"{i2}#                           # menstrual period this long after time_origin",
        f"{i2}# reference_groups:         # optional: groups the paper defines but reports no number for",
        f"{i2}#   - group: Mg_intake_Q1   # (e.g. the bottom intake quintile a percent difference refers to)",
        f"{i2}#     life_stage: postmenopausal",
        f"{i2}#     sex: F                # " + " | ".join(SEXES),
        f"{i2}#     mg_dose: 206.5",
        f"{i2}#     mg_dose_unit: mg/day  # " + " | ".join(DOSE_UNITS),
        f"{i2}#     note: \"printed as '<206.5 mg/day'; the printed cut-off is used as the dose\"",
    ]
    return "\n".join(lines) + "\n"


def _entry_indent(text: str) -> str:
    """Indentation of the registry's entries (first key under `studies:`), two spaces if none yet."""
    match = re.search(r"^studies:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*([ \t]+)\S", text, flags=re.M)
    return match.group(1) if match else "  "


class StudyToolError(RuntimeError):
    """A refusal (exit status 2): nothing was written."""


def new_study(study_id: str, data_dir: str | Path, append_registry: bool = True, out=print) -> None:
    data_dir = Path(data_dir)
    if not STUDY_ID.match(study_id):
        raise StudyToolError(f"study id {study_id!r} must be letters and digits, starting with a letter "
                             "(e.g. Author2001)")
    table = data_dir / "studies" / f"{study_id}.csv"
    if table.exists():
        raise StudyToolError(f"{table} exists; not overwritten (check it with `mgbone study check {study_id}`)")
    registry_path = data_dir / "studies.yaml"
    text = registry_path.read_text(encoding="utf-8") if registry_path.exists() else "studies:\n"
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("studies", {}), dict | None):
        raise StudyToolError(f"{registry_path}: no `studies:` mapping to add an entry to")
    registered = study_id in (raw.get("studies") or {})
    stub = registry_stub(study_id, _entry_indent(text))
    new_text = None
    if append_registry and not registered:
        new_text = text + ("" if text.endswith("\n") else "\n") + stub
        check = yaml.safe_load(new_text)
        if not isinstance(check.get("studies"), dict) or study_id not in check["studies"] \
                or set(check["studies"]) != set(raw.get("studies") or {}) | {study_id}:
            raise StudyToolError(f"{registry_path}: `studies:` is not the last block of the file, so the entry "
                                 f"cannot be appended; paste it by hand (run with --print-only)")
    table.parent.mkdir(parents=True, exist_ok=True)
    write_text(table, ",".join(COLUMNS) + "\n")
    out(f"wrote {table}: the header row only. Add one row per reported number (a table with no data rows "
        f"fails the check). Columns:")
    for column in COLUMNS:
        out(f"  {column:<16} {COLUMN_HELP[column]}")
    out("optional column time_start: for pct_change_per_year, start of the interval (default 0)")
    out("example row (values as printed in the paper; full rules in data/README.md):")
    out("  " + ",".join({"study_id": study_id, **EXAMPLE_ROW}[c] for c in COLUMNS))
    out("")
    if registered:
        out(f"{registry_path} already has an entry for {study_id}; left as it is.")
    elif new_text is not None:
        write_text(registry_path, new_text)
        out(f"appended to {registry_path} (every run stops at the registry until the null fields are filled in):")
        out(stub)
    else:
        out(f"registry stub for {registry_path} (paste it under `studies:`):")
        out(stub)
    out(f"then: mgbone study check {study_id} --data-dir {data_dir} --write-sha256")


@dataclass
class CheckResult:
    study_id: str
    sha256: str | None = None
    problems: list[DataIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: int = 0
    sha256_written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _add(result: CheckResult, issues) -> None:
    seen = {str(p) for p in result.problems}
    for issue in issues:
        if str(issue) not in seen:
            result.problems.append(issue)
            seen.add(str(issue))


def _registry_issues(issues: list[DataIssue], study_id: str) -> list[DataIssue]:
    """Say "not filled in" for the stub's nulls; keep every other registry problem (they block loading too)."""
    out = []
    for issue in issues:
        rule = issue.rule
        m = re.match(rf"key 'studies/{re.escape(study_id)}/(\w+)': None is not ", rule)
        if m:
            rule = f"key 'studies/{study_id}/{m.group(1)}': required field not filled in (null)"
        out.append(DataIssue(issue.file, rule, row=issue.row, column=issue.column, detail=issue.detail))
    return out


def write_sha256(registry_path: Path, study_id: str, checksum: str) -> None:
    """Set `sha256:` of one entry by editing that line of the YAML text (or adding it), nothing else."""
    text = registry_path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next((k for k, line in enumerate(lines)
                  if re.match(rf"^([ \t]+){re.escape(study_id)}:[ \t]*(#.*)?$", line.rstrip("\r\n"))), None)
    if start is None:
        raise StudyToolError(f"{registry_path}: no block entry `{study_id}:`; set sha256: {checksum} by hand")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end, child = start + 1, None
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#"):
            depth = len(lines[end]) - len(lines[end].lstrip())
            if depth <= indent:
                break
            child = depth if child is None else min(child, depth)
        end += 1
    child_indent = " " * (child if child is not None else indent + 2)
    new_line = f"{child_indent}sha256: {checksum}"
    for k in range(start + 1, end):
        m = re.match(rf"^{child_indent}sha256:[ \t]*(.*?)(\r?\n)?$", lines[k])
        if m:
            comment = re.search(r"[ \t]+#.*$", m.group(1))
            lines[k] = new_line + (comment.group(0) if comment else "") + (m.group(2) or "\n")
            break
    else:
        file_line = next((k for k in range(start + 1, end) if re.match(rf"^{child_indent}file:", lines[k])), None)
        at = file_line + 1 if file_line is not None else end
        while at > start + 1 and at == end and not lines[at - 1].strip():
            at -= 1  # before trailing blank lines of the block
        lines.insert(at, new_line + "\n")
    new_text = "".join(lines)
    before, after = yaml.safe_load(text), yaml.safe_load(new_text)
    expected = dict(before["studies"][study_id] or {}, sha256=checksum)
    if after["studies"][study_id] != expected or {k: v for k, v in after["studies"].items() if k != study_id} != \
            {k: v for k, v in before["studies"].items() if k != study_id}:
        raise StudyToolError(f"{registry_path}: editing the sha256 line of {study_id} would change more than "
                             f"that value; set sha256: {checksum} by hand")
    write_text(registry_path, new_text)


def check_study(study_id: str, data_dir: str | Path, write_checksum: bool = False) -> CheckResult:
    data_dir = Path(data_dir)
    result = CheckResult(study_id)
    registry_path, vocab_path = data_dir / "studies.yaml", data_dir / "vocabulary.yaml"
    table = data_dir / "studies" / f"{study_id}.csv"
    try:
        vocab = load_vocabulary(vocab_path)
    except (OSError, ValueError, KeyError, yaml.YAMLError) as err:
        _add(result, [DataIssue(str(vocab_path), "vocabulary cannot be read", detail=str(err))])
        return result

    # the registry: schema of every entry (an invalid one stops every run), then this entry
    entry, readable = None, True
    try:
        entry = load_registry(registry_path).get(study_id)
    except DataValidationError as err:
        _add(result, _registry_issues(err.issues, study_id))
        try:  # the entry as written, to go on checking the table against it
            entry = (yaml.safe_load(registry_path.read_text(encoding="utf-8"))["studies"] or {}).get(study_id)
        except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError):
            readable = False
    if entry is None and readable:
        _add(result, [DataIssue(str(registry_path), f"no registry entry for '{study_id}'",
                                detail=f"`mgbone study new {study_id}` prints a stub")])

    # the table on its own: schema and vocabulary, every problem with its row and column
    table_ok = False
    if table.exists():
        result.sha256 = sha256_of(table)
    try:
        frame = read_study_table(table, study_id, vocab)
        result.rows, table_ok = len(frame), True
    except DataValidationError as err:
        _add(result, err.issues)

    if write_checksum and result.sha256 and isinstance(entry, dict):
        if not table_ok:
            result.notes.append("sha256 not written: the table itself has problems (fix them first)")
        elif entry.get("sha256") == result.sha256:
            result.notes.append("sha256 in the registry is already this one")
        else:
            write_sha256(registry_path, study_id, result.sha256)
            entry = dict(entry, sha256=result.sha256)
            result.sha256_written = True
            # the registry was re-read: drop its earlier complaint about this entry's sha256
            result.problems = [p for p in result.problems if f"studies/{study_id}/sha256" not in p.rule]

    # the loader a run uses: registry entry, file name, checksum, species, unit harmonisation
    if entry is not None:
        try:
            load_selection(data_dir, [study_id])
        except DataValidationError as err:
            _add(result, _registry_issues(err.issues, study_id))
        except Exception as err:  # noqa: BLE001 - harmonisation of a table that passed its schema
            _add(result, [DataIssue(str(table), "harmonisation failed", detail=f"{type(err).__name__}: {err}")])

    if not write_checksum and any("checksum mismatch" in p.rule or f"studies/{study_id}/sha256" in p.rule
                                  for p in result.problems):
        result.notes.append("to record this sha256 in the registry: add --write-sha256")
    readme = data_dir / "README.md"
    if readme.exists() and "## Sources" in (text := readme.read_text(encoding="utf-8")) \
            and not re.search(rf"^\|\s*{re.escape(study_id)}\s*\|", text[text.index("## Sources"):], flags=re.M):
        result.notes.append(f"reminder: add {study_id} to the Sources table of {readme} (a test compares it "
                            "with the registry)")
    return result


def report_check(result: CheckResult, data_dir: str | Path, out=print) -> int:
    """Print the outcome of `check_study`; return the exit status (0 clean, 1 problems)."""
    table = Path(data_dir) / "studies" / f"{result.study_id}.csv"
    for problem in result.problems:
        out(f"problem: {problem}")
    if result.sha256:
        out(f"sha256 {result.sha256}  {table}")
    if result.sha256_written:
        out(f"wrote sha256 into {Path(data_dir) / 'studies.yaml'} ({result.study_id})")
    for note in result.notes:
        out(note)
    if result.ok:
        out(f"OK: {result.study_id}: {result.rows} rows pass the schema, the vocabulary and the registry")
        return 0
    out(f"{len(result.problems)} problem(s) in {result.study_id}")
    return 1
