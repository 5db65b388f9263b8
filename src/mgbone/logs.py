"""Logging set-up for workflow steps: progress lines with timestamps into the rule's log file."""

import logging
import sys
import warnings


def setup_logging(path: str | None = None, level: int = logging.INFO) -> None:
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        handlers = [logging.FileHandler(path, mode="w", encoding="utf-8")]
        # PyMC and nutpie report progress on stderr: keep it in the rule's log, not the terminal
        sys.stderr = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=FutureWarning, module="pytensor")
