"""The controlled vocabulary (outcomes, units, statistics) read from data/vocabulary.yaml."""

from dataclasses import dataclass
from pathlib import Path

import yaml

PERCENT = "percent"


@dataclass(frozen=True)
class Vocabulary:
    time_units: dict[str, float]
    outcomes: dict[str, dict]
    statistics: dict[str, str]
    species_requirement: dict[str, dict]

    def canonical_unit(self, outcome: str) -> str:
        return self.outcomes[outcome]["canonical_unit"]

    def unit_factor(self, outcome: str, unit: str) -> float:
        """Factor taking a value in `unit` to the outcome's canonical unit."""
        return float(self.outcomes[outcome]["units"][unit])

    def accepts(self, outcome: str, statistic: str, unit: str) -> bool:
        if statistic == "mean":
            return unit in self.outcomes[outcome]["units"]
        return unit == PERCENT


def load_vocabulary(path: str | Path) -> Vocabulary:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return Vocabulary(
        time_units={k: float(v) for k, v in raw["time_units"].items()},
        outcomes=raw["outcomes"],
        statistics=raw["statistics"],
        species_requirement=raw["species_requirement"],
    )
