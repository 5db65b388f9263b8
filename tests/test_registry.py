"""The real evidence base: every registered table passes the schema and its checksum."""

import re

import yaml

from mgbone.data import load_registry, load_selection
from tests.conftest import ROOT

DATA = ROOT / "data"


def test_every_registered_study_validates():
    registry = load_registry(DATA / "studies.yaml")
    dataset, provenance = load_selection(DATA, sorted(registry))
    assert len(provenance["files"]) == len(registry)
    assert dataset["locator"].str.len().min() > 0
    # every row is traceable: a PMID or DOI in the registry (or, where no page printed one, the citation as
    # printed with the page's URL, said explicitly), a locator in the table
    for study_id, entry in registry.items():
        assert entry.get("pmid") or entry.get("doi") or (entry.get("no_identifier_printed") and entry["url"]
                                                         and len(entry["citation"]) > 20), study_id


def test_no_study_file_is_unregistered():
    registry = load_registry(DATA / "studies.yaml")
    files = {p.stem for p in (DATA / "studies").glob("*.csv")}
    assert files == set(registry)


def test_digitised_values_say_how():
    registry = load_registry(DATA / "studies.yaml")
    dataset, _ = load_selection(DATA, sorted(registry))
    digitised = dataset["digitised"].dropna()
    assert all(re.search(r"[A-Za-z]", str(v)) for v in digitised)


def test_default_config_selects_registered_studies():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    registry = load_registry(DATA / "studies.yaml")
    for name, spec in config["analyses"].items():
        if spec["studies"] != "all":
            assert set(spec["studies"]) <= set(registry), name


def test_readme_sources_table_matches_the_registry():
    """data/README.md lists every study with the identifiers and page of its registry entry."""
    registry = load_registry(DATA / "studies.yaml")
    text = (DATA / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text[text.index("## Sources"):].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in registry:
            rows[cells[0]] = cells
    assert set(rows) == set(registry)
    for study_id, (_, design, pmid, doi, url) in rows.items():
        entry = registry[study_id]
        assert (design, pmid, doi, url) == (
            entry["design"], entry.get("pmid") or "-", entry.get("doi") or "-", entry["url"]), study_id
