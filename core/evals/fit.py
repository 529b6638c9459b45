"""Prompts checked against the model's context before a run, and cut to fit when asked.

A prompt longer than the model's context does not fail loudly: a local model decodes on
past its trained positions (minutes of compute and gigabytes of memory for one 35,000-token
row against an 8,192-token model) and the answer is stored as if it were valid. So before
anything is stored, every prompted model whose context is known (a local model; an
endpoint's is not) has its prompts counted: rows whose prompt + answer budget exceed the
context are refused in one message (how many, the longest, the context, what to do).

With `truncate` ("tail": cut the end of the row's input, keeping its beginning; "head":
cut the beginning, keeping its end) the input of each such row is shortened by what it
overflows (plus a small margin) and the row is marked; a row whose template, examples or
retrieved context alone overflow is still refused. Prompts are shared by every model of a
run, so they are cut to the tightest model's limit.

Tokens are counted with the model's own `tokenizer.json` when it is on this machine, else
with the packaged MiniLM WordPiece tokenizer (an estimate, within about 15 % for English;
the message says so). The chat template's role markers and default system line are counted
as TEMPLATE_TOKENS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.evals.errors import EvalError
from core.models import kinds
from core.models.base import ChatPrompt

TEMPLATE_TOKENS = 32  # role markers and a default system line added by a chat template
CUT_MARGIN = 8  # tokens cut beyond the overflow, for tokens merged across the cut
TRUNCATE_SIDES = ("head", "tail")


@dataclass(frozen=True)
class Limit:
    """What one model of a run can take: its context and the answer budget kept free."""

    model_id: str
    context: int
    answer: int
    tokenizer: str  # path of a tokenizer.json
    estimate: bool  # counted with the WordPiece stand-in, not the model's own tokenizer

    @property
    def prompt_max(self) -> int:
        return self.context - self.answer


@dataclass
class Fitted:
    """Prompts after the check: the (possibly cut) prompts and the rows that were cut."""

    prompts: list[ChatPrompt]
    cut: list[int] = field(default_factory=list)  # row ids whose input was shortened


def tokenizer_file(ws, spec) -> Path | None:
    """The model's own tokenizer.json when it is on this machine (its workspace cache, its
    folder, the Hugging Face cache, or its base model's for an adapter), else None."""
    places = [Path(ws.settings.model_cache) / spec.id / "tokenizer.json"]
    if spec.source and "://" not in spec.source:
        places.append(Path(spec.source) / "tokenizer.json")
    for p in places:
        try:
            if p.is_file():
                return p
        except OSError:
            continue
    if kinds.of(spec).downloads and spec.source:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(spec.source, "tokenizer.json")
        if isinstance(found, str):
            return Path(found)
    if spec.base_model:
        return tokenizer_file(ws, ws.registry.get(spec.base_model))
    return None


def limit_for(ws, model_id: str, context: int | None, answer: int) -> Limit | None:
    """The model's Limit (`context`: its known context length), or None when it reads no
    prompt or its context is not known without loading it."""
    from core.datasets.tokens import pick_tokenizer

    spec = ws.registry.get(model_id)
    if not context or not kinds.of(spec).prompted:
        return None
    own = tokenizer_file(ws, spec)
    path = str(own) if own else pick_tokenizer(None)[1]
    return Limit(model_id, context, answer, path, own is None)


def prompt_tokens(prompts: list[ChatPrompt], tokenizer: str) -> np.ndarray:
    """Tokens of each prompt as the model reads it (system + user + template markers)."""
    from core.datasets.tokens import count_tokens

    user = count_tokens([p.user for p in prompts], tokenizer)
    system = count_tokens([p.system or "" for p in prompts], tokenizer)
    return user + system + TEMPLATE_TOKENS


