"""Figures for the report: data overview, bone-loss curves, predictive checks, rank plots (PNG files), and the
bone-mass figures the page draws inline as SVG (`headline_svg`, `bone_curves_svg`)."""

import io
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import arviz as az  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mgbone.constants import WEEKS_PER_YEAR  # noqa: E402
from mgbone.io import atomic_path  # noqa: E402
from mgbone.models.observations import fittable_rows  # noqa: E402

DPI = 80  # screen resolution: the report inlines every PNG and must stay under its 4 MB budget
BAND_ALPHAS = (("q2.5", "q97.5", 0.15, "95%"), ("q5", "q95", 0.25, "90%"), ("q25", "q75", 0.4, "50%"))


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def data_overview(dataset: pd.DataFrame, path: str | Path) -> None:
    """Observations by study and outcome (counts; dark where some rows are of a fittable form) and when."""
    counts = dataset.pivot_table(index="study_id", columns="outcome", values="value", aggfunc="count", fill_value=0)
    fittable = (
        dataset.assign(fittable=fittable_rows(dataset))
        .pivot_table(index="study_id", columns="outcome", values="fittable", aggfunc="any", fill_value=False)
        .reindex_like(counts).fillna(False).to_numpy(bool)
    )
    shade = np.where(fittable, 2.0, np.where(counts.to_numpy() > 0, 0.8, 0.0))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.35 * len(counts) + 2.5), width_ratios=(3, 2))
    ax1.imshow(shade, cmap="Blues", aspect="auto", vmin=0, vmax=2.6)
    for (i, j), n in np.ndenumerate(counts.to_numpy()):
        if n:
            ax1.text(j, i, str(n), ha="center", va="center", fontsize=8, color="white" if fittable[i, j] else "black")
    ax1.set_xticks(range(counts.shape[1]), counts.columns, rotation=60, ha="right", fontsize=8)
    ax1.set_yticks(range(counts.shape[0]), counts.index, fontsize=8)
    ax1.set_title("observations per study and outcome\n(dark: levels or percents of a model quantity; light: kept, not fitted)",
                  fontsize=10)
    order = {s: i for i, s in enumerate(counts.index)}
    colours = {"rat": "tab:red", "mouse": "tab:orange", "human": "tab:blue"}
    for species, part in dataset.groupby("species"):
        ax2.scatter(part["time_weeks"] + 1, part["study_id"].map(order), s=18, label=species, color=colours.get(species))
    ax2.set_xscale("log")
    ax2.set_yticks(range(counts.shape[0]), counts.index, fontsize=8)
    ax2.set_xlabel("time of measurement + 1 (weeks, log scale)")
    ax2.legend(fontsize=8)
    ax2.set_title("measurement times")
    _save(fig, path)


def bone_curves(bands: pd.DataFrame, path: str | Path, title: str, warning: str | None = None) -> None:
    """Bone mass (% of baseline) per scenario with 50/90/95% bands, one panel per species."""
    bone = bands[bands["quantity"] == "bone_mass"]
    groups = list(bone.groupby(bone["scenario"].map(lambda s: s.split("_")[0]), sort=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.2), squeeze=False)
    for ax, (_, part) in zip(axes[0], groups, strict=True):
        for k, (name, s) in enumerate(part.groupby("scenario", sort=False)):
            x = s["age"] if "age" in s and s["age"].notna().all() else s["time_years"]
            colour = f"C{k}"
            for lo, hi, alpha, _ in BAND_ALPHAS:
                ax.fill_between(x, s[lo], s[hi], color=colour, alpha=alpha, lw=0)
            ax.plot(x, s["q50"], color=colour, label=name)
        ax.axhline(100, color="grey", lw=0.6)
        ax.set_xlabel("age (years)" if "age" in part and part["age"].notna().all() else "years")
        ax.set_ylabel("bone mass, % of baseline")
        ax.legend(fontsize=8)
    fig.suptitle(title + (f"\n{warning}" if warning else ""), color="darkred" if warning else "black")
    _save(fig, path)


