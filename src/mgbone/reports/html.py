"""The self-contained HTML review page (Jinja2 with autoescaping; figures inlined as data URIs)."""

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import jinja2
import pandas as pd

from mgbone.data import load_registry
from mgbone.models import get_model
from mgbone.reports import interactive
from mgbone.reports.evidence import evidence_by_link

TEMPLATES = Path(__file__).parent / "templates"
SUMMARY_COLUMNS = ["quantity", "mean", "sd", "median", "eti90_lower", "eti90_upper", "eti95_lower", "eti95_upper",
                   "hdi90_lower", "hdi90_upper", "hdi95_lower", "hdi95_upper", "r_hat", "ess_bulk", "ess_tail"]


def data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}g}"
    return str(value)


def probability(value: float, draws: int | None = None) -> str:
    """A Monte Carlo probability: 0 or 1 from finitely many draws is shown as a bound, not a certainty."""
    floor = 1.0 / draws if draws else 0.001
    if value <= 0:
        return f"< {max(floor, 0.001):.3g}"
    if value >= 1:
        return f"> {1 - max(floor, 0.001):.3g}"
    return f"{value:.2g}"


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def study_links(entry: dict) -> list[tuple[str, str]]:
    links = []
    if entry.get("doi"):
        links.append((f"doi:{entry['doi']}", f"https://doi.org/{entry['doi']}"))
    if entry.get("pmid"):
        links.append((f"PMID {entry['pmid']}", f"https://pubmed.ncbi.nlm.nih.gov/{entry['pmid']}/"))
    return links


def read_table(path) -> list[dict]:
    """CSV rows as dicts; an empty file (header only or nothing) gives no rows."""
    if Path(path).stat().st_size <= 1:
        return []
    return pd.read_csv(path, keep_default_na=False, na_values=[""]).to_dict("records")


def analysis_context(config: dict, name: str, files: dict) -> dict:
    model = get_model(config["analyses"][name]["model"])
    diagnostics = json.loads(Path(files["diagnostics"]).read_text())
    info = json.loads(Path(files["fit_info"]).read_text())
    summary = pd.read_csv(files["summary"])
    derived = pd.read_csv(files["derived"]) if Path(files["derived"]).stat().st_size > 1 else pd.DataFrame()
    return {
        "name": name,
        "model": model,
        "priors": model.prior_table(),
        "diagnostics": diagnostics,
        "info": info,
        "summary": summary[[c for c in SUMMARY_COLUMNS if c in summary]].to_dict("records"),
        "derived": derived[[c for c in SUMMARY_COLUMNS if c in derived]].to_dict("records") if not derived.empty else [],
        "probabilities": pd.read_csv(files["probabilities"]).to_dict("records")
        if Path(files["probabilities"]).stat().st_size > 1 else [],
        "coverage": pd.read_csv(files["coverage"]).to_dict("records"),
        "claim": json.loads(Path(files["claim"]).read_text()),
        "curves": data_uri(files["curves"]),
        "ppc": data_uri(files["ppc"]),
        "study_curves": data_uri(files["study_curves"]),
        "rank": data_uri(files["rank"]),
        "studies": sorted(pd.read_csv(files["dataset"])["study_id"].unique()),
        "sensitivity": read_table(files["sensitivity"]),
        "curves_interactive": interactive.bone_curves(pd.read_csv(files["bands"]),
                                                      {sc["name"]: sc["species"] for sc in config["scenarios"]},
                                                      f"curves-{name}",
                                                      f"{name}: predicted bone mass (hover for bands; drag to zoom)"),
    }


def render_report(config: dict, config_text: str, analyses: dict[str, dict], overview_png, manifest_json,
                  catalog_csv, root: Path, comparisons: dict | None = None, loso: dict | None = None,
                  sbc: dict | None = None) -> str:
    """`comparisons`: name -> {loo, agreement, figure} paths; `loso` and `sbc`: analysis -> {summary, figure}."""
    registry = load_registry(Path(config["data_dir"]) / "studies.yaml")
    manifest = json.loads(Path(manifest_json).read_text())
    dataset = pd.read_csv(catalog_csv)
    counts = dataset.groupby(["study_id", "outcome"]).size().rename("n").reset_index()
    contexts = [analysis_context(config, name, files) for name, files in analyses.items()]
    studies = []
    for study_id in sorted(dataset["study_id"].unique()):
        entry = registry[study_id]
        per_outcome = counts[counts["study_id"] == study_id]
        studies.append({"id": study_id, "entry": entry, "links": study_links(entry),
                        "analyses": [a["name"] for a in contexts if study_id in a["studies"]],
                        "outcomes": ", ".join(f"{o} ({n})" for o, n in zip(per_outcome["outcome"], per_outcome["n"], strict=True))})
    comparison_sections = {name: {"analyses": config["comparisons"][name]["analyses"], "loo": read_table(paths["loo"]),
                                  "agreement": read_table(paths["agreement"]), "figure": data_uri(paths["figure"])}
                           for name, paths in (comparisons or {}).items()}
    extras = {kind: {name: {"summary": read_table(paths["summary"]), "figure": data_uri(paths["figure"])}
                     for name, paths in (given or {}).items()}
              for kind, given in (("loso", loso), ("sbc", sbc))}
    headline = next((a for a in contexts if a["name"] == config["claim"]["analysis"]), contexts[0])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    env.filters["prob"] = probability
    env.filters["pct"] = lambda v: f"{100 * v:.0f}%"
    template = env.get_template("report.html.j2")
    return template.render(
        title=config["report"]["title"],
        headline=headline,
        analyses=contexts,
        studies=studies,
        manifest=manifest,
        overview=data_uri(overview_png),
        config_text=config_text,
        config_sha256=hashlib.sha256(config_text.encode("utf-8")).hexdigest(),
        commit=git_commit(root),
        css=(TEMPLATES / "report.css").read_text(),
        n_rows=len(dataset),
        evidence=evidence_by_link(dataset, {s for a in contexts for s in a["studies"]}).to_dict("records"),
        comparisons=comparison_sections,
        loso=extras["loso"],
        sbc=extras["sbc"],
        plotly_js=interactive.plotly_library(),
        prior_threshold=config.get("sensitivity", {}).get("threshold", 0.05),
    )
