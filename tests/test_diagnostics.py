"""The diagnostics gate on synthetic (SYNTHETIC) posteriors with known defects."""

import numpy as np
import pytest
import xarray as xr

from mgbone.inference.diagnostics import Gate, diagnose, divergence_locations, failure_message, pareto_k_threshold


def tree(chains_offset=0.0, divergences=0, seed=0, directions=0):
    rng = np.random.default_rng(seed)
    chains, draws = 4, 500
    a = rng.normal(size=(chains, draws)) + chains_offset * np.arange(chains)[:, None]
    diverging = np.zeros((chains, draws), bool)
    diverging.flat[:divergences] = True
    log_lik = rng.normal(-1.0, 0.05, size=(chains, draws, 10))
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"a": (("chain", "draw"), a)},
                                coords={"chain": np.arange(chains), "draw": np.arange(draws)}),
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging),
                                    "energy": (("chain", "draw"), rng.normal(size=(chains, draws)))}),
        "log_likelihood": xr.Dataset({"y": (("chain", "draw", "contrast"), log_lik),
                                      **({"y_direction": (("chain", "draw", "direction"),
                                                          rng.normal(-0.7, 0.05, size=(chains, draws, directions)))}
                                         if directions else {})}),
    })


def test_good_posterior_passes():
    result = diagnose(tree(), Gate(ess_min=400), sampling_seconds=10.0)
    assert result["passed"], result["checks"]
    assert result["ess_bulk_per_second"] == pytest.approx(result["min_ess_bulk"] / 10.0)


def test_results_printed_as_directions_stay_out_of_psis_loo():
    """A second likelihood term (direction-only results) beside the contrasts: LOO runs on the contrasts alone."""
    result = diagnose(tree(directions=3), Gate(ess_min=400))
    assert result["passed"], result["checks"]
    plain = diagnose(tree(), Gate(ess_min=400))
    assert result["loo"]["elpd"] == pytest.approx(plain["loo"]["elpd"])


def test_chains_that_disagree_fail_rhat_and_name_the_parameter():
    result = diagnose(tree(chains_offset=1.0), Gate())
    failed = {c["check"]: c["detail"] for c in result["checks"] if not c["passed"]}
    assert "r_hat" in failed and "(a)" in failed["r_hat"]
    assert not result["passed"]
    assert "r_hat" in failure_message(result, "demo")


def test_divergences_fail_the_gate():
    result = diagnose(tree(divergences=3), Gate())
    assert not result["passed"]
    assert "3 divergent transitions" in failure_message(result, "demo")


def test_pareto_threshold_follows_sample_size():
    assert pareto_k_threshold(100) == pytest.approx(0.5)
    assert pareto_k_threshold(10**6) == pytest.approx(0.7)


def test_strict_gate_stops_with_the_failed_check_and_writes_nothing(tmp_path):
    import json

    from mgbone.steps import DiagnosticsGateError, diagnose as diagnose_step

    posterior = tmp_path / "posterior.nc"
    tree(chains_offset=1.0).to_netcdf(posterior, engine="h5netcdf")
    info = tmp_path / "fit_info.json"
    info.write_text(json.dumps({"timings": {"sampling_s": 1.0}}))
    config = {"diagnostics": {"strict": True, "rhat_max": 1.01, "ess_min": 400, "ebfmi_min": 0.3}}
    outputs = [tmp_path / "d.json", tmp_path / "p.csv", tmp_path / "r.png"]
    with pytest.raises(DiagnosticsGateError, match=r"analysis 'demo' failed the diagnostics gate: r_hat: max R-hat .* \(a\)"):
        diagnose_step(config, "demo", posterior_nc=posterior, fit_info_json=info, diagnostics_json=outputs[0],
                      parameters_csv=outputs[1], rank_png=outputs[2])
    assert not any(p.exists() for p in outputs)


def test_divergences_are_located_at_the_funnel_neck():
    rng = np.random.default_rng(5)
    chains, draws = 4, 500
    scale = np.exp(rng.normal(size=(chains, draws)))
    other = rng.normal(size=(chains, draws))
    diverging = np.log(scale) < -1.5  # divergences where the scale parameter is small, as in a funnel
    t = xr.DataTree.from_dict({
        "posterior": xr.Dataset({"scale": (("chain", "draw"), scale), "other": (("chain", "draw"), other)}),
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)}),
    })
    where = divergence_locations(t)
    assert where[0][0] == "scale" and where[0][1] < -1.5
    assert abs(dict(where).get("other", 0.0)) < 0.5