def _interval_rows(ax, p: pd.DataFrame, colour: str, labels: tuple[str, str, str], title: str) -> None:
    """One row per contrast: 90% and 50% intervals, and the observation with its reported 95% error."""
    y = np.arange(len(p))[::-1]
    ax.hlines(y, p["pi90_lower"], p["pi90_upper"], color=colour, alpha=0.35, lw=6, label=labels[0])
    ax.hlines(y, p["pi50_lower"], p["pi50_upper"], color=colour, lw=6, label=labels[1])
    ax.errorbar(p["y"], y, xerr=1.96 * p["se"].fillna(0), fmt="o", color="black", ms=4, label=labels[2])
    ax.set_yticks(y, [f"{s} · {o} · {t:.0f} wk" for s, o, t in zip(p["study_id"], p["outcome"], p["time_weeks"], strict=True)],
                  fontsize=7)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("log ratio (target / reference)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title)


def predictive_check(predictive: pd.DataFrame, path: str | Path, title: str) -> None:
    """Each observed contrast (dot, with its reported 95% error) against the 50% and 90% predictive intervals."""
    p = predictive.reset_index(drop=True)
    fig, (ax, ax_pit) = plt.subplots(1, 2, figsize=(12, 0.28 * len(p) + 1.8), width_ratios=(3, 1))
    if "prior_pi90_lower" in p:  # drawn first, so the posterior intervals sit on top
        ax.hlines(np.arange(len(p))[::-1], p["prior_pi90_lower"], p["prior_pi90_upper"], color="grey", alpha=0.25,
                  lw=10, label="90% prior predictive")
    _interval_rows(ax, p, "C0", ("90% predictive", "50% predictive", "observed (95% of its SE)"), title)
    if "loo_pit" in p:
        values = np.sort(p["loo_pit"].to_numpy())
        ax_pit.step(values, np.arange(1, len(values) + 1) / len(values), where="post", color="C0", label="LOO-PIT ECDF")
        band = 1.36 / np.sqrt(len(values))  # 95% Kolmogorov-Smirnov band around the uniform ECDF
        grid = np.linspace(0, 1, 50)
        ax_pit.fill_between(grid, np.clip(grid - band, 0, 1), np.clip(grid + band, 0, 1), color="grey", alpha=0.25,
                            label="uniform, 95% band")
        ax_pit.set_xlabel("LOO-PIT")
        ax_pit.set_title("calibration (LOO-PIT)")
        ax_pit.legend(fontsize=7, loc="upper left")
    else:
        ax_pit.axis("off")
    _save(fig, path)


def rank_plot(tree, var_names: list[str], path: str | Path) -> None:
    pc = az.plot_rank(tree, var_names=var_names, backend="matplotlib")
    with atomic_path(path) as tmp:
        pc.savefig(tmp, format="png", dpi=80)
    plt.close("all")


def agreement_plot(draws: dict[str, dict[str, np.ndarray]], parameters: list[str], path: str | Path, title: str) -> None:
    """Overlaid posterior densities of shared parameters, one line per analysis (log scale for positive ones)."""
    from scipy.stats import gaussian_kde

    cols = 4
    rows = max(1, (len(parameters) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), parameters, strict=False):
        series = {a: d[name] for a, d in draws.items() if name in d}
        positive = all(np.all(v > 0) for v in series.values())
        for k, (analysis, values) in enumerate(series.items()):
            x = np.log10(values) if positive else values
            if np.ptp(x) == 0:
                continue
            grid = np.linspace(x.min(), x.max(), 200)
            ax.plot(grid, gaussian_kde(x)(grid), color=f"C{k}", label=analysis)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("log10 value" if positive else "value", fontsize=7)
        ax.set_yticks([])
    for ax in axes.ravel()[len(parameters):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def loso_plot(held_out: pd.DataFrame, path: str | Path, title: str) -> None:
    """Each study's observations against what the other studies predicted for them (90%/50% intervals)."""
    p = held_out.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(p) + 1.8))
    _interval_rows(ax, p, "C1", ("90% predicted without the study", "50%", "observed"), title)
    _save(fig, path)


