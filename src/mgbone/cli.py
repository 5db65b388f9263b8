"""`mgbone run [snakemake options]`: the workflow behind a guard that makes reruns safe.

- One run per project directory: a second `mgbone run` while one is active is refused with the
  pid and command of the active one. The guard is an flock held by the Snakemake process itself,
  so the kernel releases it however that process ends (even SIGKILL).
- A run that was killed leaves Snakemake's directory lock behind; when the guard is free that lock
  is stale by construction, so it is removed (`snakemake --unlock`) and the same command simply
  runs again: Snakemake reruns incomplete jobs, and outputs are only ever moved into place whole.
"""

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

GUARD = Path(".snakemake") / "mgbone-run.lock"


class RunRefused(RuntimeError):
    pass


def acquire_guard(path: Path = GUARD) -> int:
    """Open and lock the guard file; raise RunRefused naming the active run if it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
        os.close(fd)
        raise RunRefused(f"another mgbone run is active in {Path.cwd()} ({holder}); wait for it to finish, "
                         f"or stop it first (kill <pid>)") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, "
                  f"command: {' '.join(sys.argv)}\n".encode(), 0)
    return fd


def stale_snakemake_locks() -> bool:
    locks = Path(".snakemake") / "locks"
    return locks.is_dir() and any(locks.iterdir())


def snakemake_executable() -> str:
    return shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))


def run(snakemake_args: list[str]) -> None:
    fd = acquire_guard()
    if stale_snakemake_locks():
        print("mgbone: removing the lock of a run that was stopped (no run is active)", file=sys.stderr, flush=True)
        subprocess.run([snakemake_executable(), "--unlock", *snakemake_args], check=True,
                       stdout=subprocess.DEVNULL)
    os.set_inheritable(fd, True)  # Snakemake keeps the guard locked for as long as it lives
    os.execv(snakemake_executable(), [snakemake_executable(), *snakemake_args])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="mgbone", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the workflow (options after `run` go to snakemake)", add_help=False)
    add_study_parser(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        try:
            run(rest)
        except RunRefused as error:
            print(f"mgbone: {error}", file=sys.stderr)
            raise SystemExit(2) from None
    elif args.command == "study":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        raise SystemExit(study(args))


def add_study_parser(sub) -> None:
    study_parser = sub.add_parser("study", help="add a study: write a template, check a table (data/README.md)")
    actions = study_parser.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new", help="write data/studies/ID.csv (header row) and a registry stub")
    new.add_argument("study_id", metavar="ID")
    new.add_argument("--data-dir", default="data", help="the data directory (default: data)")
    new.add_argument("--print-only", action="store_true",
                     help="print the registry stub instead of appending it to studies.yaml")
    check = actions.add_parser("check", help="validate one table against the schema, vocabulary and registry")
    check.add_argument("study_id", metavar="ID")
    check.add_argument("--data-dir", default="data", help="the data directory (default: data)")
    check.add_argument("--write-sha256", action="store_true",
                       help="write the table's sha256 into its registry entry (only that line is edited)")


def study(args) -> int:
    from mgbone.data.study_tool import StudyToolError, check_study, new_study, report_check

    try:
        if args.action == "new":
            new_study(args.study_id, args.data_dir, append_registry=not args.print_only)
            return 0
        return report_check(check_study(args.study_id, args.data_dir, write_checksum=args.write_sha256),
                            args.data_dir)
    except StudyToolError as error:
        print(f"mgbone study: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    main()
