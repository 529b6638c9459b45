"""Kind `folder`: a transformers model saved in a local folder (or a folder of one .gguf file)."""

from __future__ import annotations

from core.models.kinds import CONCURRENCY, HOURLY, NOTES, TRUST, Field, Kind, register
from core.models.kinds import transformers_common as tc

register(Kind(
    name="folder", label="Local folder",
    trainable=True, likelihood=True, batch=True,
    fields=(
        Field("source", "Folder", "--folder", required=True, metavar="PATH",
              help="a local transformers model folder", placeholder="/path/to/model"),
        HOURLY, CONCURRENCY, TRUST, NOTES,
    ),
    cli_flag="--folder",
    load=tc.load, validate=tc.validate_folder, weights=tc.folder_weights,
    context=tc.folder_context,
))
