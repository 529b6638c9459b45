"""The one error type of the datasets package.

Every problem a user can cause (a bad file, a wrong column name, an impossible
split) is raised as `DatasetError` with a one-line message that names the
problem and the fix; the CLI and the Data page print it as it is. Checks run
before anything is written, so a raised error leaves the workspace unchanged.
"""

from __future__ import annotations

from core.errors import LadderError


class DatasetError(LadderError):
    """A user-facing data problem; the message names the problem and the fix."""
