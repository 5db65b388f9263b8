"""The magnesium-bone model family behind one interface (see base.BoneModel)."""

import mgbone.numerics  # noqa: F401  (strict floating point before any graph is compiled)
from mgbone.models.base import BoneModel, Scenario
from mgbone.models.m0_empirical import EmpiricalModel
from mgbone.models.m1_bone_cells import BoneCellsModel
from mgbone.models.m2_endocrine import EndocrineModel

MODELS: dict[str, type[BoneModel]] = {"M0": EmpiricalModel, "M1": BoneCellsModel, "M2": EndocrineModel}


def get_model(name: str) -> BoneModel:
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None


__all__ = ["MODELS", "BoneModel", "Scenario", "get_model"]
