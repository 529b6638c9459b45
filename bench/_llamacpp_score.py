"""Candidate scoring with llama.cpp (llama-cpp-python), the anchor for bench/eval.py.

Runs in its own virtual environment (llama-cpp-python is never a project dependency):
`PY bench/_llamacpp_score.py MODEL.gguf IN.json OUT.json`. IN holds rows of
{"text": rendered prompt, "candidates": [answer texts]}. Like ours, each row's prompt is
evaluated once and every candidate's log-likelihood is read after it; llama.cpp keeps the
previous row's key/value cache and re-uses the prefix the two rows share, so shared
few-shot examples are not recomputed (its own prefix cache, the fair comparison).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from llama_cpp import Llama


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())


def main(model: str, src: str, dst: str) -> int:
    rows = json.load(open(src))
    llm = Llama(model_path=model, n_ctx=2048, n_threads=2, n_batch=512, logits_all=False,
                verbose=False)
    vocab = llm.n_vocab()

    def last_logits() -> np.ndarray:
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,)).copy()

    t0 = time.perf_counter()
    out, prompt_tokens, evaluated = [], 0, 0
    for r in rows:
        toks = llm.tokenize(r["text"].encode(), add_bos=False, special=True)
        prompt_tokens += len(toks)
        past = list(llm.input_ids[:llm.n_tokens])
        common = 0
        while common < min(len(past), len(toks)) and past[common] == toks[common]:
            common += 1
        common = min(common, len(toks) - 1)  # the last prompt token must run for its logits
        llm.n_tokens = common
        llm.eval(toks[common:])
        evaluated += len(toks) - common
        first = log_softmax(last_logits())
        scores = []
        for c in r["candidates"]:
            ctoks = llm.tokenize(c.encode(), add_bos=False, special=False)
            total = float(first[ctoks[0]])
            for j in range(1, len(ctoks)):
                llm.eval([ctoks[j - 1]])
                total += float(log_softmax(last_logits())[ctoks[j]])
            llm.n_tokens = len(toks)  # back to the end of the prompt
            scores.append(total)
        out.append(scores)
    secs = time.perf_counter() - t0
    json.dump({"seconds": secs, "prompt_tokens": prompt_tokens, "evaluated_tokens": evaluated,
               "scores": out}, open(dst, "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
