"""The one error type of retrieval: what went wrong and how to fix it, in one sentence.

The CLI prints it as `ladder: error: ...` and the page shows it with `st.error`;
anything else escaping from retrieval is a bug.
"""

from core.errors import LadderError


class RetrievalError(LadderError):
    """A knowledge base, file, chunk setting or query cannot be used; the message says why."""