def sbc_histograms(ranks: pd.DataFrame, path: str | Path, title: str) -> None:
    """Rank histograms of simulation-based calibration, one panel per parameter (flat = calibrated)."""
    params = sorted(ranks["parameter"].unique())
    rows = max(1, (len(params) + 3) // 4)
    fig, axes = plt.subplots(rows, 4, figsize=(14, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), params, strict=False):
        part = ranks[ranks["parameter"] == name]
        ax.hist(part["rank"] / part["n_draws"], bins=10, range=(0, 1), color="C0", alpha=0.8)
        ax.axhline(len(part) / 10, color="black", lw=0.8)
        ax.set_title(name, fontsize=8)
    for ax in axes.ravel()[len(params):]:
        ax.axis("off")
    fig.suptitle(title)
    _save(fig, path)


def study_curves(curves: pd.DataFrame, observed: pd.DataFrame, path: str | Path, title: str,
                 warning: str | None = None) -> None:
    """One panel per study and outcome: predicted contrast over time (50/90/95% bands) and the observations."""
    panels = list(curves.groupby(["study_id", "outcome"], sort=True))
    # small panels, four to a row: with every registered study fitted this is the report's largest figure
    cols = 4
    rows = max(1, (len(panels) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.9 * cols, 2.4 * rows), squeeze=False)
    for ax, ((study, outcome), part) in zip(axes.ravel(), panels, strict=False):
        for k, (_, curve) in enumerate(part.groupby(["target_group", "reference_group", "kind"], sort=True)):
            x = curve["time_weeks"] / WEEKS_PER_YEAR
            for lo, hi, alpha, _ in BAND_ALPHAS:
                ax.fill_between(x, curve[lo], curve[hi], color=f"C{k}", alpha=alpha, lw=0)
            ax.plot(x, curve["q50"], color=f"C{k}", lw=1)
            keys = curve.iloc[0]
            points = observed[(observed["study_id"] == study) & (observed["outcome"] == outcome)
                              & (observed["target_group"] == keys["target_group"])
                              & (observed["reference_group"] == keys["reference_group"])
                              & (observed["kind"] == keys["kind"])]
            ax.errorbar(points["time_weeks"] / WEEKS_PER_YEAR, points["observed_pct"],
                        yerr=[points["observed_pct"] - points["observed_lower_pct"],
                              points["observed_upper_pct"] - points["observed_pct"]],
                        fmt="o", color="black", ms=4, capsize=2)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"{study} · {outcome}", fontsize=8)
        ax.set_xlabel("years", fontsize=7)
        ax.set_ylabel("% vs reference", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.suptitle(title + (f"\n{warning}" if warning else ""), color="darkred" if warning else "black")
    fig.tight_layout()
    _save(fig, path)


# ---- inline SVG (the report page draws these itself: vector, a few tens of kB, text stays text) ----
SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "mgbone", "font.size": 10}
HEADLINE_BANDS = (("q5", "q95", 0.18, "90%"), ("q25", "q75", 0.38, "50%"))


