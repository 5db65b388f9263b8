"""Study data: vocabulary, schemas, loading, harmonisation and provenance."""

from mgbone.data.errors import DataIssue, DataValidationError
from mgbone.data.loading import load_selection
from mgbone.data.registry import load_registry
from mgbone.data.vocabulary import Vocabulary, load_vocabulary

__all__ = [
    "DataIssue",
    "DataValidationError",
    "Vocabulary",
    "load_registry",
    "load_selection",
    "load_vocabulary",
]
