"""End-to-end: the workflow on the tiny test config, in a scratch copy of the project."""

import json
import shutil

import pandas as pd
import pytest

from mgbone.inference.holdout import ALL_HELD_OUT
from tests.conftest import ROOT
from tests.e2e import HOSTILE, THREADED_TABLES, TINY, copy_project, run


def test_parameter_summary_is_complete_and_finite(finished_run):
    table = pd.read_csv(finished_run / "results/tiny/summary/parameters.csv")
    for column in ("quantity", "mean", "sd", "median", "eti90_lower", "eti95_upper", "hdi90_lower", "hdi95_upper",
                   "r_hat", "ess_bulk", "ess_tail", "gate_passed"):
        assert column in table.columns
    numeric = table.drop(columns=["quantity", "gate_passed"])
    assert numeric.notna().all().all() and (numeric.abs() < float("inf")).all().all()
    assert (table["eti95_lower"] <= table["median"]).all() and (table["median"] <= table["eti95_upper"]).all()
    assert "menopause_loss" in set(table["quantity"])


def test_diagnostics_and_fit_metadata(finished_run):
    diagnostics = json.loads((finished_run / "results/tiny/diagnostics/diagnostics.json").read_text())
    assert {c["check"] for c in diagnostics["checks"]} >= {"r_hat", "ess_bulk", "ess_tail", "divergences", "pareto_k"}
    assert diagnostics["min_ess_bulk"] > 0 and diagnostics["ess_bulk_per_second"] > 0
    info = json.loads((finished_run / "results/tiny/fit/fit_info.json").read_text())
    assert info["sampler"]["chains"] == 2 and info["n_contrasts"] > 0


def test_posterior_holds_what_loo_needs(finished_run):
    import xarray as xr

    tree = xr.open_datatree(finished_run / "results/tiny/fit/posterior.nc", engine="h5netcdf")
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data",
                  "posterior_predictive", "prior", "prior_predictive"):
        assert group in tree.children, group


def test_report_contains_the_parameter_table(finished_run):
    html = (finished_run / "results/report.html").read_text()
    table = pd.read_csv(finished_run / "results/tiny/summary/parameters.csv").set_index("quantity")
    assert "Parameter credible intervals" in html
    assert f"{table.loc['menopause_loss', 'median']:.3g}" in html
    assert "Rude1998" in html and "https://pubmed.ncbi.nlm.nih.gov/9705567/" in html
    # scripts: only the small inlined table sorter/filter (figures are inline SVG, no plotting library)
    assert html.lower().count("<script") == 1
    assert HOSTILE not in html


def test_report_lists_every_registered_study_and_interactive_curves(finished_run):
    html = (finished_run / "results/report.html").read_text()
    catalog = pd.read_csv(finished_run / "results/data/all_studies.csv")
    from mgbone.data import load_registry

    assert set(catalog["study_id"]) == set(load_registry(finished_run / "data/studies.yaml"))
    assert "Liberman1995" in html  # a drug trial no tiny analysis fits, listed with its citation
    assert 'id="curves-tiny"' in html and 'id="curves-tiny_rat"' in html and "<svg" in html
    assert "Each study's time course" in html


