"""The evaluation engine: variant x row x model cells, scorers and statistics."""
