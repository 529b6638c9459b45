"""Shared prompt prefixes: the tokens every row of a batch begins with are computed once.

Rows of one prompt variant usually start with the same tokens: the chat template's header,
the system message, fixed few-shot examples, the instructions. A causal model's keys and
values for those tokens do not depend on what follows, so they are computed for one copy
of the prefix and expanded to every row; each row then runs only its own suffix. Scoring
and generation use it without gradients (the prefix is computed once per backend and
kept); training runs the prefix once per micro-batch with gradients, and autograd sums
each row's contribution into it, so the loss and gradients equal the unshared ones.

Layout of a shared batch: the prefix at positions 0..P-1 for every row, then each row's
suffix left-padded to the batch's longest suffix; the attention mask is zero on the
padding between the two and position ids continue from P, so every real token sees the
same positions and keys as in its unshared, unpadded sequence.

Trade-off: models with sliding-window layers (Gemma 3) share only when the whole row fits
in the window, where sliding and full attention agree; longer rows take the plain path.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

MIN_PREFIX = 4  # fewer shared tokens than this are not worth a separate pass


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token sequences.

    >>> common_prefix_len([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]])
    2
    >>> common_prefix_len([[7, 8], [7, 8]])
    2
    """
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for i in range(n):
        t = first[i]
        if any(s[i] != t for s in seqs):
            return i
    return n


def share_len(seqs: Sequence[Sequence[int]], keep: Sequence[int] | None = None,
              min_tokens: int = MIN_PREFIX) -> int:
    """How many leading tokens to share: the common prefix, leaving each row at least one
    token of its own (and, when `keep` gives per-row counts, at least that many).

    >>> share_len([[1, 2, 3, 4, 5, 9], [1, 2, 3, 4, 5, 8]])
    5
    >>> share_len([[1, 2, 3, 4, 5, 9], [1, 2, 3, 4, 5, 8]], keep=[3, 2])
    0
    >>> share_len([[1, 2], [1, 3]])
    0
    """
    if not seqs:
        return 0
    p = common_prefix_len(seqs)
    if keep is not None:
        p = min(p, min(len(s) - k for s, k in zip(seqs, keep, strict=True)))
    p = min(p, min(len(s) for s in seqs) - 1)
    return p if p >= min_tokens else 0


def prefix_groups(seqs: Sequence[Sequence[int]], cost: int = 64,
                  block: int = 256) -> list[list[int]]:
    """Rows grouped so that the tokens saved by sharing each group's prefix are greatest.

    Rows are sorted by their tokens, so rows with a common prefix are neighbours; the
    split of that order into runs maximises, over runs, (rows - 1) x shared prefix minus
    `cost` per run (the price of one more prefix pass and smaller batches), by dynamic
    programming. Most rows of a fixed few-shot variant share every example, but a train
    row that is itself one of the examples gets the others only: keeping it in their run
    would cut what 99 rows share, so it goes apart. Rows left on their own are pooled.

    >>> a, b = [1, 2, 3, 4, 5, 6], [9, 9]
    >>> prefix_groups([a + [7], b + [1], a + [8], b + [2]], cost=1)
    [[0, 2], [1, 3]]
    >>> prefix_groups([a + [7], b + [1], a + [8]], cost=1)
    [[0, 2], [1]]
    """
    order = sorted(range(len(seqs)), key=lambda i: list(seqs[i]))
    groups: list[list[int]] = []
    alone: list[int] = []
    for start in range(0, len(order), block):
        rows = order[start:start + block]
        # shared tokens of neighbours, leaving each row one token of its own
        adj = [min(common_prefix_len([seqs[x], seqs[y]]), len(seqs[x]) - 1, len(seqs[y]) - 1)
               for x, y in zip(rows, rows[1:], strict=False)]
        n = len(rows)
        best = [0.0] * (n + 1)  # best[j]: value of rows[:j]
        cut = [0] * (n + 1)
        for j in range(1, n + 1):
            best[j], cut[j] = best[j - 1], j - 1  # row j-1 on its own
            low = None
            for i in range(j - 2, -1, -1):  # run rows[i:j]
                low = adj[i] if low is None else min(low, adj[i])
                if low <= 0:
                    break
                value = best[i] + (j - 1 - i) * low - cost
                if value > best[j]:
                    best[j], cut[j] = value, i
        j = n
        while j > 0:
            i = cut[j]
            run = sorted(rows[i:j])
            (groups if len(run) > 1 else alone).append(run if len(run) > 1 else run[0])
            j = i
    groups.sort(key=lambda g: g[0])
    return groups + ([sorted(alone)] if alone else [])


