"""Training examples: dataset rows -> prompts (the run's variant) -> token ids with a masked prompt.

The prompt is rendered exactly as the evaluation engine renders it (the
model's chat template for instruct models, completion text otherwise), and
the answer follows the way candidate scoring appends it, so what the model is
trained on is what it is measured on. Only the answer tokens carry a label;
the prompt's labels are -100.

Trade-off: examples are tokenized eagerly into Python lists (no `datasets`
Arrow tables). Fine-tuning sets here are thousands of rows, not millions, and
lists keep the worker, the validator and the benchmark on one code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models.base import ChatPrompt
from core.prompts.variants import Variant, render_variant

IGNORE = -100


@dataclass
class Rows:
    """The rows of one split as render-ready dicts plus their targets."""

    values: list[dict]
    targets: list[str]
    contexts: list[str]
    index: list[int] = field(default_factory=list)  # row numbers within the split
    unlabelled: int = 0  # rows of the split left out because they have no target yet

    def __len__(self) -> int:
        return len(self.targets)

    def head(self, n: int) -> Rows:
        n = len(self) if n <= 0 else n
        return Rows(self.values[:n], self.targets[:n], self.contexts[:n], self.index[:n])


def rows_from_frame(frame, mapping) -> Rows:
    """Mapped rows of a split frame: every column by name, `input`, and the target. Rows
    without a target are left out (and counted): there is nothing to learn or score."""
    values, targets, contexts, index = [], [], [], []
    skipped = 0
    for i, rec in enumerate(frame.to_dict("records")):
        v = {str(k): "" if x is None else str(x) for k, x in rec.items()}
        v["input"] = v.get(mapping.input_col, "")
        target = v.get(mapping.target_col, "").strip()
        if not target:
            skipped += 1
            continue
        values.append(v)
        targets.append(target)
        contexts.append(v.get(mapping.context_col, "") if mapping.context_col else "")
        index.append(i)
    return Rows(values, targets, contexts, index, skipped)


def prompts_for(variant: Variant, rows: Rows, labels: list[str] | None) -> list[ChatPrompt]:
    return [render_variant(variant, v, context=c, labels=labels)
            for v, c in zip(rows.values, rows.contexts, strict=True)]


class Encoder:
    """Renders and tokenizes prompt + answer pairs for one tokenizer."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.chat = bool(getattr(tokenizer, "chat_template", None))

    def render(self, prompt: ChatPrompt) -> str:
        if self.chat:
            return self.tok.apply_chat_template(prompt.messages(), tokenize=False,
                                                add_generation_prompt=True)
        return f"{prompt.system}\n\n{prompt.user}" if prompt.system else prompt.user

    def prompt_ids(self, prompt: ChatPrompt) -> list[int]:
        return self.tok(self.render(prompt), add_special_tokens=not self.chat)["input_ids"]

    def completion(self, prompt: ChatPrompt, answer: str) -> str:
        """The text after the prompt: the answer plus the end-of-turn the template adds."""
        text = self.render(prompt)
        if self.chat:
            full = self.tok.apply_chat_template(
                [*prompt.messages(), {"role": "assistant", "content": answer}], tokenize=False)
            if full.startswith(text):
                return full[len(text):]
            return answer + (self.tok.eos_token or "")
        sep = "" if text[-1:].isspace() else " "
        return sep + answer + (self.tok.eos_token or "")

    def example(self, prompt: ChatPrompt, answer: str) -> dict:
        p_ids = self.prompt_ids(prompt)
        c_ids = self.tok(self.completion(prompt, answer), add_special_tokens=False)["input_ids"]
        return {"input_ids": p_ids + c_ids, "labels": [IGNORE] * len(p_ids) + c_ids,
                "prompt_len": len(p_ids)}

    def examples(self, prompts: list[ChatPrompt], answers: list[str]) -> list[dict]:
        return [self.example(p, a) for p, a in zip(prompts, answers, strict=True)]


class ExampleDataset:
    """A list of examples as a torch-style dataset (len + getitem; lengths for grouping)."""

    def __init__(self, examples: list[dict]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        ex = self.examples[i]
        return {"input_ids": ex["input_ids"], "labels": ex["labels"]}


def sample_indices(n: int, k: int, seed: int = 0) -> list[int]:
    """A fixed, seeded choice of k of n row numbers (all of them when k is 0 or >= n), in order.

    >>> sample_indices(10, 3, seed=1) == sample_indices(10, 3, seed=1)
    True
    >>> sample_indices(4, 0)
    [0, 1, 2, 3]
    """
    import numpy as np

    if k <= 0 or k >= n:
        return list(range(n))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n, size=k, replace=False))