def svg_text(fig, prefix: str) -> str:
    """The figure as an <svg> element for inlining: no XML prologue, scales to its box, ids made unique."""
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    svg = svg.replace("<svg", '<svg class="figure" preserveAspectRatio="xMidYMid meet" role="img"', 1)
    # path coordinates to 0.1 pt (matplotlib writes 1e-6 pt): a third lighter, no visible change
    svg = re.sub(r' d="([^"]*)"', lambda m: ' d="' + re.sub(r"(\d+\.\d)\d+", r"\1", m.group(1)) + '"', svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', rf'url(#{prefix}-\1)', svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)


def _plain(text: str) -> str:
    return str(text).replace("$", r"\$")  # never mathtext


def headline_scenarios(bands: pd.DataFrame, claim: dict) -> list[str]:
    """What the first-screen figure draws: the claim's scenarios, every scenario sharing the low-intake
    scenario's name prefix (its first word, e.g. `postmenopausal_`), and every `drug_` scenario; in that order."""
    names = list(dict.fromkeys(bands.loc[bands["quantity"] == "bone_mass", "scenario"]))
    prefix = claim["low_intake"].split("_")[0] + "_"
    named = [n for n in (claim["low_intake"], claim["supplemented"]) if n in names]
    return named + [n for n in names if n not in named and (n.startswith(prefix) or n.startswith("drug_"))]


def headline_svg(bands: pd.DataFrame, scenarios: list[str], labels: dict[str, str], horizon_years: float | None,
                 title: str, warning: str | None = None) -> str:
    """Predicted bone mass (% of baseline) over time for the headline scenarios: median, 50% and 90% bands."""
    bone = bands[(bands["quantity"] == "bone_mass") & bands["scenario"].isin(scenarios)]
    by_age = "age" in bone and bone["age"].notna().all()
    fig, ax = plt.subplots(figsize=(10, 3.9))
    end_points = []
    for k, name in enumerate(scenarios):
        s = bone[bone["scenario"] == name]
        if s.empty:
            continue
        x = (s["age"] if by_age else s["time_years"]).to_numpy(float)
        colour = f"C{k}"
        for lo, hi, alpha, _ in HEADLINE_BANDS:
            ax.fill_between(x, s[lo], s[hi], color=colour, alpha=alpha, lw=0)
        ax.plot(x, s["q50"], color=colour, lw=2, label=_plain(labels.get(name, name)))
        end_points.append((x[-1], float(s["q50"].iloc[-1]), colour))
    for x_end, y_end, colour in end_points:
        ax.annotate(f"{y_end:.0f}%", (x_end, y_end), xytext=(4, 0), textcoords="offset points", va="center",
                    color=colour, fontsize=9, fontweight="bold")
    if horizon_years is not None and not bone.empty:
        first = bone[bone["scenario"] == scenarios[0]]
        x0 = float(first["age"].iloc[0]) if by_age else 0.0
        ax.axvline(x0 + horizon_years, color="grey", lw=0.8, ls="--")
        ax.annotate(f"{horizon_years:g} years", (x0 + horizon_years, 1), xycoords=("data", "axes fraction"),
                    xytext=(3, -2), textcoords="offset points", va="top", fontsize=8, color="grey")
    ax.axhline(100, color="grey", lw=0.6)
    ax.set_xlabel("age (years)" if by_age else "years")
    ax.set_ylabel("bone mass, % of baseline")
    ax.spines[["top", "right"]].set_visible(False)
    handles, names = ax.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles += [Patch(color="grey", alpha=0.38, lw=0), Patch(color="grey", alpha=0.18, lw=0)]
    names += ["50% band", "90% band"]
    ax.legend(handles, names, fontsize=8, loc="lower left", frameon=False)
    # wrapped to the axes' width: a one-line title longer than the plot widened the SVG's box and shrank the plot
    ax.set_title(textwrap.fill(_plain(title), 120) + (f"\n{_plain(warning)}" if warning else ""), fontsize=9, loc="left",
                 color="darkred" if warning else "black")
    return svg_text(fig, "headline")


def bone_curves_svg(bands: pd.DataFrame, species_of: dict[str, str], prefix: str, title: str,
                    warning: str | None = None) -> str:
    """Bone mass (% of baseline) per scenario with 50/90% bands, one panel per species (x: age where the
    scenario has a start age, else years); inline SVG."""
    bone = bands[bands["quantity"] == "bone_mass"]
    species = list(dict.fromkeys(species_of.get(name, "other") for name in bone["scenario"].unique()))
    fig, axes = plt.subplots(1, max(1, len(species)), figsize=(5.2 * max(1, len(species)), 3.8), squeeze=False,
                             layout="constrained")
    for col, sp in enumerate(species):
        ax = axes[0][col]
        part = bone[bone["scenario"].map(lambda n: species_of.get(n, "other")) == sp]
        by_age = "age" in part and part["age"].notna().all()
        for k, (name, s) in enumerate(part.groupby("scenario", sort=False)):
            x = (s["age"] if by_age else s["time_years"]).to_numpy(float)
            for lo, hi, alpha, _ in HEADLINE_BANDS:
                ax.fill_between(x, s[lo], s[hi], color=f"C{k}", alpha=alpha, lw=0)
            ax.plot(x, s["q50"], color=f"C{k}", lw=1.5, label=_plain(name))
        ax.axhline(100, color="grey", lw=0.6)
        ax.set_title(sp, fontsize=10)
        ax.set_xlabel("age (years)" if by_age else "years")
        ax.set_ylabel("bone mass, % of baseline")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(_plain(title) + (f"\n{_plain(warning)}" if warning else ""), fontsize=11,
                 color="darkred" if warning else "black")
    return svg_text(fig, prefix)
