"""Running the workflow in a scratch copy of the project (end-to-end and fault tests)."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ["--configfile", ".test/config.yaml", "--replace-workflow-config"]
TABLES = ["tiny/summary/parameters.csv", "tiny/summary/derived.csv", "tiny/summary/probabilities.csv",
          "tiny/predict/bone_loss_bands.csv", "tiny/predict/coverage.csv", "tiny/diagnostics/parameters.csv",
          "tiny/data/dataset.csv", "tiny/summary/sensitivity.csv", "tiny/loso/held_out.csv",
          "tiny_rat/sbc/ranks.csv", "comparisons/rat_only_vs_with_cohort/agreement.csv"]


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "data", "config", ".test"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target / name)
    return target


def run(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*SNAKEMAKE, *args], cwd=project, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


HOSTILE = "<script>alert(1)</script>"
