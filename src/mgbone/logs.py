"""Logging set-up for workflow steps: progress lines with timestamps into the rule's log file."""

import logging
import os
import sys
import warnings


def setup_logging(path: str | None = None, level: int = logging.INFO) -> None:
    """Send logging, Python's stderr and file descriptor 2 to `path` (one stream, so lines never overwrite
    each other): PyMC, nutpie (Rust) and numba write progress and warnings below Python's logging."""
    if path:
        stream = open(path, "w", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        os.dup2(stream.fileno(), 2)
        sys.stderr = stream
    logging.basicConfig(level=level, handlers=[logging.StreamHandler(sys.stderr)], force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pytensor")
