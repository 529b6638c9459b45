"""The one base of every error a user can fix.

Each part of the core raises its own subclass (DatasetError, ModelError, ...) with a
message that says what is wrong and how to fix it; the CLI edge and the pages catch
`LadderError` and show that message, and anything else is a bug to report.
"""


class LadderError(Exception):
    """A problem with the user's input or setup; the message says how to fix it."""
