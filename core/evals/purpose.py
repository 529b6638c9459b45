"""Why an evaluation run was made, recorded with the run (`eval_runs.purpose`, migration 0009).

* `prompt_lab`: prompt variants of one model compared on the same rows (rung 1);
* `dynamic`: a static prompt beside its similar-examples or retrieved-context versions (rung 2);
* `comparison`: models side by side, each with its own prompt (rung 3);
* `heldout_check`: a fine-tuned model scored on held-out rows (rung 4's result checked).

The caller may say which (the Dynamic prompts and Model comparison pages do); otherwise it
follows from the run's configuration when the run is created, the same for a run started on
a page or with `ladder eval` / `ladder compare`. Pages and the report read the column; nothing
guesses from a stored configuration afterwards. Runs stored before the column existed were
given theirs once, by the same rules, in the migration.
"""

from __future__ import annotations

from core.models import kinds

PURPOSES = ("prompt_lab", "dynamic", "comparison", "heldout_check")


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown run purpose '{purpose}'; use one of {', '.join(PURPOSES)}")
    return purpose


def dynamic_names(cfg: dict) -> set[str]:
    """The variants of a run configuration built per input: similar examples, or retrieved
    context."""
    return {v["name"] for v in cfg.get("variants", [])
            if v.get("few_shot_mode") == "similar"
            or (cfg.get("kb") and "{context}" in v.get("template", ""))}


def is_dynamic(cfg: dict) -> bool:
    """A rung-2 configuration: it has a dynamic variant and is not a comparison of several
    models (a comparison gives each model one variant, so it holds no static/dynamic pair of a
    model). What `infer_purpose` and the migration's backfill follow."""
    comparison = bool(cfg.get("pairs")) and len(cfg.get("models", [])) > 1
    return not comparison and (bool(cfg.get("kb")) or bool(dynamic_names(cfg)))


def infer_purpose(ws, cfg) -> str:
    """The purpose of a new run of `cfg` (an `EvalConfig`).

    (model, variant) pairs make a comparison; a similar-examples variant or a knowledge base
    makes a dynamic run; a run of tuned models only (an adapter, a fully fine-tuned model: the
    kind's `tuned` capability) is a held-out check; anything else compares prompt variants.
    """
    if cfg.pairs is not None:
        return "comparison"
    raw = cfg.model_dump()
    if cfg.kb or dynamic_names(raw):
        return "dynamic"
    specs = [ws.registry.get(m) for m in cfg.models if ws.registry.exists(m)]
    if specs and len(specs) == len(cfg.models) and all(kinds.of(s).tuned for s in specs):
        return "heldout_check"
    return "prompt_lab"
