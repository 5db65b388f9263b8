"""Rendering only: figures, the HTML report and the partial page (the tables come from `mgbone.analysis`)."""
