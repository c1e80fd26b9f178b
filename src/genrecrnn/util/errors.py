"""The package's own exceptions, each message naming the file or key and what to do."""


class GenreCRNNError(Exception):
    """Base class for every error this package raises on purpose."""


class AudioError(GenreCRNNError):
    """An audio file is missing, unreadable, empty, silent where sound is needed, or too short."""


class ConfigError(GenreCRNNError):
    """params.yaml (or a function argument taken from it) is invalid."""


class DataError(GenreCRNNError):
    """A data set root, manifest or split file is unusable."""


class UsageError(GenreCRNNError):
    """A command-line argument cannot be used as given (an output path, a file type)."""


class ModelError(GenreCRNNError):
    """A model file is missing or does not fit the features it is asked to classify."""


class EvaluationError(GenreCRNNError, ValueError):
    """Arrays handed to an evaluation function do not fit together (also a ValueError)."""
