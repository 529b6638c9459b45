"""The one error type of retrieval: what went wrong and how to fix it, in one sentence.

The CLI prints it as `ladder: error: ...` and the page shows it with `st.error`;
anything else escaping from retrieval is a bug.
"""


class RetrievalError(Exception):
    """A knowledge base, file, chunk setting or query cannot be used; the message says why."""
