"""Answer-checking scorers: the label an output names, a number within a tolerance, a
reference contained in the output, a regex, valid JSON, embedding similarity, an LLM judge.

Each `score_*` function keeps its plain signature for direct use; `catalog.py` adapts
them to the registry's `fn(output, references, ctx)` form.
"""

from __future__ import annotations

import json
import re

from core.evals.scorers.base import INVALID, Scored, extract_label, normalize, parse_number, unfence


def score_label(output: str, target: str, labels: list[str]) -> Scored:
    parsed = extract_label(output, labels)
    if parsed is None:
        return Scored(None, 0.0, False, INVALID)
    ok = normalize(parsed) == normalize(target)
    return Scored(parsed, float(ok), ok)


def score_number(output: str, target: str, tolerance: float) -> Scored:
    value = parse_number(output)
    if value is None:
        return Scored(None, 0.0, False, INVALID)
    try:
        ok = abs(value - float(target)) <= tolerance + 1e-9
    except ValueError:
        ok = False
    return Scored(f"{value:g}", float(ok), ok)


def score_contains(output: str, target: str) -> Scored:
    ok = normalize(target) in normalize(output) if target.strip() else False
    return Scored(output.strip(), float(ok), ok)


def score_regex(output: str, pattern: str) -> Scored:
    m = re.search(pattern, output or "")
    return Scored(m.group(0) if m else output.strip(), float(bool(m)), bool(m))


def score_json(output: str) -> Scored:
    text = unfence(output)
    try:
        json.loads(text)
    except (ValueError, TypeError):
        return Scored(None, 0.0, False, INVALID)
    return Scored(text, 1.0, True)


def score_similarity(outputs: list[str], targets: list, threshold: float) -> list[Scored]:
    """Embedding cosine between each output and its reference (all-MiniLM-L6-v2); with a list
    of references per row, the best of them."""
    from core.embeddings import embed

    refs = [[t] if isinstance(t, str) else list(t) for t in targets]
    flat = [r or "" for rs in refs for r in rs]
    a = embed([o or "" for o in outputs])
    b = embed(flat) if flat else a[:0]
    out, k = [], 0
    for i, (o, rs) in enumerate(zip(outputs, refs, strict=True)):
        sims = b[k:k + len(rs)] @ a[i] if rs else [0.0]
        k += len(rs)
        s = float(max(sims))
        out.append(Scored((o or "").strip(), s, bool(s >= threshold)))
    return out


JUDGE_PROMPT = """You are grading an answer. Rubric: {rubric}

Question or input:
{input}

Reference answer:
{target}

Answer to grade:
{output}

Reply with a single score from 1 (bad) to 5 (excellent)."""


def judge_prompt(rubric: str, input_text: str, target: str, output: str) -> str:
    from core.prompts.template import Template

    # one pass: a value that contains "{input}" stays text
    return Template(JUDGE_PROMPT).render(
        {"rubric": rubric, "input": input_text, "target": target, "output": output})


def score_judge_reply(reply: str) -> Scored:
    value = parse_number(reply)
    if value is None or not 1 <= value <= 5:
        return Scored(None, 0.0, False, INVALID)
    return Scored(f"{value:g}", (value - 1) / 4, value >= 4)


def judge_outputs(ws, judge_model: str, rubric: str, inputs: list[str], references: list[str],
                  outputs: list[str]) -> list[Scored]:
    """Ask the judge model to grade each output against its (first) reference."""
    from core.models.base import ChatPrompt, GenerationParams
    from core.models.service import generate

    prompts = [ChatPrompt(judge_prompt(rubric, i, t, o))
               for i, t, o in zip(inputs, references, outputs, strict=True)]
    replies = generate(ws, judge_model, prompts, GenerationParams(max_new_tokens=8),
                       purpose="judge")
    return [score_judge_reply(r.generation.text) for r in replies]
