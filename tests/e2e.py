"""Running the workflow in a scratch copy of the project (end-to-end and fault tests)."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ["--configfile", ".test/config.yaml", "--replace-workflow-config"]
# What a thread count could change: the two multi-threaded rules (fit, loso_batch) of one analysis and every
# table computed from their draws. The SBC batches run one thread under any
# --cores and call the same sampler as the fit, so re-running the rest of the tiny workflow would test nothing more.
THREADED_TABLES = ["tiny/summary/parameters.csv", "tiny/summary/derived.csv", "tiny/summary/probabilities.csv",
                   "tiny/predict/bone_loss_bands.csv", "tiny/predict/coverage.csv", "tiny/diagnostics/parameters.csv",
                   "tiny/data/dataset.csv", "tiny/summary/sensitivity.csv", "tiny/loso/held_out.csv"]


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
