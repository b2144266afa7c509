"""Exceptions raised by the classifiers package."""


class ClassifierError(Exception):
    """Base class for every error this package raises on purpose."""


class ModelLoadError(ClassifierError):
    """A model directory is missing, corrupt, or holds types that are not on the trusted list."""


class CorpusAccessError(ClassifierError):
    """A corpus path points outside `classifiers/corpora/` (for example at the held-out test splits)."""


class UnknownVersionError(ClassifierError):
    """The registry holds no model with the requested version."""


class CatalogueError(ClassifierError, ValueError):
    """A narrative catalogue extension file that cannot be used; the message names the file and entry."""
