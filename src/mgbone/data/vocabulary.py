"""The controlled vocabulary (outcomes, units, statistics) read from data/vocabulary.yaml."""

from dataclasses import dataclass
from pathlib import Path

import yaml

PERCENT = "percent"
DIRECTION = "direction"  # a result printed only as higher / lower / not different, with its p and n
SCALES = ("level", "percent", "absolute", DIRECTION)


@dataclass(frozen=True)
class Vocabulary:
    time_units: dict[str, float]
    outcomes: dict[str, dict]
    statistics: dict[str, dict]
    species_requirement: dict[str, dict]
    interventions: dict[str, dict]

    def canonical_unit(self, outcome: str) -> str:
        return self.outcomes[outcome]["canonical_unit"]

    def unit_factor(self, outcome: str, unit: str) -> float:
        """Factor taking a value in `unit` to the outcome's canonical unit."""
        return float(self.outcomes[outcome]["units"][unit])

    def scale(self, statistic: str) -> str:
        """`level`, `percent` or `absolute`: what the unit column of a row with this statistic means."""
        return self.statistics[statistic]["scale"]

    def statistics_of_scale(self, scale: str) -> list[str]:
        return [name for name, spec in self.statistics.items() if spec["scale"] == scale]

    def accepts(self, outcome: str, statistic: str, unit: str) -> bool:
        if self.scale(statistic) in (PERCENT, DIRECTION):
            return unit == self.scale(statistic)
        return unit in self.outcomes[outcome]["units"]


def load_vocabulary(path: str | Path) -> Vocabulary:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    for name, spec in raw["statistics"].items():
        if not isinstance(spec, dict) or spec.get("scale") not in SCALES:
            raise ValueError(f"{path}: statistic '{name}' needs a scale, one of {', '.join(SCALES)}")
    for name, spec in raw["outcomes"].items():
        bounds = spec.get("plausible")
        if bounds is not None and not (bounds.get("reason") and float(bounds["min"]) < float(bounds["max"])):
            raise ValueError(f"{path}: outcome '{name}': `plausible` needs min < max and a reason")
    return Vocabulary(
        time_units={k: float(v) for k, v in raw["time_units"].items()},
        outcomes=raw["outcomes"],
        statistics=raw["statistics"],
        species_requirement=raw["species_requirement"],
        interventions=raw.get("interventions", {}),
    )
