"""What a fine-tune will train and why, in one sentence (the page and `ladder finetune start`).

A preset's approach for a classification dataset (`CLASSIFICATION_APPROACH`) and the reason
(`EVIDENCE`) come from the real-data table in bench/RESULTS.md ("Real-data fine-tuning
approaches"); the sentence quotes that evidence, so it changes when the table does.
"""

from __future__ import annotations

from core.finetune.config import CLASSIFICATION_APPROACH

WHAT = {
    "generate": "LoRA on the base model, which learns to write the answer after the prompt",
    "encoder": "the packaged MiniLM sentence encoder end to end as a classifier (the base "
               "model is not used)",
    "head": "a classification head on the base model with LoRA (one forward pass per row, "
            "no generation)",
}
# (preset, approach) -> why it is that preset's choice for classification, from the table
EVIDENCE: dict[tuple[str, str], str] = {
    ("quick", "encoder"): (
        "in 5 minutes on a 2-core CPU it was the most accurate of the three on the public sets "
        "measured (financial sentiment 74.2% against 63.6% for the LLM's LoRA and 69.1% for the "
        "embedding classifier; TREC questions 95.8% against 92.8% and 90.0%), since a "
        "22M-parameter encoder sees whole epochs where the LLM sees a fraction of one; it starts "
        "from the embedding classifier and trains its top 3 layers, so on long documents, where "
        "5 minutes buy a fifth of an epoch (20 Newsgroups), it still ends a little above the "
        "classifier (+1.3 points, not significant)."),
    ("balanced", "encoder"): (
        "starting from the embedding classifier it beat it significantly on all three public "
        "sets measured on a 2-core CPU (financial sentiment +5.8 points, TREC questions +6.2, "
        "long 20 Newsgroups posts +4.3, where 5 minutes end level with it; bench/RESULTS.md), "
        "keeping the checkpoint that scores best on validation."),
}


def explain(approach: str, preset: str | None, task: str) -> str:
    """One sentence: what a run with this `approach` setting trains on a `task` dataset, and
    why.

    >>> explain("auto", "quick", "free_text").startswith("A free text dataset: the run trains LoRA")
    True
    >>> explain("head", "quick", "classification")
    'You chose approach=head: the run trains a classification head on the base model with LoRA (one forward pass per row, no generation).'
    """
    if task != "classification":
        return (f"A {task.replace('_', ' ')} dataset: the run trains {WHAT['generate']}, the "
                "only approach that writes text.")
    if approach != "auto":
        return f"You chose approach={approach}: the run trains {WHAT[approach]}."
    chosen = CLASSIFICATION_APPROACH.get(preset or "", "generate")
    why = EVIDENCE.get((preset or "", chosen))
    name = (preset or "this setting").capitalize()
    if why:
        return f"{name} trains {WHAT[chosen]}: {why}"
    return (f"{name} trains {WHAT[chosen]}; set approach=encoder or approach=head (Advanced) "
            "to train a classifier instead.")
