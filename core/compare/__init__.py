"""Model comparison: the cost model, the quality/cost frontier, break-even volume, the decision."""