def cut_text(text: str, drop: int, side: str, tokenizer: str) -> str:
    """`text` without its last (side "tail") or first ("head") `drop` tokens.

    >>> from core.datasets.tokens import pick_tokenizer
    >>> tok = pick_tokenizer(None)[1]
    >>> cut_text("one two three four five", 2, "tail", tok)
    'one two three'
    >>> cut_text("one two three four five", 2, "head", tok)
    'three four five'
    """
    from core.datasets.tokens import load_tokenizer

    enc = load_tokenizer(tokenizer).encode(text, add_special_tokens=False)
    offsets = enc.offsets
    keep = len(offsets) - drop
    if keep <= 0:
        return ""
    if side == "tail":
        return text[:offsets[keep - 1][1]]
    return text[offsets[drop][0]:]


def may_overflow(variant, rows: list[dict], train_rows: list[dict], labels: list[str],
                 context_tokens: int | None, lim: Limit) -> bool:
    """False when no prompt of `variant` on `rows` can exceed `lim`, bounded without
    rendering (a token is at least one UTF-8 byte): the check then costs nothing, and the
    similar examples or retrieved passages are not computed twice."""
    size = lambda s: len(str(s or "").encode())  # noqa: E731
    fixed = sum(size(x) for x in (variant.template, variant.system, variant.output_format))
    fixed += sum(size(x) + 2 for x in labels)
    row = max((sum(size(v) for v in r.values()) for r in rows), default=0)
    shot = max((size(r.get("input")) + size(r.get("target")) + 32 for r in train_rows),
               default=0)
    ctx = 8 * context_tokens if context_tokens else 0
    bound = fixed + row + variant.few_shot * shot + ctx + TEMPLATE_TOKENS
    return bound > lim.prompt_max


def fit(prompts: list[ChatPrompt], rows: list[dict], limits: list[Limit], truncate: str | None,
        render) -> Fitted:
    """Check `prompts` (one per row of `rows`) against every limit; cut rows' inputs when
    `truncate` is set (re-rendered with `render(i, row)`); raise EvalError for rows that do
    not fit."""
    out = Fitted(list(prompts))
    for lim in sorted(limits, key=lambda x: x.prompt_max):
        n = prompt_tokens(out.prompts, lim.tokenizer)
        over = [i for i in range(len(rows)) if n[i] > lim.prompt_max]
        if over and truncate:
            for i in over:
                row = rows[i]
                short = cut_text(row["input"], int(n[i]) - lim.prompt_max + CUT_MARGIN,
                                 truncate, lim.tokenizer)
                cut = {k: (short if v == row["input"] and k not in ("target", "context") else v)
                       for k, v in row.items()}
                out.prompts[i] = render(i, cut)
                if row["row_id"] not in out.cut:
                    out.cut.append(row["row_id"])
            n = prompt_tokens(out.prompts, lim.tokenizer)
            over = [i for i in over if n[i] > lim.prompt_max]
        if over:
            raise EvalError(_too_long(lim, [rows[i]["row_id"] for i in over],
                                      [int(n[i]) for i in over], bool(truncate)))
    return out


def _too_long(lim: Limit, row_ids: list[int], tokens: list[int], truncated: bool) -> str:
    worst = int(np.argmax(tokens))
    how = " (estimated with a stand-in tokenizer)" if lim.estimate else ""
    head = (f"{len(row_ids)} row{'s' if len(row_ids) != 1 else ''} do not fit {lim.model_id}'s "
            f"context of {lim.context} tokens: the longest prompt is {tokens[worst]:,} "
            f"tokens{how} (row {row_ids[worst]}), and {lim.answer} are kept for the answer")
    if truncated:
        return (head + ", even with the row's input cut: the template, examples or retrieved "
                "context alone are too long. Use fewer examples or a smaller context budget, or "
                "a model with a longer context.")
    return (head + ". Cut those inputs with --truncate tail (keep the beginning) or --truncate "
            "head (keep the end), shorten them in the data, or choose a model with a longer "
            "context.")
