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
