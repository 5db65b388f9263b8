"""The tiny workflow through a real SLURM scheduler (a single-node cluster on this machine, set up by
tests/cluster/slurm.sh) gives the same tables as a local run, and every job is a SLURM job whose
request matches the rule's threads, mem_mb and runtime. Run with `make test-cluster` (root)."""

import csv
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, SLURM_UP_ENV
from tests.e2e import SNAKEMAKE, TINY, copy_project

pytestmark = pytest.mark.cluster

SLURM_SH = ROOT / "tests/cluster/slurm.sh"
CANNOT = 77  # slurm.sh: this machine cannot host the cluster (not root, no apt, ...)
SLURM_TIMEOUT = 900  # seconds; the whole tiny run took 5.9 min through SLURM on the 2-core machine under load
# one analysis end to end (every kind of per-analysis job, a multi-threaded fit among them): each SLURM job
# starts its own Snakemake, so the whole tiny workflow (21 jobs) would cost CI minutes without testing more
TARGETS = ["results/tiny/summary/claim.json", "results/tiny/summary/sensitivity.csv",
           "results/tiny/predict/bone_loss_bands.csv", "results/tiny/diagnostics/parameters.csv"]


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node cluster; stopped afterwards only if this fixture started it."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the `cluster` extra is not installed")
    if os.geteuid() != 0:
        pytest.skip("setting up SLURM needs root (Debian packages, daemons, /etc/slurm)")
    was_up = subprocess.run([SLURM_SH, "status"], capture_output=True).returncode == 0
    up = subprocess.run([SLURM_SH, "up"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    if up.returncode == CANNOT:
        pytest.skip(up.stderr.strip() or up.stdout.strip())
    assert up.returncode == 0, f"tests/cluster/slurm.sh up failed:\n{up.stdout}\n{up.stderr}"
    os.environ[SLURM_UP_ENV] = "1"  # the plugin's MinJobAge query goes to the real scontrol (tests/conftest.py)
    yield
    os.environ.pop(SLURM_UP_ENV, None)
    if not was_up:
        subprocess.run([SLURM_SH, "down"], capture_output=True, timeout=120)


def cancel_jobs_of(project: Path) -> None:
    """scancel what a killed snakemake left in the queue (jobs whose working directory is project)."""
    queue = subprocess.run(["squeue", "-h", "-o", "%i %Z"], capture_output=True, text=True).stdout
    ids = [line.split()[0] for line in queue.splitlines() if line.split()[1:] == [str(project)]]
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True)


def node_cpus() -> int:
    """The most CPUs any node of the cluster has."""
    return max(int(n) for n in subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True,
                                              check=True).stdout.split())


def run_on_slurm(project: Path, *args: str) -> str:
    """snakemake through the slurm executor and workflow profile, in the foreground, stdin closed and
    under a timeout (the plugin can wait forever when it cannot read job states); returns its log."""
    command = [*SNAKEMAKE, "--executor", "slurm", "--workflow-profile", "workflow/profiles/slurm",
               # no accounting database on the test cluster: sacct fails, squeue works
               "--slurm-status-command", "squeue",
               # first status poll after 2 s instead of 40 s
               "--slurm-init-seconds-before-status-checks", "2",
               # fit asks for 4 threads; a request above the node's CPUs would wait forever (PartitionConfig)
               "--max-threads", str(node_cpus()),
               *args]
    try:
        result = subprocess.run(command, cwd=project, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=SLURM_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        cancel_jobs_of(project)
        raise AssertionError(f"snakemake --executor slurm did not finish within {SLURM_TIMEOUT} s") from error
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"snakemake --executor slurm failed:\n{log[-5000:]}"
    return log


def submitted_jobs(log: str) -> dict[str, dict]:
    """SLURM job id -> the rule, threads, mem_mb and runtime snakemake printed for that job."""
    blocks = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", log):
        head = re.match(r"(?:local)?rule (\w+):", block)
        jobid = re.search(r"^\s+jobid: (\d+)$", block, re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        if head and jobid and resources:
            threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
            values = dict(re.findall(r"(\w+)=([^,]+)", resources.group(1)))
            blocks[jobid.group(1)] = {"rule": head.group(1), "threads": int(threads.group(1)) if threads else 1,
                                      "mem_mb": int(values["mem_mb"]), "runtime": int(values["runtime"])}
    submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)
    return {slurm_id: blocks[jobid] for jobid, slurm_id in submitted}


def minutes(limit: str) -> int:
    """squeue's time limit ([D-][HH:]MM:SS) in minutes."""
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, mins, secs = ([0] * (3 - len(parts)) + parts)
    return int(days or 0) * 1440 + hours * 60 + mins + (secs > 0)


# columns holding seconds of wall time (fold_sampling_s in the leave-one-study-out tables): they differ
# from run to run, so they are left out of the comparison; every other byte must be the same
WALL_CLOCK = re.compile(r"_s$")


def without_wall_clock(raw: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(raw.decode())))
    if not rows or not any(WALL_CLOCK.search(name) for name in rows[0]):
        return raw
    keep = [i for i, name in enumerate(rows[0]) if not WALL_CLOCK.search(name)]
    return "\n".join(",".join(row[i] for i in keep) for row in rows).encode()