def test_report_escapes_strings_from_data(finished_run):
    html = (finished_run / "results/report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_comparison_added_by_config_runs(finished_run):
    folder = finished_run / "results/comparisons/rat_only_vs_with_cohort"
    table = pd.read_csv(folder / "loo.csv")
    assert set(table["analysis"]) == {"tiny", "tiny_rat"}
    assert table["elpd"].notna().all() and (table["n_observations"] > 0).all()
    assert table.loc[table["rank"] == 0, "elpd_diff"].iloc[0] == 0
    agreement = pd.read_csv(folder / "agreement.csv")
    assert {"slope[mg_status,rat]", "bone_loss_per_deficit", "mg_sufficiency_threshold"} <= set(agreement["parameter"])
    assert agreement["overlap"].between(0, 1).all()
    assert set(agreement["analysis_a"]) | set(agreement["analysis_b"]) == {"tiny", "tiny_rat"}
    html = (finished_run / "results/report.html").read_text()
    assert "rat_only_vs_with_cohort" in html and "Posteriors of the shared parameters" in html


def test_leave_one_study_out_predicts_each_study_from_the_others(finished_run):
    held = pd.read_csv(finished_run / "results/tiny/loso/held_out.csv")
    assert set(held["study_id"]) == {"Rude1998", "Sowers2010"}
    assert (held["pi90_lower"] <= held["pi50_lower"]).all() and (held["pi50_upper"] <= held["pi90_upper"]).all()
    assert held["pit"].between(0, 1).all() and held["lpd"].notna().all() and held["lpd_in_sample"].notna().all()
    summary = pd.read_csv(finished_run / "results/tiny/loso/summary.csv").set_index("study_id")
    for study, part in held.groupby("study_id"):
        assert summary.loc[study, "n"] == len(part)
        assert summary.loc[study, "coverage_90"] == pytest.approx(part["inside_90"].mean())
        assert summary.loc[study, "elpd_loso"] == pytest.approx(part["lpd"].sum(), abs=1e-4)
    assert summary.loc[ALL_HELD_OUT, "n"] == len(held)
    html = (finished_run / "results/report.html").read_text()
    assert 'id="loso"' in html
    assert f"of the {len(held)}\nheld-out observations" in html


def test_sbc_batches_combine_into_ranks_for_every_simulation(finished_run):
    ranks = pd.read_csv(finished_run / "results/tiny_rat/sbc/ranks.csv")
    assert sorted(ranks["simulation"].unique()) == [0, 1, 2, 3]
    assert (ranks["rank"] >= 0).all() and (ranks["rank"] <= ranks["n_draws"]).all()
    summary = pd.read_csv(finished_run / "results/tiny_rat/sbc/summary.csv")
    assert (summary["simulations"] == 4).all() and summary["p_uniform"].between(0, 1).all()


def test_prior_sensitivity_covers_parameters_and_conclusions(finished_run):
    table = pd.read_csv(finished_run / "results/tiny/summary/sensitivity.csv")
    assert {"parameter", "conclusion"} <= set(table["kind"])
    assert {"mg_benefit_pp", "natural_loss_pp"} <= set(table["quantity"])
    assert (table[["prior_sensitivity", "likelihood_sensitivity"]] >= 0).all().all()
    assert set(table["diagnosis"]) <= {"ok", "potential prior-data conflict", "potential strong prior / weak likelihood"}


def test_predictive_checks_hold_prior_and_loo_pit(finished_run):
    table = pd.read_csv(finished_run / "results/tiny/predict/predictive_check.csv")
    assert table["loo_pit"].between(0, 1).all()
    assert (table["prior_pi90_lower"] <= table["prior_pi90_upper"]).all()
    assert (table["pi90_lower"] <= table["pi50_lower"]).all() and (table["pi50_upper"] <= table["pi90_upper"]).all()


def test_manifest_lists_checksums(finished_run):
    manifest = json.loads((finished_run / "results/tiny/data/manifest.json").read_text())
    assert {f["study_id"] for f in manifest["files"]} == {"Rude1998", "Sowers2010"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])


def test_snakemake_report_of_a_finished_run(finished_run):
    run(finished_run, "--report", "results/workflow-report.html", *TINY)
    html = (finished_run / "results/workflow-report.html").read_text(errors="replace")
    assert "bone_loss_bands.csv" in html and "Credible intervals" in html


