"""GGUF export of the packaged SmolLM2 (and of a LoRA adapter on it): size, export time, and
how closely each quantization answers like the in-process model.

    python bench/export_gguf.py [--prompts 40] [--no-write]

For each of f16, q8_0 and q4_0: `core.models.export.write_gguf` writes the file, which is
read back with transformers' GGUF loader (the same dequantized weights llama.cpp would
multiply); on the inputs of the sample dataset's rows, the greedy next token is compared
with the in-process model's (agreement) and the next-token logits are correlated. The
adapter row merges a LoRA (r=8, random non-zero weights, seed 0) on q/v/up into the base
first, as `ladder models export` does. Baseline: the in-process float32 model. Writes a
section of bench/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=40)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    import pandas as pd
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.cache import cached_model_dir, convert_once
    from core.models.export import write_gguf
    from core.models.packaged import locate_gguf

    cache = Path(os.environ.get("LADDER_MODEL_CACHE_DIR", ROOT / ".test-cache" / "models"))
    src = locate_gguf("smollm2-135m-instruct", cache / "_gguf")
    folder = convert_once(src, cached_model_dir(cache, "smollm2-135m-instruct"))
    tok = AutoTokenizer.from_pretrained(str(folder))
    rows = pd.read_csv(ROOT / "examples" / "support_tickets.csv")
    texts = [tok.apply_chat_template([{"role": "user", "content": str(t)}], tokenize=False,
                                     add_generation_prompt=True)
             for t in rows["text"].head(args.prompts)]
    ids = [tok(t, add_special_tokens=False).input_ids for t in texts]

    def next_logits(model):
        with torch.no_grad():
            return torch.stack([model(torch.tensor([x])).logits[0, -1] for x in ids])

    base = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    torch.manual_seed(0)
    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32),
                          LoraConfig(r=8, target_modules=["q_proj", "v_proj", "up_proj"],
                                     init_lora_weights=False)).merge_and_unload().eval()
    lines = ["| model | quant | file MB | export s | greedy next token agrees | logit corr. (mean) |",
             "|---|---|---|---|---|---|"]
    out_dir = Path(tempfile.mkdtemp(prefix="ladder-bench-gguf-"))
    for label, model in (("SmolLM2-135M-Instruct", base), ("+ LoRA adapter, merged", lora)):
        ref = next_logits(model)
        for quant in ("f16", "q8_0", "q4_0"):
            t0 = time.perf_counter()
            done = write_gguf(model, src, out_dir, quant, "bench")
            secs = time.perf_counter() - t0
            back = AutoModelForCausalLM.from_pretrained(str(out_dir), gguf_file=done.path.name,
                                                        dtype=torch.float32).eval()
            got = next_logits(back)
            agree = float((ref.argmax(-1) == got.argmax(-1)).float().mean())
            corr = float(torch.stack([torch.corrcoef(torch.stack([a, b]))[0, 1]
                                      for a, b in zip(ref, got, strict=True)]).mean())
            line = (f"| {label} | {quant} | {done.size_bytes / 1e6:,.1f} | {secs:.1f} | "
                    f"{agree:.1%} ({len(ids)} inputs) | {corr:.4f} |")
            print(line, flush=True)
            lines.append(line)
            done.path.unlink()
    body = ("`python bench/export_gguf.py` — `ladder models export`'s writer on the packaged "
            "SmolLM2 (itself a Q4_1 file, dequantized), read back with transformers' GGUF "
            f"loader; inputs: the first {len(ids)} sample tickets in the chat template. "
            "Baseline: the in-process float32 model.\n\n" + "\n".join(lines))
    print(body)
    if not args.no_write:
        from bench._results import write_section

        write_section("GGUF export (issue 20)", body)


if __name__ == "__main__":
    main()
