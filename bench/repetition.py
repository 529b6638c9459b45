"""Which repetition control should free text get by default? Measured on E2E with SmolLM2.

Run (each variant a few minutes on 2 shared cores):
    flock /tmp/ladder-heavy.lock .venv/bin/python bench/repetition.py --variant fixed
    flock /tmp/ladder-heavy.lock .venv/bin/python bench/repetition.py --variant similar

For `--rows` distinct E2E test inputs (all their references kept) and one 4-shot prompt
variant, generates with each candidate setting through the product's own path (the
engine's prompts, `generation_params` with the variant's setting, the local backend in
batches) and prints a markdown table: sacrebleu corpus BLEU and chrF against all
references, looping rows (a word or phrase repeated until the token limit), rows that
hit the limit, mean answer tokens and the wall time. The table in docs/generation.md
comes from this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _e2e  # noqa: E402

SETTINGS = {  # name: (repetition_penalty, no_repeat_ngram_size)
    "none": (1.0, 0),
    "repetition_penalty 1.1": (1.1, 0),
    "repetition_penalty 1.2": (1.2, 0),
    "repetition_penalty 1.3": (1.3, 0),
    "no_repeat_ngram_size 3": (1.0, 3),
    "no_repeat_ngram_size 4": (1.0, 4),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=["fixed", "similar"], default="fixed")
    ap.add_argument("--rows", type=int, default=60)
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS),
                    help="names from: " + ", ".join(SETTINGS))
    ap.add_argument("--dump", help="write every output as JSON lines to this file")
    args = ap.parse_args()

    from core.evals.config import EvalConfig
    from core.evals.engine import build_prompts
    from core.evals.generation import generation_params, model_context
    from core.models.service import get_backend

    ws = _e2e.workspace()
    variant = _e2e.variants()[f"{args.variant} 4-shot"]
    data, refs = _e2e.sample(ws, args.rows)
    cfg = EvalConfig(dataset="e2e", models=[_e2e.MODEL], variants=[variant])
    prompts = build_prompts(ws, cfg, data, variant)
    backend = get_backend(ws, ws.registry.get(_e2e.MODEL))
    context = model_context(ws, _e2e.MODEL)
    print(f"{variant.name}, {len(prompts)} inputs, "
          f"{sum(len(r) for r in refs) / len(refs):.1f} references each", file=sys.stderr)
    warm = generation_params(cfg, data, variant, 0, context=context)
    backend.generate(prompts[:8], warm, batch_size=ws.settings.batch_size)  # first-call costs
    lines = ["| setting | BLEU | chrF | looping rows | at token limit | answer tokens | s |",
             "|---|---|---|---|---|---|---|"]
    for name in args.settings:
        rp, ngram = SETTINGS[name]
        v = variant.model_copy(update={"repetition_penalty": rp, "no_repeat_ngram_size": ngram})
        params = generation_params(cfg, data, v, 0, context=context)
        t0 = time.perf_counter()
        gens = backend.generate(prompts, params, batch_size=ws.settings.batch_size)
        wall = time.perf_counter() - t0
        outs = [g.text for g in gens]
        at_limit = [g.finish_reason == "length" for g in gens]
        loops = sum(_e2e.looping(o, lim) for o, lim in zip(outs, at_limit, strict=True))
        bleu, chrf = _e2e.corpus_scores(outs, refs)
        mean_tokens = sum(g.output_tokens for g in gens) / len(gens)
        lines.append(f"| {name} | {bleu:.1f} | {chrf:.1f} | {loops}/{len(gens)} | "
                     f"{sum(at_limit)} | {mean_tokens:.1f} | {wall:.0f} |")
        print(lines[-1], f"(max_new_tokens {params.max_new_tokens}, stop {params.stop!r})",
              file=sys.stderr, flush=True)
        if args.dump:
            with open(args.dump, "a") as f:
                for g, r in zip(gens, refs, strict=True):
                    f.write(json.dumps({"variant": variant.name, "setting": name, "output": g.text,
                                        "finish": g.finish_reason, "tokens": g.output_tokens,
                                        "reference": r[0]}) + "\n")
    print(f"\n{variant.name}, SmolLM2-135M-Instruct, {len(prompts)} E2E test inputs\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