def test_rerun_with_nothing_changed_does_nothing(finished_run):
    result = run(finished_run, "--cores", "2", "-n", *TINY)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_same_numbers_with_one_core(finished_run, tmp_path):
    """--cores 1 against --cores 8, and a warm compile cache against the cold one: the session's first run
    (`finished_run`) compiled into an empty PyTensor/numba cache (tests/conftest.py), this rerun loads from it."""
    import os

    if not os.environ.get("MGBONE_KEEP_COMPILE_CACHE"):
        assert "mgbone-cold-compiledir-" in os.environ.get("PYTENSOR_FLAGS", "")
    other = copy_project(tmp_path / "one-core")
    run(other, "--cores", "1", *TINY, *(f"results/{table}" for table in THREADED_TABLES))
    for table in THREADED_TABLES:
        a = (finished_run / "results" / table).read_bytes()
        b = (other / "results" / table).read_bytes()
        if a != b:
            import difflib

            diff = "\n".join(list(difflib.unified_diff(a.decode().splitlines(), b.decode().splitlines(), lineterm=""))[:12])
            raise AssertionError(f"{table} differs between --cores 8 and --cores 1:\n{diff}")


def test_bad_config_stops_before_any_job(tmp_path):
    project = copy_project(tmp_path / "bad")
    config = (project / ".test/config.yaml").read_text().replace("backend: nutpie", "backend: stan")
    (project / ".test/config.yaml").write_text(config)
    result = run(project, "--cores", "1", *TINY, check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "'stan' is not one of ['pymc', 'nutpie', 'numpyro']" in message
    assert "['sampler_defaults']['backend']" in message
    assert not (project / "results").exists()


def test_dangling_reference_in_config_is_named(tmp_path):
    project = copy_project(tmp_path / "dangling")
    config = (project / ".test/config.yaml").read_text().replace("analysis: tiny", "analysis: nonexistent")
    (project / ".test/config.yaml").write_text(config)
    result = run(project, "--cores", "1", *TINY, check=False)
    assert result.returncode != 0
    assert "claim.analysis: 'nonexistent' is not an analysis" in result.stdout + result.stderr


@pytest.fixture
def data_server(tmp_path):
    """A local web server for the study tables (the remote pull is tested without the internet)."""
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    shutil.copytree(ROOT / "data", served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def remote_config(project, base_url):
    config = project / ".test/config.yaml"
    config.write_text(config.read_text() + f"remote_data:\n  enabled: true\n  base_url: {base_url}\n")


def test_remote_pull_fetches_tables_and_checks_their_sha256(finished_run, data_server, tmp_path):
    served, base_url = data_server
    project = copy_project(tmp_path / "remote")
    shutil.rmtree(project / "data/studies")  # only the registry and vocabulary stay local
    remote_config(project, base_url)
    target = "results/tiny_rat/data/dataset.csv"
    run(project, "--cores", "1", *TINY, target)
    assert (project / target).read_bytes() == (finished_run / target).read_bytes()
    manifest = json.loads((project / "results/tiny_rat/data/manifest.json").read_text())
    assert manifest["files"][0]["source"] == f"{base_url}/studies/Rude1998.csv"
    # a table changed on the server no longer matches the registry: the run stops and names the URL
    table = served / "studies/Rude1998.csv"
    table.write_text(table.read_text() + "\n")  # one byte more
    other = copy_project(tmp_path / "tampered")
    remote_config(other, base_url)
    result = run(other, "--cores", "1", *TINY, target, check=False)
    log = (other / "results/logs/tiny_rat/pull.log").read_text()
    assert result.returncode != 0 and "checksum mismatch with the registry" in log
    assert f"{base_url}/studies/Rude1998.csv" in log
    assert not (other / target).exists()


@pytest.mark.parametrize(("overlay", "expected"), [("config/heavy.yaml", ["loso_batch", "sbc_batch",
                                                                         "results/m1_all/loso/batches/0.csv",
                                                                         "results/m1_all/loto/batches/0.csv"]),
                                                   ("config/extended.yaml", ["m1_core", "evidence_base"])])
def test_shipped_config_overlays_validate_and_plan(tmp_path, overlay, expected):
    """The overlays merged over the default config pass the schema and plan their extra jobs (dry run)."""
    project = copy_project(tmp_path / "overlay")
    result = run(project, "-n", "--cores", "1", "--configfile", overlay, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    for word in expected:
        assert word in output
