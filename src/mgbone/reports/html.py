"""The self-contained HTML review page (Jinja2 with autoescaping). Bone-mass figures are drawn inline as SVG
from the band tables; the other figures are inlined once each as PNG data URIs, re-encoded with a 256-colour
palette when that is lighter (matplotlib figures have few colours: about a third of the size, no visible loss).
One small inlined script sorts and filters the data table; nothing is fetched."""

import base64
import hashlib
import io
import json
import math
import subprocess
from pathlib import Path

import jinja2
import pandas as pd

from mgbone.analysis.evidence import evidence_by_link
from mgbone.data import load_registry
from mgbone.models import get_model
from mgbone.reports import figures, interactive

TEMPLATES = Path(__file__).parent / "templates"
SUMMARY_COLUMNS = ["quantity", "mean", "sd", "median", "eti90_lower", "eti90_upper", "eti95_lower", "eti95_upper",
                   "hdi90_lower", "hdi90_upper", "hdi95_lower", "hdi95_upper", "r_hat", "ess_bulk", "ess_tail",
                   "mcse_mean", "mcse_sd"]


def lighter_png(raw: bytes) -> bytes:
    """The PNG re-encoded with a 256-colour palette (on white) if that is smaller, else as it is."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as image:
            rgba = image.convert("RGBA")
    except OSError:
        return raw
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(raw) else raw


def data_uri(path: str | Path) -> str:
    return png_uri(lighter_png(Path(path).read_bytes()))


def png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# Each study's time course is the largest figure (a panel per study and outcome): inlined for the claim's analysis,
# and for any other analysis only while light, so the page keeps its 4 MB budget with every study fitted.
INLINE_STUDY_CURVES_BYTES = 250_000


def study_curves_uri(config: dict, name: str, path: str | Path) -> str | None:
    """The figure's data URI, or None when it is left in its file (not the claim's analysis and heavy)."""
    light = lighter_png(Path(path).read_bytes())
    if name != config.get("claim", {}).get("analysis") and len(light) > INLINE_STUDY_CURVES_BYTES:
        return None
    return png_uri(light)


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}g}"
    return str(value)


def probability_relation(value: float, draws: int | None = None) -> str:
    """`= 0.27`, or a bound (`< 0.001`, `> 0.999`) without an `=` in front: "P(x) > 0.999", never "P(x) = > 0.999"."""
    text = probability(value, draws)
    return text if text.startswith(("<", ">")) else f"= {text}"


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
    bands = pd.read_csv(files["bands"])
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
        "ppc": data_uri(files["ppc"]),
        "study_curves": study_curves_uri(config, name, files["study_curves"]),
        "study_curves_file": str(files["study_curves"]),
        "rank": data_uri(files["rank"]),
        "studies": sorted(pd.read_csv(files["dataset"])["study_id"].unique()),
        "sensitivity": read_table(files["sensitivity"]),
        "curves_svg": figures.bone_curves_svg(bands, {sc["name"]: sc["species"] for sc in config["scenarios"]},
                                              f"curves-{name}", f"{name}: predicted bone mass per scenario",
                                              None if _gate_passed(bands) else "fit failed the diagnostics gate"),
        "bands": bands,
        "routes": read_table(files["routes"]) if files.get("routes") else [],
    }


def _gate_passed(bands: pd.DataFrame) -> bool:
    return "gate_passed" not in bands or bool(bands["gate_passed"].astype(str).str.lower().eq("true").all())


def scenario_label(spec: dict | None, name: str) -> str:
    """`name (200 mg/day Mg)`: the scenario's name with its magnesium exposure, as configured."""
    if not spec:
        return name
    if spec.get("mg_intake_mg_day") is not None:
        return f"{name} ({spec['mg_intake_mg_day']:g} mg/day Mg)"
    if spec.get("mg_pct_requirement") is not None:
        return f"{name} ({spec['mg_pct_requirement']:g}% of Mg requirement)"
    return name


def headline_figure(config: dict, headline: dict) -> str:
    """The first-screen picture: bone mass over time in the claim's scenarios (and any drug_ scenario)."""
    claim = config["claim"]
    bands = headline["bands"]
    names = figures.headline_scenarios(bands, claim)
    specs = {sc["name"]: sc for sc in config["scenarios"]}
    labels = {n: scenario_label(specs.get(n), n) for n in names}
    others = [n for n in names if n not in (claim["low_intake"], claim["supplemented"])]
    title = ("Predicted bone mass from the menopause: low magnesium intake vs supplemented"
             + "".join(f" vs {n}" for n in others)
             + f" ({headline['model'].title}, analysis {headline['name']}; median, 50% and 90% bands)")
    warning = None if _gate_passed(bands) else "the fit failed the diagnostics gate: treat with caution"
    return figures.headline_svg(bands, names, labels, claim.get("horizon_years"), title, warning)


def loo_section(rows: list[dict]) -> tuple[list[dict], str | None]:
    """LOO rows, or (no rows, the reason once) when the analyses share no observation."""
    def missing(value) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""

    if rows and all(missing(r.get("elpd")) for r in rows):
        reasons = list(dict.fromkeys(str(r.get("warning") or "no shared observations") for r in rows))
        return [], "; ".join(reasons)
    return rows, None


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
                        "analyses": [a["name"] for a in contexts if study_id in a["info"].get("fitted_studies", a["studies"])],
                        "why_not": next((a["info"]["not_fitted"][study_id] for a in contexts
                                         if study_id in a["info"].get("not_fitted", {})), ""),
                        "outcome_list": list(per_outcome["outcome"]), "n_rows": int(per_outcome["n"].sum()),
                        "outcomes": ", ".join(f"{o} ({n})" for o, n in zip(per_outcome["outcome"], per_outcome["n"], strict=True))})
    filters = {"design": sorted({st["entry"]["design"] for st in studies}),
               "species": sorted({st["entry"]["species"] for st in studies}),
               "outcome": sorted({o for st in studies for o in st["outcome_list"]}),
               "fitted": [a["name"] for a in contexts]}
    comparison_sections = {}
    for name, paths in (comparisons or {}).items():
        loo_rows, loo_note = loo_section(read_table(paths["loo"]))
        comparison_sections[name] = {"analyses": config["comparisons"][name]["analyses"], "loo": loo_rows,
                                     "loo_note": loo_note, "agreement": read_table(paths["agreement"]),
                                     "figure": data_uri(paths["figure"])}
    extras = {kind: {name: {"summary": read_table(paths["summary"]), "figure": data_uri(paths["figure"])}
                     for name, paths in (given or {}).items()}
              for kind, given in (("loso", loso), ("sbc", sbc))}
    headline = next((a for a in contexts if a["name"] == config["claim"]["analysis"]), contexts[0])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    env.filters["prob"] = probability
    env.filters["prob_rel"] = probability_relation
    env.filters["pct"] = lambda v: f"{100 * v:.0f}%"
    template = env.get_template("report.html.j2")
    return template.render(
        title=config["report"]["title"],
        headline=headline,
        headline_figure=headline_figure(config, headline),
        filters=filters,
        table_script=interactive.TABLE_SCRIPT,
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
        prior_threshold=config.get("sensitivity", {}).get("threshold", 0.05),
    )
