"""The prompt a fine-tune trains with: the dataset's context, or the variant rungs 1-2 chose.

A run trains the model to answer the prompt it will be used with. Three cases:

- no variant named: the default zero-shot prompt of the task, with the dataset's context
  column above the input when it has one (a reading-comprehension set trained without its
  passages learns to answer closed-book);
- a variant with `few_shot_mode: similar`: each row's prompt carries the k most similar
  **train** rows as `{examples}` (never the row itself nor a row with the same input);
- `kb` set: each row's `{context}` is the chunks retrieved from that knowledge base for
  its input, at training time, the way they are retrieved when the model is used
  (retrieval-augmented fine-tuning).

The dynamic parts are resolved once per run into the rows (`freeze`), so training,
validation, before/after and the head-to-head all read the same prompts: the variant is
rewritten to take the examples block from a per-row value (`EXAMPLES_KEY`) and the
retrieved chunks replace the rows' contexts. The variant the user chose is what the run
records.
"""

from __future__ import annotations

from core.finetune.data import Rows
from core.prompts.dynamic_variants import CONTEXT_HEADER
from core.prompts.variants import Variant, format_examples

EXAMPLES_KEY = "ladder_similar_examples"  # the per-row value that holds a row's examples


def default_variant(task: str, with_context: bool = False) -> Variant:
    """The zero-shot prompt used when a run names none; `with_context`: the `{context}` (the
    dataset's context column, or retrieved chunks) above the input.

    >>> default_variant("free_text", True).template
    'Reference material:\\n{context}\\n\\n{input}'
    """
    body = CONTEXT_HEADER + "{input}" if with_context else "{input}"
    if task == "classification":
        return Variant(name="fine-tune", system="Classify the text. Answer with one label: "
                       "{labels}.", template=body)
    if task == "scale":
        return Variant(name="fine-tune", system="Rate the text. Answer with a number only.",
                       template=body)
    return Variant(name="fine-tune", template=body)


def check_fillable(variant: Variant, context_col: str | None, kb: str | None,
                   task: str) -> str | None:
    """The one-line reason the run cannot fill the variant's placeholders, else None."""
    names = variant.placeholders()
    if "context" in names and not context_col and not kb:
        return (f"variant '{variant.name}' uses {{context}}, but the dataset has no context "
                "column and no knowledge base is named; add --kb NAME (retrieved passages), "
                "map a context column, or choose a variant without {context}.")
    if kb and "context" not in names:
        return (f"--kb {kb} retrieves passages into {{context}}, but variant '{variant.name}' "
                "has no {context}; choose a variant that has one (e.g. 'retrieved context').")
    if "examples" in names and not variant.few_shot:
        return (f"variant '{variant.name}' has {{examples}} but few_shot 0, so it would train "
                "with an empty examples block; set few_shot (with few_shot_mode: similar) or "
                "remove {examples}.")
    if variant.few_shot and variant.few_shot_mode != "similar":
        return (f"variant '{variant.name}' uses {variant.few_shot} fixed few-shot examples; "
                "fine-tuning teaches with the whole train split, so use few_shot_mode: similar "
                "(each row's most similar train rows) or a zero-shot variant.")
    if "labels" in names and task != "classification":
        return (f"variant '{variant.name}' lists {{labels}}, but the dataset is {task}, which "
                "has no labels; remove {labels} or retask the dataset.")
    return None


