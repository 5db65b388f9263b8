"""Pandera schema of a study table (one row per reported number); see data/README.md."""

import pandas as pd
import pandera.pandas as pa

from mgbone.data.vocabulary import Vocabulary

COLUMNS = [
    "study_id", "group", "role", "species", "sex", "life_stage", "mg_dose", "mg_dose_unit",
    "time", "time_unit", "outcome", "statistic", "value", "unit", "dispersion",
    "dispersion_type", "ci_lower", "ci_upper", "n", "locator", "digitised", "note",
]  # fmt: skip
# may be absent from a file; added as empty. p_value: the p as printed for a direction row (e.g. "<0.05", "NS");
# intervention*: the drug or hormone of a trial arm (a key of `interventions` in vocabulary.yaml), its dose as
# printed and the time it was stopped (in the row's time unit)
OPTIONAL_COLUMNS = ["time_start", "p_value", "intervention", "intervention_dose", "intervention_start",
                    "intervention_stop"]  # start may be negative: treated before the table's time origin
REQUIRED_TEXT = ["study_id", "group", "role", "species", "sex", "life_stage", "time_unit",
                 "outcome", "statistic", "unit", "locator"]  # fmt: skip
ROLES = ["control", "treatment", "single"]
SEXES = ["F", "M", "mixed"]
DOSE_UNITS = ["mg/kg diet", "mg/day", "mmol/day", "percent requirement"]
DISPERSION_TYPES = ["SD", "SE", "CI95", "none"]
# a p as printed: "0.03", "<0.05", "<=0.001", ">0.05", "NS" (not significant, p >= 0.05 assumed)
P_VALUE_PATTERN = r"^(NS|(<|<=|>|>=|=)?\s*(0?\.\d+|1(\.0+)?|\d(\.\d+)?[eE]-\d+))$"
P_VALUE_RULE = "p_value must read like 0.03, <0.05, >0.05 or NS"
DUPLICATE_KEY = ["study_id", "group", "outcome", "statistic", "time", "time_unit"]


def _text(**kwargs) -> pa.Column:
    return pa.Column(str, checks=[pa.Check.str_length(min_value=1)], **kwargs)


def _row_check(rule: str, columns: str, predicate) -> pa.Check:
    """A rule across columns; `columns` names the ones a user should look at."""
    return pa.Check(predicate, name=f"{rule} [{columns}]", error=f"{rule} [{columns}]")


