"""Evaluation speed against two anchors, in one run: 200 rows x three prompt variants.

Classification by candidate log-likelihood with SmolLM2-135M-Instruct on the sample
tickets (4 labels), for a zero-shot prompt, a fixed 6-shot prompt (the same six examples
in every row) and a similar-examples 6-shot prompt (each row's own nearest train rows):

- ours: `LocalBackend.score_candidates` as the Prompt Lab runs it: the prefix rows share
  computed once, logits only where scored, candidates in one tree-masked pass,
  token-budget batches;
- plain: a batched transformers loop (batches of 16 left-padded prompts, full logits,
  each candidate continued from the batch's cache), in the same precision;
- llama.cpp: llama-cpp-python on the packaged Q4_1 GGUF of the same model, 2 threads,
  with its own prefix cache between consecutive rows (bench/_llamacpp_score.py).

Prompt tokens/s count every row's whole prompt (what the row costs a model without
sharing); rows/s is what an analyst waits for. llama.cpp is never a project dependency:
give its interpreter with BENCH_LLAMA_PYTHON, or the bench creates .bench/llama-venv and
pip-installs llama-cpp-python==0.3.36 there (it compiles, a few minutes).

Run: `flock /tmp/ladder-heavy.lock .venv/bin/python bench/eval.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))
N = int(os.environ.get("BENCH_ROWS", "200"))
SYSTEM = "You sort customer support tickets for Nimbus Notes into categories."
QUESTION = "Which category is this ticket? Choose one of: {labels}.\nAnswer with the category name only."


def variants():
    from core.prompts.variants import Variant

    ex = "Ticket: {input}\nCategory: {target}"
    shots = "Here are labelled tickets:\n\n{examples}\n\nTicket: {input}\n" + QUESTION
    return [
        Variant(name="zero-shot", system=SYSTEM, template="Ticket: {input}\n\n" + QUESTION),
        Variant(name="fixed 6-shot", system=SYSTEM, template=shots, few_shot=6,
                example_template=ex),
        Variant(name="similar 6-shot", system=SYSTEM, template=shots, few_shot=6,
                few_shot_mode="similar", example_template=ex),
    ]


def plain_scores(backend, prompts, labels, batch: int = 16) -> list[list[float]]:
    """The straightforward batched loop: full logits, the cache repeated per candidate."""
    import torch

    tok, model, pad = backend.tok, backend.model, backend.tok.pad_token_id
    ids_all = [backend.encode(backend.render(p)) for p in prompts]
    cands = [tok(c, add_special_tokens=False)["input_ids"] for c in labels]
    out = []
    with torch.inference_mode():
        for s in range(0, len(ids_all), batch):
            rows = ids_all[s:s + batch]
            w = max(len(r) for r in rows)
            ids = torch.tensor([[pad] * (w - len(r)) + r for r in rows])
            mask = torch.tensor([[0] * (w - len(r)) + [1] * len(r) for r in rows])
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            res = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
            first = torch.log_softmax(res.logits[:, -1].float(), -1)
            scores = [[float(first[i, c[0]]) for c in cands] for i in range(len(rows))]
            for ci, c in enumerate(cands):
                if len(c) == 1:
                    continue
                from transformers import DynamicCache

                cache = DynamicCache(ddp_cache_data=[(k, v) for k, v in (
                    (la.keys, la.values) for la in res.cache.layers)], config=model.config)
                c_ids = torch.tensor([c[:-1]] * len(rows))
                c_mask = torch.cat([mask, torch.ones_like(c_ids)], 1)
                c_pos = pos[:, -1:] + 1 + torch.arange(len(c) - 1)
                lp = torch.log_softmax(model(input_ids=c_ids, attention_mask=c_mask,
                                             position_ids=c_pos, cache=cache).logits.float(), -1)
                for i in range(len(rows)):
                    scores[i][ci] += sum(float(lp[i, j, c[j + 1]]) for j in range(len(c) - 1))
            out += scores
    return out


def best(rows: list[list[float]]) -> list[int]:
    return [max(range(len(r)), key=r.__getitem__) for r in rows]


def agree(mine: list[int], other: list[list[float]]) -> float:
    """Share of rows where another runner picks the same label as ours."""
    return sum(a == b for a, b in zip(mine, best(other), strict=True)) / len(mine)


def llama_python() -> str:
    given = os.environ.get("BENCH_LLAMA_PYTHON")
    if given:
        return given
    venv = ROOT / ".bench" / "llama-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "llama-cpp-python==0.3.36"],
                       check=True)
    return str(py)


def main() -> int:
    from core.datasets import load_sample
    from core.evals.config import EvalConfig
    from core.evals.engine import build_prompts
    from core.evals.rows import load_rows
    from core.models.local import LocalBackend, load_backend
    from core.models.packaged import locate_gguf
    from core.workspace import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    os.environ["LADDER_HOME"] = str(tmp / "ws")
    ws = open_workspace()
    load_sample(ws)
    data = load_rows(ws, "support-tickets", "all", limit=N, seed=0)
    spec = ws.registry.get("smollm2-135m-instruct")
    loaded = load_backend(spec, ws.settings, ws.registry)
    gguf = locate_gguf(spec.source, ws.settings.model_cache / "_gguf")
    py = llama_python()
    load0 = os.getloadavg()[0]
    lines = [f"SmolLM2-135M-Instruct, {len(data.rows)} rows of the sample tickets, "
             f"{len(data.labels)} labels scored by log-likelihood; ours and plain in "
             f"{str(loaded.model.dtype).replace('torch.', '')}, llama.cpp on the Q4_1 GGUF.", "",
             "| variant | prompt tokens/row | runner | seconds | rows/s | prompt tokens/s | "
             "vs llama.cpp | agrees with ours |", "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for v in variants():
        cfg = EvalConfig(dataset="support-tickets", models=[spec.id], variants=[v])
        prompts = build_prompts(ws, cfg, data, v)
        texts = [loaded.render(p) for p in prompts]
        n_tok = sum(len(loaded.encode(t)) for t in texts)
        ours_b = LocalBackend(loaded.model, loaded.tok, loaded.device, "ours")  # cold prefixes
        ours_b.batch_tokens = ws.settings.batch_tokens
        t0 = time.perf_counter()
        ours = [s.logprobs for s in ours_b.score_candidates(prompts, data.labels,
                                                            batch_size=ws.settings.batch_size)]
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = plain_scores(loaded, prompts, data.labels)
        t_plain = time.perf_counter() - t0
        src, dst = tmp / "in.json", tmp / "out.json"
        src.write_text(json.dumps([{"text": t, "candidates": data.labels} for t in texts]))
        subprocess.run([py, str(ROOT / "bench" / "_llamacpp_score.py"), str(gguf), str(src),
                        str(dst)], check=True)
        ll = json.loads(dst.read_text())
        t_ll = ll["seconds"]

        mine = best(ours)
        rows_n = len(prompts)
        for name, secs, ag in (("ours", t_ours, None),
                               ("plain batched transformers", t_plain, agree(mine, plain)),
                               ("llama.cpp", t_ll, agree(mine, ll["scores"]))):
            lines.append(f"| {v.name} | {n_tok / rows_n:.0f} | {name} | {secs:.1f} | "
                         f"{rows_n / secs:.2f} | {n_tok / secs:.0f} | {t_ll / secs:.2f}x | "
                         f"{'-' if ag is None else f'{ag:.0%}'} |")
        summary[v.name] = {"ours_tok_s": n_tok / t_ours, "vs_llama": t_ll / t_ours,
                           "vs_plain": t_plain / t_ours}
        print(lines[-3:], flush=True)
    fs = summary["fixed 6-shot"]
    lines += ["", f"Targets: fixed 6-shot >= 1,500 prompt tokens/s (measured "
              f"{fs['ours_tok_s']:.0f}) and >= 2x llama.cpp (measured {fs['vs_llama']:.2f}x); "
              f"zero-shot and similar 6-shot >= 1.5x llama.cpp (measured "
              f"{summary['zero-shot']['vs_llama']:.2f}x and "
              f"{summary['similar 6-shot']['vs_llama']:.2f}x). 1-minute load average "
              f"{load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end (2 cores)."]
    body = "\n".join(lines)
    print(body)
    from bench._results import write_section

    write_section("Evaluation speed against llama.cpp (issue 13)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
