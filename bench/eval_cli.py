"""`ladder eval` wall time, fixed 6-shot against zero-shot, before and after prefix sharing.

The same 100 rows of the sample tickets, a fresh workspace for every run (nothing cached),
the whole command timed as a user runs it: `ladder eval --data tickets --split all --limit
100 --model smollm2-135m-instruct --prompts P.yaml` with a prompts file holding only the
zero-shot variant, then only the fixed 6-shot one. "Before" is the same command from a
checkout of the commit before this work (BENCH_BASELINE_REV, default de528b0), run from a
temporary git worktree in the same session, so both sides see the same machine.

Run: `flock /tmp/ladder-heavy.lock .venv/bin/python bench/eval_cli.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = os.environ.get("BENCH_BASELINE_REV", "de528b0")
SYSTEM = "You sort customer support tickets for Nimbus Notes into categories."
VARIANTS = {
    "zero-shot": f"""variants:
  - name: zero-shot
    system: {SYSTEM}
    template: |-
      Ticket: {{input}}

      Which category is this ticket? Choose one of: {{labels}}.
      Answer with the category name only.
""",
    "fixed 6-shot": f"""variants:
  - name: fixed-6-shot
    system: {SYSTEM}
    template: |-
      Here are labelled tickets:

      {{examples}}

      Ticket: {{input}}
      Which category is this ticket? Choose one of: {{labels}}.
      Answer with the category name only.
    few_shot: 6
    example_template: "Ticket: {{input}}\\nCategory: {{target}}"
""",
}


def run(code: Path, tmp: Path, variant: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1",
           "LADDER_HOME": str(tmp / f"ws-{time.time_ns()}"),
           "LADDER_MODEL_CACHE_DIR": str(ROOT / ".test-cache" / "models")}
    cli = [sys.executable, "-m", "core.cli"]
    prompts = tmp / "p.yaml"
    prompts.write_text(VARIANTS[variant])
    for args in (["data", "import", str(ROOT / "examples" / "support_tickets.csv"), "--name",
                  "tickets", "--input-col", "text", "--target-col", "category"],
                 ["data", "split", "tickets", "--val", "0.1", "--test", "0.1"]):
        subprocess.run(cli + args, env=env, cwd=code, check=True, capture_output=True)
    t0 = time.perf_counter()
    out = subprocess.run(cli + ["eval", "--data", "tickets", "--split", "all", "--limit", "100",
                                "--model", "smollm2-135m-instruct", "--prompts", str(prompts),
                                "--json"], env=env, cwd=code, check=True, capture_output=True,
                         text=True)
    return time.perf_counter() - t0, json.loads(out.stdout)["variants"][0]


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-evalcli-"))
    before = tmp / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BASELINE],
                   check=True, capture_output=True)
    try:
        res = {}
        for side, code in (("before", before), ("after", ROOT)):
            for v in VARIANTS:
                res[(side, v)] = run(code, tmp, v)
                print(side, v, res[(side, v)][0], flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    lines = ["`ladder eval` on 100 rows of the sample tickets (SmolLM2, a fresh workspace each "
             "time, model loading included).", "",
             "| code | variant | wall seconds | prompt tokens/row | accuracy |", "|---|---|---|---|---|"]
    for (side, v), (secs, r) in res.items():
        lines.append(f"| {side} ({BASELINE if side == 'before' else 'this tree'}) | {v} | "
                     f"{secs:.1f} | {r['input_tokens_mean']:.0f} | {r['score']:.2f} |")
    ratio = {s: res[(s, 'fixed 6-shot')][0] / res[(s, 'zero-shot')][0] for s in ("before", "after")}
    speedup = res[("before", "fixed 6-shot")][0] / res[("after", "fixed 6-shot")][0]
    lines += ["", f"Fixed 6-shot / zero-shot wall time: before {ratio['before']:.2f}x, after "
              f"**{ratio['after']:.2f}x** (target <= 1.5x). Fixed 6-shot after vs before: "
              f"**{speedup:.2f}x** faster (target >= 2x). 1-minute load average at the end "
              f"{os.getloadavg()[0]:.2f} (2 cores)."]
    body = "\n".join(lines)
    print(body)
    sys.path.insert(0, str(ROOT))
    from bench._results import write_section

    write_section("Prompt Lab: fixed few-shot against zero-shot (issue 13)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
