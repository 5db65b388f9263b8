"""The catalog's own checks: snakemake --lint (only the untestable conda item) and snakefmt --check."""

import re
import subprocess
import sys

from tests.conftest import ROOT

CONDA_ITEM = "Specify a conda environment or container for each rule."


def test_snakemake_lint_reports_only_the_conda_item():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True)
    text = result.stdout + result.stderr
    items = re.findall(r"^\s+\* (.+?):?$", text, flags=re.M)
    assert items, text[-2000:]
    others = {i.rstrip(":") for i in items} - {CONDA_ITEM.rstrip(".") + ".", CONDA_ITEM}
    assert not others, f"unexpected lint items: {others}"


def test_snakefmt_check_passes():
    files = ["Snakefile", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workflow/rules").glob("*.smk"))]
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
