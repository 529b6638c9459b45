"""Datasets: import CSV/JSONL/Excel, map columns, version, check quality, fix, split, export.

The public surface is re-exported here; `core.datasets.service` holds the
workspace-level actions the CLI (`ladder data ...`) and the Data page call.
Versions are immutable and named by their content hash; a fix writes a new
version. Trade-off: everything is eager and in memory (pandas), which keeps
the code simple up to the configured row limit (LADDER_MAX_ROWS).
"""

from core.datasets.conflicts import CHOICES as CONFLICT_CHOICES
from core.datasets.errors import DatasetError
from core.datasets.excel import sheet_names
from core.datasets.export import escape_cell, unescape_cell
from core.datasets.export import to_bytes as export_bytes
from core.datasets.quality import DEFAULT_MAX_TOKENS, DEFAULT_THRESHOLD, quality_report
from core.datasets.readers import Table, read_table
from core.datasets.schema import TASKS, Mapping, TaskGuess, guess_task, infer_task, validate_mapping
from core.datasets.service import (
    SAMPLE_NAME,
    explain_task,
    export,
    fix,
    import_file,
    import_table,
    load_sample,
    make_mapping,
    read,
    report,
    retask,
    rows_for,
    split,
    unlabelled_rows,
)
from core.datasets.splits import make_split
from core.datasets.versions import (
    SPLITS,
    GivenSplit,
    Split,
    Version,
    delete,
    get_given,
    get_report,
    get_split,
    get_version,
    list_datasets,
    list_versions,
    load_frame,
)

__all__ = [
    "CONFLICT_CHOICES", "DEFAULT_MAX_TOKENS", "DEFAULT_THRESHOLD", "SAMPLE_NAME", "SPLITS",
    "TASKS", "DatasetError", "GivenSplit", "Mapping", "Split", "Table", "TaskGuess", "Version",
    "delete", "explain_task",
    "escape_cell", "export", "export_bytes", "fix", "get_given", "get_report", "get_split",
    "get_version", "guess_task", "import_file", "import_table", "infer_task", "list_datasets", "list_versions",
    "load_frame", "load_sample", "make_mapping", "make_split", "quality_report", "read",
    "read_table", "report", "retask", "rows_for", "sheet_names", "split", "unescape_cell", "unlabelled_rows",
    "validate_mapping",
]