def freeze(ws, variant: Variant, version, split, parts: dict[str, Rows], kb: str | None,
           kb_k: int, context_tokens: int) -> Variant:
    """Resolve the variant's dynamic parts into `parts` (split name -> Rows, changed in place)
    and return the variant that renders them: static, its examples block a per-row value."""
    similar = bool(variant.few_shot) and variant.few_shot_mode == "similar"
    if similar:
        from core.retrieval.dynamic import example_index, similar_examples_batch

        index = example_index(ws, version)
        for name, rows in parts.items():
            ids = split.indices(name)  # the version's row ids, to leave each row out
            found = similar_examples_batch([v["input"] for v in rows.values], index,
                                           variant.few_shot, [int(ids[i]) for i in rows.index])
            for v, ex in zip(rows.values, found, strict=True):
                v[EXAMPLES_KEY] = format_examples(variant, ex)
    if kb:
        from core.retrieval.dynamic import contexts_for
        from core.retrieval.store import open_kb

        store = open_kb(ws, kb)
        for rows in parts.values():
            found = contexts_for([v["input"] for v in rows.values], store, kb_k, context_tokens)
            rows.contexts[:] = [c.text for c in found]
    if not similar:
        return variant
    swap = lambda t: t.replace("{examples}", "{" + EXAMPLES_KEY + "}")  # noqa: E731
    return variant.model_copy(update={
        "template": swap(variant.template), "system": swap(variant.system) if variant.system
        else None, "few_shot": 0, "few_shot_mode": "fixed"})


def run_variant(ws, cfg, version, split, parts: dict[str, Rows],
                problems: list[str]) -> tuple[Variant, Variant] | None:
    """(the variant the run records, the variant that renders its rows) with the dynamic
    parts resolved into `parts`; None with the reason in `problems` when it cannot be used."""
    from core.retrieval.errors import RetrievalError

    m = version.mapping
    try:
        variant = (Variant(**cfg.variant) if cfg.variant
                   else default_variant(m.task, bool(cfg.kb or m.context_col)))
        variant.check_columns(version.columns)
    except (ValueError, TypeError) as e:
        problems.append(f"the prompt variant cannot be used: {e}")
        return None
    bad = check_fillable(variant, m.context_col, cfg.kb, m.task)
    if bad:
        problems.append(bad)
        return None
    try:
        rendered = freeze(ws, variant, version, split, parts, cfg.kb, cfg.kb_k,
                          cfg.context_tokens)
    except RetrievalError as e:
        problems.append(str(e))
        return None
    return variant, rendered


def prompt_record(cfg: dict) -> dict:
    """What a run's prompt is made of (`cfg`: the run's config as a dict), for `--json`, the
    CLI and the page.

    >>> prompt_record({"variant": default_variant("free_text", True).model_dump(),
    ...                "context_col": "passage"})["note"]
    "Trains with the default zero-shot prompt, with the dataset's context column 'passage' in {context}."
    """
    v = Variant(**cfg["variant"]) if cfg.get("variant") else None
    names = v.placeholders() if v else set()
    kb, kb_k, col, source = (cfg.get("kb"), cfg.get("kb_k", 3), cfg.get("context_col"),
                             cfg.get("prompt_source"))
    context = (f"knowledge base '{kb}' (top {kb_k} chunks per row, retrieved at training time)"
               if kb and "context" in names else
               f"the dataset's context column '{col}'" if col and "context" in names else None)
    examples = (f"the {v.few_shot} most similar train rows (never the row itself)"
                if v and v.few_shot and v.few_shot_mode == "similar" else None)
    origin = f"variant '{v.name}' of {source}" if source and v else "the default zero-shot prompt"
    parts = [p for p in (context and f"with {context} in {{context}}",
                         examples and f"{examples} in {{examples}}") if p]
    note = f"Trains with {origin}" + (", " + " and ".join(parts) if parts else
                                      ", the input alone") + "."
    if col and "context" not in names and not kb:
        note += f" The dataset's context column '{col}' is not in this prompt."
    if cfg.get("approach") in ("encoder", "head"):
        note = ("This approach reads the input text alone (a label head, no prompt)"
                + (f"; the context column '{col}' is not used." if col else "."))
    return {"variant": v.name if v else None, "template": v.template if v else None,
            "system": v.system if v else None, "source": source, "context": context,
            "examples": examples, "kb": kb, "kb_k": kb_k if kb else None, "note": note}
