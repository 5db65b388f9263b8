"""Logging set-up for workflow steps: progress lines with timestamps into the rule's log file."""

import logging
import os
import sys
import warnings


def setup_logging(path: str | None = None, level: int = logging.INFO) -> None:
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        handlers = [logging.FileHandler(path, mode="w", encoding="utf-8")]
        # PyMC, nutpie (Rust) and numba report progress on stderr, some below Python: point file
        # descriptor 2 at the rule's log so everything lands there, not in the terminal
        log_file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        os.dup2(log_file.fileno(), 2)
        sys.stderr = log_file
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pytensor")
