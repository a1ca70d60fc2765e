"""Named errors, each with the exit code the CLI returns and a message in plain words."""

from __future__ import annotations


class EvaluationError(Exception):
    """Base class: a problem the user can act on. Never shown as a traceback."""

    exit_code = 2


class InvalidDataError(EvaluationError):
    """The input data broke the contract (exit 1); the validation report says where."""

    exit_code = 1


class ConfigError(EvaluationError):
    """evaluation.yml, a mapping file or a command-line option is wrong (exit 2)."""

    exit_code = 2


class ExecutionError(EvaluationError):
    """A notebook or the renderer failed (exit 3); earlier outputs are left in place."""

    exit_code = 3


class StorageError(EvaluationError):
    """The machine, not the data: a folder is read-only, the disk is full, permission is
    denied, or another run is using the build folder (exit 4); the message names the path."""

    exit_code = 4
