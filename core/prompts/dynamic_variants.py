"""The variants of a static-vs-dynamic run, built one way for the Dynamic prompts page and the CLI.

A dynamic run puts a static variant beside its dynamic versions on the same rows:
the same prompt with the k most similar **train** rows as its `{examples}`
("dynamic few-shot k"), and the same prompt with retrieved knowledge-base chunks
as its `{context}` ("retrieved context"). The page (one static variant from the
prompt set) and `ladder eval --few-shot-k K [--kb NAME]` (every static variant of
the prompts file) both call `static_vs_dynamic`, so the same settings give the
same variants. Default wording names no domain: it must read right for support
tickets, financial news or clinical notes alike.
"""

from __future__ import annotations

from core.prompts.template import TemplateError
from core.prompts.variants import Variant, check_unique_names

EXAMPLES_HEADER = "Similar labelled examples:\n{examples}\n\n"
CONTEXT_HEADER = "Reference material:\n{context}\n\n"
FEW_SHOT_NAME = "dynamic few-shot {k}"
CONTEXT_NAME = "retrieved context"


LIST_LABELS_MAX = 30  # beyond this, a prompt that lists every label reads poorly to a small model


def many_labels_note(n_labels: int) -> str | None:
    """What the Prompt Lab says when `{labels}` would list more labels than help a model."""
    if n_labels <= LIST_LABELS_MAX:
        return None
    return (f"This dataset has {n_labels:,} labels. A variant with `{{labels}}` lists them all "
            "(it still works, and label-likelihood scoring ranks every one of them), but a small "
            "model reads a long list poorly. Try the dynamic similar-examples variant on the "
            "Dynamic prompts page: each row's prompt then shows the labelled train rows most like "
            "it, so the labels that matter for that row are in front of the model.")


def default_static(task: str) -> Variant:
    """The static prompt offered when the prompt set has none: worded for any dataset."""
    if task == "classification":
        return Variant(name="static zero-shot",
                       template="Input: {input}\n\nAnswer with one of: {labels}.\nAnswer:")
    return Variant(name="static zero-shot", template="Input: {input}\nAnswer:")


def preview_template(task: str) -> str:
    """The template the page's prompt preview starts from (context, examples, input)."""
    return CONTEXT_HEADER + EXAMPLES_HEADER + default_static(task).template


def is_static(variant: Variant, use_kb: bool = False) -> bool:
    """Built the same for every row: no similar examples, and no `{context}` that a knowledge
    base fills (without one, `{context}` is the dataset's own context column)."""
    if variant.few_shot_mode == "similar":
        return False
    return not (use_kb and "context" in variant.placeholders())


def dynamic_variants(static: Variant, k_examples: int, use_kb: bool, *,
                     prefix: str = "") -> list[Variant]:
    """`static` followed by its dynamic few-shot version (when `k_examples` > 0) and its
    retrieved-context version (when `use_kb`); `prefix` goes before the derived names.

    Each derived version changes one thing: the few-shot one takes the k most similar train
    rows as `{examples}` (added above the prompt when it has no such slot), the context one
    adds the retrieved chunks as `{context}` and keeps the static prompt's own examples.
    """
    if k_examples < 0:
        raise TemplateError(f"similar examples k={k_examples} must be 0 or more, e.g. 3.")
    out = [static]
    names = static.placeholders()
    if k_examples:
        body = static.template if "examples" in names else EXAMPLES_HEADER + static.template
        out.append(static.model_copy(update={
            "name": prefix + FEW_SHOT_NAME.format(k=k_examples), "template": body,
            "few_shot": k_examples, "few_shot_mode": "similar"}))
    if use_kb:
        body = static.template if "context" in names else CONTEXT_HEADER + static.template
        out.append(static.model_copy(update={"name": prefix + CONTEXT_NAME, "template": body}))
    try:
        return [Variant(**v.model_dump()) for v in out]  # validate the derived templates
    except ValueError as e:
        raise TemplateError(f"the dynamic versions of '{static.name}' are not valid: {e}"
                            ) from None


def static_vs_dynamic(variants: list[Variant], k_examples: int, use_kb: bool) -> list[Variant]:
    """Each static variant of `variants` with its dynamic versions; variants that are already
    dynamic are kept as they are (with only a knowledge base and no static variant, the
    variants run as written: the knowledge base fills their `{context}`). With one static variant the derived names are plain
    ("dynamic few-shot 3", "retrieved context"); with several each is prefixed by its static
    variant's name ("zero-shot dynamic few-shot 3").

    >>> s = Variant(name="s", template="Input: {input}\\nAnswer:")
    >>> [v.name for v in static_vs_dynamic([s], 3, True)]
    ['s', 'dynamic few-shot 3', 'retrieved context']
    """
    if not k_examples and not use_kb:
        raise TemplateError("choose similar examples (k > 0) or retrieved context to compare "
                            "with the static prompt")
    statics = [v for v in variants if is_static(v, use_kb)]
    if not statics and k_examples:
        raise TemplateError("no static variant to compare with: every variant already uses "
                            "similar examples or retrieved context; add one without them")
    out: list[Variant] = []
    for v in variants:
        if not is_static(v, use_kb):
            out.append(v)
            continue
        out += dynamic_variants(v, k_examples, use_kb,
                                prefix="" if len(statics) == 1 else f"{v.name} ")
    check_unique_names(out)
    return out
