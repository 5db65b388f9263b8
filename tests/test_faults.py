"""Faults of long runs, tested: killed fits, concurrent invocations, failing jobs, full or read-only disks."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import sha256
from tests.e2e import TINY, copy_project, run

SUMMARY = "results/tiny/summary/parameters.csv"
MGBONE_RUN = [sys.executable, "-m", "mgbone.cli", "run"]


def wait_for(predicate, timeout: float = 300.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def sampling_started(project: Path) -> bool:
    log = project / "results/logs/tiny/fit.log"
    return log.exists() and "NUTS with" in log.read_text(errors="replace")


def fit_processes(project: Path) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if "fit.py" in cmd and proc.info["cwd"] == str(project):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def no_complete_looking_partials(project: Path) -> None:
    assert not (project / "results/tiny/fit/posterior.nc").exists()
    assert not (project / "results/tiny/fit/fit_info.json").exists()


def test_fit_killed_mid_sampling_reruns_to_identical_results(finished_run, tmp_path):
    project = copy_project(tmp_path / "killed-fit")
    job = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *TINY, SUMMARY], cwd=project,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: sampling_started(project), what="sampling to start")
    wait_for(lambda: fit_processes(project), timeout=30, what="the fit process")
    for proc in fit_processes(project):
        proc.send_signal(signal.SIGKILL)
    output, _ = job.communicate(timeout=300)
    assert job.returncode != 0
    assert "results/logs/tiny/fit.log" in output  # the failure names its log
    no_complete_looking_partials(project)
    run(project, "--cores", "2", *TINY, SUMMARY)  # the same command again
    assert (project / SUMMARY).read_bytes() == (finished_run / SUMMARY).read_bytes()


def test_run_killed_whole_is_resumed_and_a_second_run_is_refused(finished_run, tmp_path):
    project = copy_project(tmp_path / "killed-run")
    command = [*MGBONE_RUN, "--cores", "1", *TINY, SUMMARY]
    first = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    locks = project / ".snakemake/locks"
    wait_for(lambda: locks.is_dir() and any(locks.iterdir()), timeout=120, what="the first run to lock the directory")
    second = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert "another mgbone run is active" in second.stderr and f"pid {first.pid}" in second.stderr
    wait_for(lambda: sampling_started(project), what="sampling to start")
    assert first.poll() is None, "the first run ended before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)  # the whole run: Snakemake and its jobs
    first.wait(timeout=60)
    no_complete_looking_partials(project)
    # plain Snakemake now trips over what the killed run left (its lock); `mgbone run` knows it is stale
    plain = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *TINY, SUMMARY], cwd=project,
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode != 0
    assert "cannot be locked" in plain.stdout + plain.stderr or "Incomplete files" in plain.stdout + plain.stderr
    rerun = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "removing the lock of a run that was stopped" in rerun.stderr
    assert (project / SUMMARY).read_bytes() == (finished_run / SUMMARY).read_bytes()
    assert not list((project / "results").rglob("*.partial"))


def without_heavy_analyses(project: Path) -> None:
    config = project / ".test/config.yaml"
    text = config.read_text().replace("  analyses: [tiny]\n", "  analyses: []\n").replace(
        "  analyses: [tiny_rat]\n", "  analyses: []\n")
    config.write_text(text)


def test_keep_going_finishes_independent_analyses_and_marks_what_is_missing(tmp_path):
    project = copy_project(tmp_path / "keep-going")
    without_heavy_analyses(project)
    table = project / "data/studies/Sowers2010.csv"  # read by analysis `tiny` only
    before = sha256(table)
    lines = table.read_text().splitlines()
    fields = lines[1].split(",")
    fields[lines[0].split(",").index("value")] = "not-a-number"
    lines[1] = ",".join(fields)
    table.write_text("\n".join(lines) + "\n")
    registry = project / "data/studies.yaml"  # the checksum updated, as a user adding the edit would
    registry.write_text(registry.read_text().replace(before, sha256(table)))
    result = run(project, "--cores", "2", "--keep-going", *TINY, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "results/logs/tiny/pull.log" in output
    pull_log = (project / "results/logs/tiny/pull.log").read_text()
    assert "Sowers2010.csv, row 2, column 'value'" in pull_log
    assert (project / "results/tiny_rat/summary/claim.json").exists()  # the independent analysis finished
    assert not (project / "results/report.html").exists()
    partial = (project / "results/report.partial.html").read_text()
    assert "INCOMPLETE" in partial and "MISSING" in partial and "results/logs/tiny/pull.log" in partial


def mount_tmpfs(path: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small or read-only filesystem needs root")
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {result.stderr.strip()}")


@pytest.fixture
def mounted_results(tmp_path):
    project = copy_project(tmp_path / "disk")
    yield project
    subprocess.run(["umount", str(project / "results")], capture_output=True)


def test_full_disk_stops_with_a_clear_error_and_nothing_half_written(mounted_results):
    project = mounted_results
    mount_tmpfs(project / "results", "size=400k")
    result = run(project, "--cores", "1", *TINY, "results/tiny/fit/posterior.nc", check=False)
    assert result.returncode != 0
    logs = "".join(p.read_text(errors="replace") for p in (project / "results/logs").rglob("*.log"))
    assert "No space left on device" in result.stdout + result.stderr + logs
    assert not (project / "results/tiny/fit/posterior.nc").exists()
    assert not list((project / "results").rglob("*.partial"))


def test_read_only_results_directory_is_a_clear_error(mounted_results):
    project = mounted_results
    mount_tmpfs(project / "results", "size=1m,ro")
    result = run(project, "--cores", "1", *TINY, "results/tiny/data/dataset.csv", check=False)
    assert result.returncode != 0
    assert "Read-only file system" in result.stdout + result.stderr
    assert not any((project / "results").iterdir())


def test_guard_refuses_a_second_holder_and_names_the_first(tmp_path, monkeypatch):
    from mgbone.cli import RunRefused, acquire_guard

    monkeypatch.chdir(tmp_path)
    fd = acquire_guard(tmp_path / "guard.lock")
    with pytest.raises(RunRefused, match=f"pid {os.getpid()}"):
        acquire_guard(tmp_path / "guard.lock")
    os.close(fd)  # released: the next run may start
    os.close(acquire_guard(tmp_path / "guard.lock"))


def test_atomic_write_cleans_up_after_a_failure_and_after_a_killed_writer(tmp_path):
    from mgbone.io import atomic_path, write_text

    target = tmp_path / "table.csv"
    (tmp_path / ".table.csv.abc123.partial").write_text("left by a writer killed with SIGKILL")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not target.exists() and not list(tmp_path.glob("*.partial"))
    write_text(target, "whole")
    assert target.read_text() == "whole" and not list(tmp_path.glob(".*.partial"))
