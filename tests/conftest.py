"""Shared fixtures. Tables built here are SYNTHETIC (marked so in their citation) and exist only to
exercise validation and arithmetic; they never enter data/."""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("study_id,group,role,species,sex,life_stage,mg_dose,mg_dose_unit,time,time_unit,outcome,statistic,value,"
          "unit,dispersion,dispersion_type,ci_lower,ci_upper,n,locator,digitised,note")
SYNTHETIC_ROWS = [
    "Synthetic2000,low_Mg,treatment,rat,F,adult,20,mg/kg diet,12,week,serum_mg,mean,0.4,mg/dL,0.2,SD,,,6,Table 1,,synthetic",
    "Synthetic2000,control,control,rat,F,adult,500,mg/kg diet,12,week,serum_mg,mean,1.9,mg/dL,0.2,SD,,,6,Table 1,,synthetic",
    "Synthetic2000,low_Mg,treatment,rat,F,adult,20,mg/kg diet,12,week,pth,mean,36,pg/mL,8,SE,,,6,Table 1,,synthetic",
    "Synthetic2000,control,control,rat,F,adult,500,mg/kg diet,12,week,pth,mean,109,pg/mL,30,SD,,,6,Table 1,,synthetic",
    "Synthetic2000,low_Mg,treatment,rat,F,adult,20,mg/kg diet,12,week,trabecular_bone_volume,pct_difference_vs_control,-40,percent,,CI95,-50,-30,6,Fig 2,,synthetic",
]


def pytest_configure(config):
    """Start every test session from an empty PyTensor/numba compile cache, as a new machine does.

    A warm cache once hid a reproducibility bug (fast-math code compiled fresh and loaded from the
    cache gave different draws), so the session's first workflow run (`finished_run`) compiles from
    scratch and later runs in the same session (e.g. the `--cores 1` rerun) reuse that cache: their
    tables are compared byte for byte, which is the cold-vs-warm check. Subprocesses inherit the flags.
    """
    _skip_slurm_config_probe()
    if os.environ.get("MGBONE_KEEP_COMPILE_CACHE"):  # opt-out for quick local iteration
        return
    compiledir = tempfile.mkdtemp(prefix="mgbone-cold-compiledir-")
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("base_compiledir=")]
    os.environ["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={compiledir}"])
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(compiledir, "numba")
    config.cold_compiledir = compiledir


# The workflow tests run Snakemake dozens of times. Once the `cluster` extra is installed, every Snakemake start
# imports the SLURM executor plugin, which runs `scontrol show config` to read MinJobAge; with SLURM installed but
# its controller down (the state tests/cluster/slurm.sh leaves) that call waits about 9 s for the controller. The
# local runs never use SLURM, so the test session answers that one query at once ("no controller") through a shim
# first on PATH; every other scontrol call, and this one while the test cluster is up (test_cluster.py sets
# SLURM_UP_ENV), goes to the real scontrol.
SLURM_UP_ENV = "MGBONE_TEST_SLURM_UP"
SHIM_PREFIX = "mgbone-scontrol-shim-"


def _skip_slurm_config_probe() -> None:
    real = shutil.which("scontrol")
    if real is None or SHIM_PREFIX in real:  # (an xdist worker inherits the controller's shim)
        return
    shim_dir = Path(tempfile.mkdtemp(prefix=SHIM_PREFIX))
    shim = shim_dir / "scontrol"
    shim.write_text("#!/bin/sh\n"
                    f'if [ "$1 $2" = "show config" ] && [ -z "${{{SLURM_UP_ENV}:-}}" ]; then exit 1; fi\n'
                    f'exec "{real}" "$@"\n')
    shim.chmod(0o755)
    os.environ["PATH"] = f"{shim_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.hookimpl(tryfirst=True)  # marks added before xdist's own hook turns group marks into node ids
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`--dist loadgroup`, what `make test` uses), every test that reads the tiny workflow run
    goes to one worker, so the run is made once (a session fixture lives per worker); the rest share the cores."""
    for item in items:
        if "finished_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_workflow_run"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class SyntheticData:
    """A data directory with one synthetic study, which a test may corrupt in one place."""

    def __init__(self, root: Path):
        self.root = root
        (root / "studies").mkdir(parents=True)
        shutil.copy(ROOT / "data" / "vocabulary.yaml", root / "vocabulary.yaml")
        self.table = root / "studies" / "Synthetic2000.csv"
        self.registry = {
            "studies": {
                "Synthetic2000": {
                    "citation": "SYNTHETIC test table, not a publication",
                    "pmid": "1",
                    "doi": None,
                    "url": "https://example.invalid/synthetic",
                    "design": "animal_deficiency",
                    "species": "rat",
                    "population": "synthetic rats",
                    "time_origin": "start of diet",
                    "file": "studies/Synthetic2000.csv",
                    "sha256": "0" * 64,
                    "caveats": "synthetic",
                }
            }
        }
        self.write_rows([HEADER, *SYNTHETIC_ROWS])

    def write_rows(self, lines: list[str]) -> None:
        self.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))

    def write_bytes(self, raw: bytes, update_checksum: bool = True) -> None:
        self.table.write_bytes(raw)
        if update_checksum:
            self.registry["studies"]["Synthetic2000"]["sha256"] = sha256(self.table)
        self.save_registry()

    def save_registry(self) -> None:
        (self.root / "studies.yaml").write_text(yaml.safe_dump(self.registry, sort_keys=False))


@pytest.fixture
def synthetic(tmp_path) -> SyntheticData:
    return SyntheticData(tmp_path / "data")


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """The tiny config run once to the end with --cores 8 (shared by the end-to-end, fault, browser and
    cluster tests; compared byte for byte with --cores 1 and with the SLURM run)."""
    from tests.e2e import HOSTILE, TINY, copy_project, run

    project = copy_project(tmp_path_factory.mktemp("e2e") / "project")
    # a registry string that would run script if the report did not escape it
    registry = project / "data/studies.yaml"
    entries = yaml.safe_load(registry.read_text())
    first = next(iter(entries["studies"].values()))
    first["caveats"] = f"{HOSTILE} {first.get('caveats') or ''}"
    registry.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=1000))
    assert HOSTILE in registry.read_text()  # the escaping tests must see the string, not a silent no-op
    run(project, "--cores", "8", *TINY)
    return project