def result_tables(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project / "results")): without_wall_clock(p.read_bytes())
            for p in sorted((project / "results").rglob("*.csv"))}


def test_tiny_run_on_slurm_matches_local_run(slurm_cluster, finished_run, tmp_path):
    local = finished_run  # the tiny config run locally with --cores 8 (tests/conftest.py)
    cluster = copy_project(tmp_path / "slurm")
    # the same inputs as that run (its registry carries a string the report must escape)
    shutil.copy(local / "data/studies.yaml", cluster / "data/studies.yaml")
    # Snakemake (9.27.1) starts each cluster job with --configfiles but without
    # --replace-workflow-config, so inside the jobs .test/config.yaml is merged INTO config/config.yaml
    # (all default analyses appear; the tiny fits get the default mass_matrix) instead of replacing it.
    # Giving the workflow's own config file the tiny config makes both merges the same.
    (cluster / "config/config.yaml").write_bytes((cluster / ".test/config.yaml").read_bytes())
    log = run_on_slurm(cluster, *TINY, *TARGETS)

    # every job went through SLURM, and asked for what the rule declares
    jobs = submitted_jobs(log)
    assert {job["rule"] for job in jobs.values()} == {"pull", "fit", "diagnose", "predict", "summarize",
                                                      "sensitivity"}, log[-3000:]
    queue = subprocess.run(["squeue", "-h", "--states=all", "-j", ",".join(jobs), "-o", "%i|%k|%C|%m|%l|%T|%Z"],
                           capture_output=True, text=True, check=True).stdout
    seen = {}
    for line in queue.splitlines():
        slurm_id, comment, cpus, memory, limit, state, workdir = line.split("|")
        seen[slurm_id] = (comment.strip(), int(cpus), memory, minutes(limit), state, workdir)
    for slurm_id, job in jobs.items():
        assert slurm_id in seen, f"SLURM job {slurm_id} ({job['rule']}) unknown to squeue"
        comment, cpus, memory, limit, state, workdir = seen[slurm_id]
        assert comment.startswith(f"rule_{job['rule']}") and workdir == str(cluster), (slurm_id, seen[slurm_id])
        assert state == "COMPLETED", (slurm_id, job, state)
        assert (cpus, memory, limit) == (job["threads"], f"{job['mem_mb']}M", job["runtime"]), (job, seen[slurm_id])
    assert max(job["threads"] for job in jobs.values()) > 1, "no multi-threaded job was requested"

    # same bytes in every result table the SLURM run wrote (but for wall-clock columns)
    ours, theirs = result_tables(local), result_tables(cluster)
    assert len(theirs) >= 8 and set(theirs) <= set(ours), sorted(theirs)
    different = [name for name in theirs if ours[name] != theirs[name]]
    if different:
        import difflib

        name = different[0]
        diff = "\n".join(list(difflib.unified_diff(ours[name].decode().splitlines(),
                                                   theirs[name].decode().splitlines(), lineterm=""))[:12])
        raise AssertionError(f"{different} differ between the local and the SLURM run; {name}:\n{diff}")
