"""The page written when a run fails: what finished, what is missing, and where the logs are.

The full report is only written by its rule, from complete inputs; a failed run (e.g. one
analysis's study table is broken, under `--keep-going`) gets `results/report.partial.html`
instead, so nothing incomplete ever sits under the name of the complete report.
"""

from pathlib import Path

import jinja2

from mgbone.reports.html import TEMPLATES

ANALYSIS_OUTPUTS = {
    "dataset": "data/dataset.csv",
    "posterior": "fit/posterior.nc",
    "diagnostics": "diagnostics/diagnostics.json",
    "bands": "predict/bone_loss_bands.csv",
    "parameter summary": "summary/parameters.csv",
    "claim": "summary/claim.json",
}
PARTIAL_REPORT = "results/report.partial.html"


def failed_logs(folder: Path, pattern: str = "*.log") -> list[str]:
    return sorted(str(p) for p in folder.glob(pattern)
                  if "Traceback" in p.read_text(errors="replace") or "Error" in p.read_text(errors="replace"))


def analysis_status(results: Path, analysis: str) -> dict:
    present = {label: (results / analysis / rel).exists() for label, rel in ANALYSIS_OUTPUTS.items()}
    logs = failed_logs(results / "logs" / analysis, "**/*.log")
    return {"name": analysis, "complete": all(present.values()),
            "missing": [label for label, ok in present.items() if not ok], "failed_logs": logs}


def render_partial(config: dict, results: str | Path = "results") -> str:
    results = Path(results)
    analyses = [analysis_status(results, name) for name in sorted(config["analyses"])]
    comparisons = [{"name": name, "complete": (results / "comparisons" / name / "agreement.csv").exists()}
                   for name in sorted(config.get("comparisons", {}))]
    other_logs = failed_logs(results / "logs") + failed_logs(results / "logs" / "comparisons")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("partial.html.j2").render(
        title=config.get("report", {}).get("title", "mgbone report"), analyses=analyses, comparisons=comparisons, other_logs=other_logs,
        css=(TEMPLATES / "report.css").read_text())


def write_partial_report(config: dict, results: str | Path = "results", path: str | Path = PARTIAL_REPORT) -> Path:
    from mgbone.io import write_text

    write_text(path, render_partial(config, results))
    return Path(path)
