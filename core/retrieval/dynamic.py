"""Dynamic prompt parts: `{context}` from retrieved chunks, `{examples}` from similar train rows.

* `context_for(query, kb, k, token_budget)` searches the knowledge base and
  keeps chunks in rank order while they fit the token budget (a chunk that does
  not fit is skipped, a smaller one after it may still fit); the result says
  which chunks were used, which were dropped and why.
* `similar_examples(query, index, k, exclude_row_id)` returns the k labelled
  rows most similar to the query from an `ExampleIndex`, which holds only the
  **train** split of a dataset version (the leakage guard: validation and test
  rows are never in it), and never the row itself nor a row with the same
  normalised input text.
* `hit_rate_at_k` and `mrr` score retrieval against a reference-context column.

The train-row vectors are computed once per (dataset version, split) and kept
as a .npy file under `LADDER_HOME/cache/example-vectors` plus an in-memory LRU,
so an evaluation pays the embedding cost once, not per row or per run.

Trade-off: example selection is exact (a matrix product over all train rows,
~0.2 ms per row for 10,000 rows) rather than an HNSW lookup: exact is fast at
train-set sizes and has no recall loss, and it needs no chroma collection per
dataset version.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from core.retrieval.errors import RetrievalError
from core.retrieval.search import Hit, search
from core.retrieval.store import KnowledgeBase

_indexes: OrderedDict[str, ExampleIndex] = OrderedDict()


@dataclass
class Context:
    text: str  # what fills {context}
    chunks: list[Hit]  # used, in rank order
    dropped: list[Hit] = field(default_factory=list)  # retrieved but over the budget
    tokens: int = 0
    budget: int = 0


def _format(hit: Hit) -> str:
    head = hit.source + (f" › {hit.heading}" if hit.heading else "")
    return f"[{head}]\n{hit.document}"


def _budgeted(hits: list[Hit], token_budget: int,
              counter: Callable[[list[str]], list[int]] | None) -> Context:
    from core.retrieval.chunking import count_tokens

    blocks = [_format(h) for h in hits]
    sizes = (counter or count_tokens)(blocks)
    used, dropped, parts, total = [], [], [], 0
    for h, block, n in zip(hits, blocks, sizes, strict=True):
        if total + n <= token_budget:
            used.append(h)
            parts.append(block)
            total += n
        else:
            h.why += f"; dropped: {n} tokens would pass the budget ({total}/{token_budget} used)"
            dropped.append(h)
    return Context("\n\n".join(parts), used, dropped, total, token_budget)


def context_for(query: str, kb: KnowledgeBase, k: int = 4, token_budget: int = 512, *,
                threshold: float | None = None, hybrid: bool = False,
                mmr_diversity: bool = False, query_vec: np.ndarray | None = None,
                count_tokens: Callable[[list[str]], list[int]] | None = None) -> Context:
    """The `{context}` for one input: the top-k chunks that fit in `token_budget` tokens.

    Tokens are counted with MiniLM's tokenizer unless `count_tokens` (e.g. the
    generating model's) is given; each chunk is written as "[source › heading]\\ntext".
    """
    if token_budget < 1:
        raise RetrievalError(f"token budget {token_budget} leaves no room for context; give e.g. "
                             "512.")
    hits = search(kb, query, k, threshold=threshold, hybrid=hybrid, mmr_diversity=mmr_diversity,
                  query_vec=query_vec)
    return _budgeted(hits, token_budget, count_tokens)


def contexts_for(queries: Sequence[str], kb: KnowledgeBase, k: int = 4, token_budget: int = 512,
                 **options) -> list[Context]:
    """`context_for` over many inputs, with the query vectors embedded in one batch."""
    from core.embeddings import embed

    vecs = embed(list(queries))
    return [context_for(q, kb, k, token_budget, query_vec=v, **options)
            for q, v in zip(queries, vecs, strict=True)]


@dataclass
class ExampleIndex:
    """Embedded train rows of one dataset version; only train rows can be in it."""

    key: str
    row_ids: np.ndarray  # positions in the version's rows (as in `Split.indices`)
    inputs: list[str]
    targets: list[str]
    keys: list[str]  # normalised inputs, for the same-text guard
    vecs: np.ndarray  # (n, 384) float32, unit length

    def __len__(self) -> int:
        return len(self.row_ids)

    @cached_property
    def position(self) -> dict[int, int]:
        """row id -> position in this index."""
        return {int(r): j for j, r in enumerate(self.row_ids)}

    @cached_property
    def by_key(self) -> dict[str, list[int]]:
        """normalised input -> positions of the train rows with that input."""
        out: dict[str, list[int]] = {}
        for j, key in enumerate(self.keys):
            out.setdefault(key, []).append(j)
        return out


def index_from_rows(inputs: Sequence[str], targets: Sequence[str], assignment: np.ndarray,
                    key: str, cache_dir: Path | None = None,
                    row_ids: Sequence[int] | None = None) -> ExampleIndex:
    """An index of the rows whose split `assignment` is 0 (train); the others are left out.

    Row ids are the rows' positions unless `row_ids` gives them.
    """
    from core.datasets.text import normalise
    from core.embeddings import embed

    pos = np.flatnonzero(np.asarray(assignment) == 0)
    ins = [str(inputs[i]) for i in pos]
    tgts = [str(targets[i]) for i in pos]
    keep = [j for j, (x, y) in enumerate(zip(ins, tgts, strict=True)) if x.strip() and y.strip()]
    pos, ins, tgts = pos[keep], [ins[j] for j in keep], [tgts[j] for j in keep]
    train = pos if row_ids is None else np.asarray(row_ids, dtype=np.int64)[pos]
    digest = hashlib.sha256(key.encode() + train.astype(np.int64).tobytes()).hexdigest()[:24]
    memo = f"{cache_dir}:{digest}"
    if memo in _indexes:
        _indexes.move_to_end(memo)
        return _indexes[memo]
    path = cache_dir / f"{digest}.npy" if cache_dir else None
    vecs = None
    if path is not None and path.exists():
        vecs = np.load(path)
        if vecs.shape != (len(train), 384):
            vecs = None
    if vecs is None:
        vecs = embed(ins)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vecs)
            tmp.replace(path)
    index = ExampleIndex(digest, train, ins, tgts, [normalise(x) for x in ins], vecs)
    _indexes[memo] = index
    while len(_indexes) > 4:
        _indexes.popitem(last=False)
    return index


def example_index(ws, version) -> ExampleIndex:
    """The train-split example index of a dataset version (cached on disk and in memory)."""
    from core.datasets import get_split, load_frame

    split = get_split(ws, version)
    if split is None:
        raise RetrievalError(f"'{version.dataset}' version {version.number} has no split, so "
                             "there is no train split to draw examples from; make one with "
                             f"`ladder data split {version.dataset}`.")
    frame = load_frame(ws, version)
    m = version.mapping
    index = index_from_rows(frame[m.input_col].tolist(), frame[m.target_col].tolist(),
                            split.assignment, f"{version.hash}:{m.input_col}:{m.target_col}",
                            ws.settings.root / "cache" / "example-vectors")
    if not len(index):
        raise RetrievalError(f"the train split of '{version.dataset}' has no labelled rows; "
                             "re-split with a smaller --val/--test.")
    return index


def _as_index(train_rows: ExampleIndex | Sequence[dict]) -> ExampleIndex:
    """An ExampleIndex as it is; train row dicts (`row_id`, `input`, `target`, e.g.
    `EvalRows.train_rows`) are embedded once and cached by content."""
    if isinstance(train_rows, ExampleIndex):
        return train_rows
    rows = list(train_rows)
    try:
        ids = [int(r["row_id"]) for r in rows]
        ins = [str(r["input"]) for r in rows]
        tgts = [str(r["target"]) for r in rows]
    except (KeyError, TypeError, ValueError):
        raise RetrievalError("train rows must be an ExampleIndex or dicts with row_id, input and "
                             "target (as EvalRows.train_rows are).") from None
    key = hashlib.sha256("\x00".join(ins + tgts).encode()).hexdigest()
    return index_from_rows(ins, tgts, np.zeros(len(rows), dtype=np.uint8), key, row_ids=ids)


def similar_examples(query: str | np.ndarray, train_rows: ExampleIndex | Sequence[dict], k: int,
                     exclude_row_id: int | None = None) -> list[dict]:
    """The k most similar train rows: [{"row_id", "input", "target", "score"}], best first.

    `train_rows` is the version's `example_index(ws, version)` (train split only,
    vectors cached on disk) or a list of train row dicts. Never returns
    `exclude_row_id` (the row being answered) and, when `query` is text, never a
    train row with the same normalised input.
    `render_variant(variant, row, examples=...)` accepts the result as it is.
    """
    return similar_examples_batch([query], train_rows, k, [exclude_row_id])[0]


def similar_examples_batch(queries: Sequence[str] | np.ndarray,
                           train_rows: ExampleIndex | Sequence[dict], k: int,
                           exclude_row_ids: Sequence[int | None] | None = None) -> list[list[dict]]:
    """`similar_examples` for many queries with one matrix product."""
    from core.datasets.text import normalise
    from core.embeddings import embed

    train_rows = _as_index(train_rows)
    if k < 0:
        raise RetrievalError(f"few-shot k={k} must be 0 or more, e.g. --few-shot-k 3.")
    n = len(queries)
    exclude = list(exclude_row_ids) if exclude_row_ids is not None else [None] * n
    if len(exclude) != n:
        raise RetrievalError("give one exclude_row_id (or None) per query.")
    if k == 0 or n == 0 or not len(train_rows):
        return [[] for _ in range(n)]
    texts = [q if isinstance(q, str) else None for q in queries]
    if all(t is not None for t in texts):
        qv = embed(texts)
    else:
        qv = np.stack([embed([q])[0] if isinstance(q, str) else np.asarray(q, np.float32)
                       for q in queries])
    sims = qv @ train_rows.vecs.T
    pos = train_rows.position
    by_key = train_rows.by_key if any(texts) else {}
    out = []
    for i in range(n):
        row = sims[i]
        if exclude[i] is not None and int(exclude[i]) in pos:
            row[pos[int(exclude[i])]] = -np.inf
        if texts[i] is not None:
            row[by_key.get(normalise(texts[i]), [])] = -np.inf
        m = min(k, len(row))
        top = np.argpartition(-row, m - 1)[:m]
        top = top[np.argsort(-row[top], kind="stable")]
        out.append([{"row_id": int(train_rows.row_ids[j]), "input": train_rows.inputs[j],
                     "target": train_rows.targets[j], "score": round(float(row[j]), 6)}
                    for j in top if np.isfinite(row[j])])
    return out


def is_hit(hit: Hit, reference: str) -> bool:
    """Whether a retrieved chunk matches a reference context: same source document name
    (with or without extension), or one text contains the other (case and spaces ignored).

    >>> h = Hit("x", "Refunds take 5 days.", "billing.md", 1, 1, 1, 0, 0, "", "", "vector", "")
    >>> is_hit(h, "billing"), is_hit(h, "refunds take 5 DAYS."), is_hit(h, "sync")
    (True, True, False)
    """
    from core.datasets.text import normalise

    ref = normalise(reference or "")
    if not ref:
        return False
    src = normalise(hit.source)
    if ref in (src, src.rsplit(".", 1)[0]):
        return True
    text = normalise(hit.document)
    return ref in text or (len(text) >= 20 and text in ref)


def first_hit(hits: list[Hit], reference: str, k: int | None) -> int | None:
    for rank, h in enumerate(hits[:k] if k else hits, 1):
        if is_hit(h, reference):
            return rank
    return None


def hit_rate_at_k(results: Sequence[list[Hit]], references: Sequence[str], k: int) -> float:
    """Share of queries (with a non-empty reference) whose top k holds a matching chunk."""
    pairs = [(r, ref) for r, ref in zip(results, references, strict=True) if str(ref).strip()]
    if not pairs:
        return float("nan")
    return sum(first_hit(r, ref, k) is not None for r, ref in pairs) / len(pairs)


def mrr(results: Sequence[list[Hit]], references: Sequence[str], k: int | None = None) -> float:
    """Mean reciprocal rank of the first matching chunk (0 when none), over non-empty references."""
    pairs = [(r, ref) for r, ref in zip(results, references, strict=True) if str(ref).strip()]
    if not pairs:
        return float("nan")
    ranks = [first_hit(r, ref, k) for r, ref in pairs]
    return sum(1.0 / r for r in ranks if r) / len(pairs)


def retrieval_metrics(kb: KnowledgeBase, queries: Sequence[str], references: Sequence[str],
                      k: int = 5, **options) -> dict:
    """Hit rate@k and MRR of `search` over (query, reference context) pairs."""
    from core.embeddings import embed

    vecs = embed(list(queries))
    results = [search(kb, q, k, query_vec=v, **options) for q, v in zip(queries, vecs,
                                                                       strict=True)]
    n = sum(1 for ref in references if str(ref).strip())
    return {"k": k, "n": n, "hit_rate": hit_rate_at_k(results, references, k),
            "mrr": mrr(results, references, k)}