def study_table_schema(vocab: Vocabulary, study_id: str) -> pa.DataFrameSchema:
    def unit_ok(df: pd.DataFrame) -> pd.Series:
        return pd.Series(
            [
                o not in vocab.outcomes or s not in vocab.statistics or vocab.accepts(o, s, u)
                for o, s, u in zip(df["outcome"], df["statistic"], df["unit"], strict=True)
            ],
            index=df.index,
        )

    def no_numeric_without_type(df):
        has_spread = df["dispersion"].notna() | df["ci_lower"].notna() | df["ci_upper"].notna()
        return ~has_spread | df["dispersion_type"].isin(["SD", "SE", "CI95"])

    def ci_complete(df):
        is_ci = df["dispersion_type"] == "CI95"
        bounds = df["ci_lower"].notna() & df["ci_upper"].notna()
        ordered = (df["ci_lower"] <= df["value"]) & (df["value"] <= df["ci_upper"])
        return ~is_ci | (bounds & ordered)

    def sd_se_has_number(df):
        return ~df["dispersion_type"].isin(["SD", "SE"]) | df["dispersion"].notna()

    def interval_ordered(df):
        return df["time_start"].isna() | (df["time_start"] < df["time"])

    def dose_has_unit(df):
        return df["mg_dose"].isna() | df["mg_dose_unit"].notna()

    signed = [o for o, spec in vocab.outcomes.items() if spec.get("signed")]

    levels, percents = vocab.statistics_of_scale("level"), vocab.statistics_of_scale("percent")

    def positive_mean(df):
        return ~df["statistic"].isin(levels) | df["outcome"].isin(signed) | (df["value"] > 0)

    directions = vocab.statistics_of_scale("direction")

    def direction_has_no_spread(df):
        return ~df["statistic"].isin(directions) | (df["dispersion"].isna() & df["ci_lower"].isna())

    def n_where_needed(df):
        needs_n = df["statistic"].isin(directions) | df["dispersion_type"].isin(["SD", "SE", "CI95"])
        return ~needs_n | df["n"].notna()

    def percent_above_minus_100(df):
        return ~df["statistic"].isin(percents) | (df["value"] > -100)

    return pa.DataFrameSchema(
        {
            "study_id": pa.Column(str, pa.Check.eq(study_id, error=f"must equal the file name '{study_id}'")),
            "group": _text(),
            "role": pa.Column(str, pa.Check.isin(ROLES)),
            "species": pa.Column(str, pa.Check.isin(["rat", "mouse", "human"])),
            "sex": pa.Column(str, pa.Check.isin(SEXES)),
            "life_stage": _text(),
            "mg_dose": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
            "mg_dose_unit": pa.Column(str, pa.Check.isin(DOSE_UNITS), nullable=True),
            "time": pa.Column(float, pa.Check.ge(0, error="time before baseline (must be >= 0)"), coerce=True),
            "time_start": pa.Column(float, pa.Check.ge(0, error="time_start before baseline (must be >= 0)"),
                                    nullable=True, coerce=True),
            "time_unit": pa.Column(str, pa.Check.isin(list(vocab.time_units))),
            "outcome": pa.Column(str, pa.Check.isin(list(vocab.outcomes), error="unknown outcome (not in vocabulary.yaml)")),
            "statistic": pa.Column(str, pa.Check.isin(list(vocab.statistics), error="unknown statistic")),
            "value": pa.Column(float, coerce=True),
            "unit": _text(),
            "dispersion": pa.Column(float, pa.Check.gt(0, error="dispersion must be > 0"), nullable=True, coerce=True),
            "dispersion_type": pa.Column(str, pa.Check.isin(DISPERSION_TYPES), nullable=True),
            "ci_lower": pa.Column(float, nullable=True, coerce=True),
            "ci_upper": pa.Column(float, nullable=True, coerce=True),
            # n may be left empty where the source does not print it, if the row needs none: a level or percent
            # without a spread enters with the outcome's noise alone (see the row rule below)
            "n": pa.Column("Int64", pa.Check.ge(1, error="n must be >= 1"), nullable=True, coerce=True),
            "locator": _text(),
            "digitised": pa.Column(str, nullable=True),
            "note": pa.Column(str, nullable=True),
            "p_value": pa.Column(str, pa.Check.str_matches(P_VALUE_PATTERN, error=P_VALUE_RULE), nullable=True),
            "intervention": pa.Column(str, pa.Check.isin(list(vocab.interventions),
                                                         error="unknown intervention (not in vocabulary.yaml)"),
                                      nullable=True),
            "intervention_dose": pa.Column(str, nullable=True),
            "intervention_start": pa.Column(float, nullable=True, coerce=True),
            "intervention_stop": pa.Column(float, pa.Check.ge(0, error="intervention_stop before baseline"),
                                           nullable=True, coerce=True),
        },
        checks=[
            _row_check("unit not accepted for this outcome and statistic", "unit", unit_ok),
            _row_check("a spread needs dispersion_type SD, SE or CI95", "dispersion_type", no_numeric_without_type),
            _row_check("CI95 needs ci_lower <= value <= ci_upper", "ci_lower", ci_complete),
            _row_check("SD or SE needs a dispersion value", "dispersion", sd_se_has_number),
            _row_check("mg_dose needs mg_dose_unit", "mg_dose_unit", dose_has_unit),
            _row_check("time_start must be before time", "time_start", interval_ordered),
            _row_check("a mean must be > 0 (except for signed outcomes such as balances)", "value", positive_mean),
            _row_check("a percent change must be > -100", "value", percent_above_minus_100),
            _row_check("a direction row carries no spread (its evidence is the p-value and n)", "dispersion",
                       direction_has_no_spread),
            _row_check("n is required for a direction row or a row with a spread (SD, SE or CI95)", "n",
                       n_where_needed),
        ],
        unique=DUPLICATE_KEY,
        report_duplicates="all",
        strict=True,
        ordered=False,
        coerce=False,
    )