def token_batches(examples: list[dict], tokens: int, max_rows: int, seed: int = 0,
                  window: int = 4) -> list[list[dict]]:
    """Examples cut into micro-batches whose rows x longest row stays within `tokens`.

    Rows are shuffled (seeded), then sorted by length within windows of about `window`
    batches, so a batch holds rows of similar length (little padding) without every batch
    of long rows being, say, all spam. A row longer than the budget gets a batch alone
    (the plan refuses budgets below the longest row).
    """
    import numpy as np

    from core.models.prefix import token_batches as cut

    order = [int(i) for i in np.random.default_rng(seed).permutation(len(examples))]
    mean = sum(len(e["input_ids"]) for e in examples) / max(1, len(examples))
    per_window = max(1, int(window * min(max_rows, max(1, tokens // max(1, int(mean))))))
    out: list[list[dict]] = []
    for start in range(0, len(order), per_window):
        part = order[start:start + per_window]
        for idx in cut([len(examples[i]["input_ids"]) for i in part], tokens, max_rows):
            out.append([examples[part[j]] for j in idx])
    return out


class BatchDataset:
    """Pre-cut micro-batches as a dataset: the Trainer draws one item (a batch) per step."""

    def __init__(self, batches: list[list[dict]]):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> list[dict]:
        return self.batches[i]


class TrainCollator:
    """One micro-batch in the shared-prefix layout of core.models.prefix.

    The tokens every row of the batch begins with (chat header, system message,
    instructions) go once into `prefix_ids`; each row's remaining tokens are left-padded,
    so its answer ends every row. `keep` marks the positions whose next token is part of
    the answer: only there are logits and the loss computed. Counts example tokens (what
    the rows hold) and computed tokens (what actually ran through the model).
    """

    def __init__(self, pad_id: int, share_prefix: bool = True):
        self.pad_id = pad_id
        self.share_prefix = share_prefix
        self.real_tokens = 0
        self.computed_tokens = 0
        self.rows = 0

    def shared(self, rows: list[dict]) -> int:
        """Prefix length shared in this batch (each row keeps one prompt token of its own)."""
        from core.models.prefix import share_len

        if not self.share_prefix or len(rows) < 2:
            return 0
        return share_len([r["input_ids"] for r in rows],
                         keep=[len(r["input_ids"]) - r["prompt_len"] + 1 for r in rows])

    def computed(self, rows: list[dict]) -> int:
        """Tokens that run through the model for this batch (prefix once, then each row)."""
        p = self.shared(rows)
        return p + sum(len(r["input_ids"]) - p for r in rows)

    def __call__(self, items) -> dict:
        import torch

        from core.models.prefix import suffix_batch

        rows = items[0] if items and isinstance(items[0], list) else items
        seqs = [r["input_ids"] for r in rows]
        p = self.shared(rows)
        ids, mask, pos = suffix_batch(p, [s[p:] for s in seqs], self.pad_id, "cpu")
        width = ids.shape[1]
        labels = torch.tensor([[IGNORE] * (width - len(r["labels"]) + p) + r["labels"][p:]
                               for r in rows])
        keep = torch.zeros_like(labels, dtype=torch.bool)
        keep[:, :-1] = labels[:, 1:] != IGNORE
        out = {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "labels": labels,
               "keep": keep}
        if p:
            out["prefix_ids"] = torch.tensor([seqs[0][:p]])
        self.real_tokens += sum(len(s) for s in seqs)
        self.computed_tokens += p + sum(len(s) - p for s in seqs)
        self.rows += len(rows)
        return out


class DynamicPadCollator:
    """Pads each batch to its own longest row (right padding); counts real tokens.

    >>> c = DynamicPadCollator(pad_id=0)
    >>> b = c([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [5], "labels": [5]}])
    >>> b["input_ids"].tolist(), b["labels"].tolist(), c.real_tokens
    ([[5, 6, 7], [5, 0, 0]], [[-100, 6, 7], [5, -100, -100]], 4)
    """

    def __init__(self, pad_id: int, pad_to: int | None = None):
        self.pad_id = pad_id
        self.pad_to = pad_to  # the benchmark's baseline pads everything to one length
        self.real_tokens = 0
        self.padded_tokens = 0

    def __call__(self, batch: list[dict]):
        import torch

        width = self.pad_to or max(len(b["input_ids"]) for b in batch)
        ids, labels, mask = [], [], []
        for b in batch:
            n = len(b["input_ids"])
            ids.append(b["input_ids"] + [self.pad_id] * (width - n))
            labels.append(b["labels"] + [IGNORE] * (width - n))
            mask.append([1] * n + [0] * (width - n))
            self.real_tokens += n
        self.padded_tokens += width * len(batch)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
                "attention_mask": torch.tensor(mask)}