def _text_config(model):
    cfg = model.config
    return cfg.get_text_config(decoder=True) if hasattr(cfg, "get_text_config") else cfg


def fits_window(model, total_len: int) -> bool:
    """False when the model has sliding-window layers shorter than `total_len` tokens."""
    cfg = _text_config(model)
    window = getattr(cfg, "sliding_window", None)
    types = getattr(cfg, "layer_types", None) or []
    sliding = window and (any("sliding" in str(t) for t in types) or not types)
    return not sliding or total_len <= int(window)


def accepts(model, name: str) -> bool:
    """Whether the (possibly peft-wrapped) causal LM's forward takes keyword `name`."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        params = inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def can_share(model) -> bool:
    return accepts(model, "cache") and accepts(model, "logits_to_keep")


def prefix_kv(model, prefix: Sequence[int], device) -> list[tuple]:
    """Per-layer (keys, values) of `prefix` as one row; gradients flow when enabled."""
    import torch

    out = model(input_ids=torch.tensor([list(prefix)], device=device), use_cache=True,
                logits_to_keep=1)
    return [(layer.keys, layer.values) for layer in out.cache.layers]


def batch_cache(model, kv: list[tuple], batch: int):
    """A fresh cache holding the prefix for `batch` rows (the stored tensors are not changed)."""
    from core.hf import loading

    with loading():
        from transformers import DynamicCache
    data = [(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in kv]
    return DynamicCache(ddp_cache_data=data, config=model.config)


def suffix_batch(prefix_len: int, suffixes: Sequence[Sequence[int]], pad_id: int, device):
    """(input_ids, attention_mask, position_ids) for left-padded suffixes after a shared prefix.

    The mask covers prefix + suffix; positions continue from the prefix length.

    >>> ids, mask, pos = suffix_batch(2, [[5, 6], [7]], 0, "cpu")
    >>> ids.tolist(), mask.tolist(), pos.tolist()
    ([[5, 6], [0, 7]], [[1, 1, 1, 1], [1, 1, 0, 1]], [[2, 3], [2, 2]])
    """
    import torch

    width = max(len(s) for s in suffixes)
    ids, mask, pos = [], [], []
    for s in suffixes:
        pad = width - len(s)
        ids.append([pad_id] * pad + list(s))
        mask.append([1] * prefix_len + [0] * pad + [1] * len(s))
        pos.append([prefix_len] * pad + list(range(prefix_len, prefix_len + len(s))))
    t = lambda x: torch.tensor(x, device=device)  # noqa: E731
    return t(ids), t(mask), t(pos)


def token_batches(lengths: Sequence[int], token_budget: int, max_rows: int) -> list[list[int]]:
    """Indices grouped into batches of similar length: each batch's rows x longest row stays
    within `token_budget` (a single longer row gets a batch of its own), at most `max_rows`.

    >>> token_batches([5, 1, 4, 2, 9], token_budget=8, max_rows=3)
    [[1, 3], [2], [0], [4]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = max(lengths[i], max((lengths[j] for j in cur), default=0))
        if cur and (len(cur) >= max_rows or width * (len(cur) + 1) > token_budget):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches
