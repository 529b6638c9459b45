"""The evaluation's error type, apart from the engine so the store can raise it too."""


class EvalError(Exception):
    """An evaluation cannot run; the message says what to fix."""
