"""The decision report: a summary of every rung and the recommendation, as Markdown or HTML."""
