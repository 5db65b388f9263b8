"""Constants shared across the package: one home for each (import them, never redefine them)."""

WEEKS_PER_YEAR = 365.25 / 7  # the model's clock runs in weeks; a year is 365.25 days
BAND_QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)  # q2.5 ... q97.5 columns of every band table
SAMPLE_DIMS = ("chain", "draw")  # the dimensions of a posterior draw
# The observed variable PSIS-LOO, LOO-PIT and model comparison use: the contrasts with a mean and a spread.
# Results printed only as a direction (`y_direction`, interval-censored) are a second likelihood term with
# their own dimension; they enter the fit and power-scaling but not the pointwise LOO comparison.
LOO_VARIABLE = "y"
