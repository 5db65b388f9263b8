"""What a result depends on besides its inputs and config: the library's own source."""

import hashlib
from pathlib import Path

import mgbone

SOURCE_SUFFIXES = (".py", ".j2", ".css", ".js")


def library_fingerprint(root: Path | None = None) -> str:
    """SHA-256 over the relative paths and bytes of the imported mgbone package's source files.

    Every rule takes it as a param, so editing the library (a prior, a model, a summary) reruns the steps
    whose code changed underneath them instead of leaving outputs computed by the old code."""
    root = Path(root or Path(mgbone.__file__).parent)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
