"""The evaluation's error type, apart from the engine so the store can raise it too."""

from core.errors import LadderError


class EvalError(LadderError):
    """An evaluation cannot run; the message says what to fix."""
