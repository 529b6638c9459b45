"""The prompt one dataset row would get from a dynamic template: what the page's preview shows.

The row and the label list are built as an evaluation builds them (`core.evals.rows`),
the examples are the row's most similar **train** rows (never the row itself), and the
context is the knowledge base's chunks that fit the token budget, so the preview is the
prompt a run would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models.base import ChatPrompt
from core.retrieval.dynamic import Context, context_for, example_index, similar_examples


@dataclass
class Preview:
    row: dict  # the row as a prompt reads it (row_id, input, target, context, every column)
    split: str  # train, validation, test, or "no split"
    prompt: ChatPrompt
    context: Context | None = None  # chunks used and dropped, when a knowledge base is given
    examples: list[dict] = field(default_factory=list)  # the similar train rows chosen


def preview_row(ws, dataset: str, row_id: int, template: str, *, shots: int = 3, kb=None,
                kb_k: int = 3, token_budget: int = 400) -> Preview:
    """Render `template` for row `row_id` of `dataset`'s latest version with `shots` similar
    train rows as `{examples}` and, given a knowledge base `kb`, its chunks as `{context}`."""
    from core.datasets.versions import SPLITS, get_split, get_version, load_frame
    from core.evals.rows import labels_of, row_record
    from core.prompts.variants import Variant, render_variant
    from core.retrieval.errors import RetrievalError

    version = get_version(ws, dataset)
    frame = load_frame(ws, version)
    if not 0 <= row_id < len(frame):
        raise RetrievalError(f"row {row_id} is not in '{dataset}' (rows 0 to {len(frame) - 1}).")
    row = row_record(frame, row_id, version.mapping)
    split = get_split(ws, version)
    where = "no split" if split is None else SPLITS[int(split.assignment[row_id])]
    examples = []
    if shots and split is not None:
        examples = similar_examples(row["input"], example_index(ws, version), shots,
                                    exclude_row_id=row_id)
    ctx = context_for(row["input"], kb, kb_k, token_budget) if kb is not None else None
    variant = Variant(name="preview", template=template, few_shot=shots,
                      few_shot_mode="similar")
    prompt = render_variant(variant, row, examples=examples, context=ctx.text if ctx else "",
                            labels=labels_of(frame, version.mapping))
    return Preview(row, where, prompt, ctx, examples)
