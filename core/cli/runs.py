"""What `ladder eval` and `ladder compare` share: a run made from a prompts file joins the pages.

The file's variants go into the dataset's prompt set (new versions where they changed), and
the run records its purpose, so the Prompt Lab, Dynamic prompts and Model comparison pages
list the run and offer the variants as if they had been started there.
"""

from __future__ import annotations


def start_run(ws, cfg, written: list, progress=None, purpose: str | None = None
              ) -> tuple[int, dict]:
    """Create the run of `cfg`, put the prompts file's variants (`written`) into the dataset's
    prompt set, then compute the run in this process; returns (run id, prompt set record)."""
    from core.evals.engine import create_run, execute_run
    from core.prompts.store import join_dataset_set

    run_id = create_run(ws, cfg, purpose)  # validated first: a refused run joins nothing
    prompt_set = join_dataset_set(ws, cfg.dataset, written)
    execute_run(ws, run_id, progress)
    return run_id, prompt_set


def prompt_set_line(prompt_set: dict) -> str:
    """One line naming the prompt set and the version each variant has there."""
    versions = ", ".join(f"{n} v{v}" for n, v in prompt_set["versions"].items())
    return f"Prompt set '{prompt_set['name']}' (shown on the pages): {versions}."


def run_failures(ws, run_id: int) -> dict:
    """What of a run was not done: cells a model error left uncomputed (`failed_cells`,
    `model_errors` by model), and the error kinds of the answers stored (`error_kinds`,
    e.g. invalid_output: answers that name no label, which are scored, not failed)."""
    from collections import Counter

    from core.evals.store import cells_frame, get_run

    run = get_run(ws, run_id)
    cells = cells_frame(ws, run_id)
    kinds = Counter(k for k in cells["error_kind"] if isinstance(k, str) and k)
    failed = max(0, int(run["total_cells"]) - len(cells))
    why = "; ".join(f"{m}: {msg}" for m, msg in run["errors"].items()) or "see the run's log"
    return {"failed_cells": failed, "scored_cells": len(cells), "total_cells": run["total_cells"],
            "error_kinds": dict(kinds), "model_errors": run["errors"], "why": why}
