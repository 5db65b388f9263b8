"""Writing outputs so that a stopped run never leaves a file that looks complete."""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.name}.*.partial"):  # from a writer killed before it could clean up
        leftover.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_csv(path: str | Path, frame, float_format: str = "%.6g") -> None:
    """CSV with fixed float formatting, so reruns give byte-identical tables."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")


def write_netcdf(path: str | Path, tree) -> None:
    """A DataTree serialised in memory, then written by Python: a full disk is then an OSError that the atomic
    write cleans up after, where HDF5 writing straight to disk crashed the process (SIGSEGV) and left its file."""
    payload = tree.to_netcdf(engine="h5netcdf")
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def _jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
