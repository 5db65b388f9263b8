"""Parameter recovery and simulation-based calibration (Talts et al. 2018) on the real study design.

Data are SYNTHETIC: simulated from the model at the contrasts of the real studies (same groups,
times and reported standard errors), so they test the inference, not the evidence.
"""

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from mgbone.inference.backends import SamplerSettings, fit


def scalar_parameters(model: pm.Model) -> list[str]:
    """Free scalar parameters on their natural scale (the quantities calibration is judged on)."""
    return [rv.name for rv in model.free_RVs if rv.ndim == 0]


def simulate(model: pm.Model, seed: int) -> tuple[dict[str, float], np.ndarray]:
    """One prior draw of the parameters and of the data they imply."""
    names = scalar_parameters(model)
    draws = pm.draw([model[n] for n in names] + [model["y"]], random_seed=seed)
    truth = {n: float(v) for n, v in zip(names, draws[:-1], strict=True)}
    return truth, np.asarray(draws[-1], float)


def condition(model: pm.Model, truth: dict[str, float], seed: int) -> np.ndarray:
    """Data simulated from given parameter values (the rest drawn from their prior)."""
    fixed = pm.do(model, {model[k]: v for k, v in truth.items()})
    return np.asarray(pm.draw(fixed["y"], random_seed=seed), float)


def recover(model: pm.Model, settings: SamplerSettings, seed: int) -> tuple[dict, xr.DataTree]:
    truth, y = simulate(model, seed)
    with model:
        pm.set_data({"y_observed": y})
    tree, _ = fit(model, settings, seed + 17, cores=1)
    return truth, tree


def coverage(truth: dict[str, float], tree: xr.DataTree, prob: float = 0.9, thin: int = 1) -> pd.DataFrame:
    """Whether each true value lies in the central `prob` interval, and its rank among the (thinned) draws."""
    posterior = tree["posterior"].dataset.isel(draw=slice(None, None, thin))
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for name, value in truth.items():
        draws = posterior[name].to_numpy().ravel()
        lower, upper = np.quantile(draws, [lo, hi])
        rows.append({"parameter": name, "truth": value, "lower": lower, "upper": upper,
                     "covered": bool(lower <= value <= upper),
                     "rank": int(np.sum(draws < value)), "n_draws": draws.size})
    return pd.DataFrame(rows)


def rank_uniformity(ranks: np.ndarray, n_draws: int, bins: int = 10) -> float:
    """Chi-square test p-value that SBC ranks are uniform on {0..n_draws}."""
    from scipy.stats import chisquare

    counts, _ = np.histogram(ranks, bins=bins, range=(0, n_draws + 1))
    return float(chisquare(counts).pvalue)


def run_sbc(model_name: str, n_simulations: int, out_dir, settings: SamplerSettings, seed: int = 2026) -> pd.DataFrame:
    """Simulation-based calibration on the default design: ranks of the true values among posterior
    draws (thinned to ~100 so ranks are near-independent), a rank table, uniformity p-values and a figure."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import yaml

    from mgbone.data import load_selection
    from mgbone.io import write_csv
    from mgbone.models import get_model
    from mgbone.models.observations import build_observations

    root = Path(__file__).resolve().parents[3]
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    dataset, provenance = load_selection(root / "data", config["default_studies"])
    obs = build_observations(dataset, reference_groups=provenance["reference_groups"])
    model_def = get_model(model_name)
    model = model_def.build(model_def.fits(obs))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = []
    for i in range(n_simulations):
        truth, tree = recover(model, settings, seed + i)
        # about 100 draws in all, so ranks are close to independent despite autocorrelation
        table = coverage(truth, tree, prob=0.9, thin=max(1, settings.draws * settings.chains // 100))
        table["simulation"] = i
        table["divergences"] = int(tree["sample_stats"]["diverging"].sum())
        tables.append(table)
        print(f"SBC {model_name}: simulation {i + 1}/{n_simulations} done", flush=True)
    ranks = pd.concat(tables, ignore_index=True)
    write_csv(out_dir / f"sbc_{model_name}_ranks.csv", ranks)
    summary = ranks.groupby("parameter").apply(
        lambda t: pd.Series({"p_uniform": rank_uniformity(t["rank"].to_numpy(), int(t["n_draws"].iloc[0])),
                             "coverage_90": t["covered"].mean()}), include_groups=False).reset_index()
    write_csv(out_dir / f"sbc_{model_name}_summary.csv", summary)
    params = summary["parameter"].tolist()
    fig, axes = plt.subplots((len(params) + 3) // 4, 4, figsize=(14, 2.4 * ((len(params) + 3) // 4)), squeeze=False)
    for ax, name in zip(axes.ravel(), params, strict=False):
        part = ranks[ranks["parameter"] == name]
        ax.hist(part["rank"] / part["n_draws"], bins=10, range=(0, 1), color="C0", alpha=0.8)
        ax.axhline(len(part) / 10, color="black", lw=0.8)
        ax.set_title(name, fontsize=8)
    for ax in axes.ravel()[len(params):]:
        ax.axis("off")
    fig.suptitle(f"SBC rank histograms, {model_name}, {n_simulations} simulations (flat = calibrated)")
    fig.savefig(out_dir / f"sbc_{model_name}.png", dpi=90, bbox_inches="tight")
    return summary


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="simulation-based calibration of an mgbone model")
    parser.add_argument("--model", default="M1")
    parser.add_argument("--simulations", type=int, default=100)
    parser.add_argument("--draws", type=int, default=250)
    parser.add_argument("--out", default="results/sbc")
    args = parser.parse_args(argv)
    settings = SamplerSettings(backend="nutpie", chains=2, draws=args.draws, tune=args.draws, target_accept=0.95,
                               prior_draws=10, mass_matrix="low_rank")
    print(run_sbc(args.model, args.simulations, args.out, settings).to_string())


if __name__ == "__main__":
    main()
