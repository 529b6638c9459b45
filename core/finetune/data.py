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


def default_variant(task: str) -> Variant:
    """The zero-shot prompt used when a run names none."""
    if task == "classification":
        return Variant(name="fine-tune", system="Classify the text. Answer with one label: {labels}.",
                       template="{input}")
    if task == "scale":
        return Variant(name="fine-tune", system="Rate the text. Answer with a number only.",
                       template="{input}")
    return Variant(name="fine-tune", template="{input}")


@dataclass
class Rows:
    """The rows of one split as render-ready dicts plus their targets."""

    values: list[dict]
    targets: list[str]
    contexts: list[str]
    index: list[int] = field(default_factory=list)  # row numbers within the split

    def __len__(self) -> int:
        return len(self.targets)

    def head(self, n: int) -> Rows:
        n = len(self) if n <= 0 else n
        return Rows(self.values[:n], self.targets[:n], self.contexts[:n], self.index[:n])


def rows_from_frame(frame, mapping) -> Rows:
    """Mapped rows of a split frame: every column by name, `input`, and the target."""
    values, targets, contexts = [], [], []
    for rec in frame.to_dict("records"):
        v = {str(k): "" if x is None else str(x) for k, x in rec.items()}
        v["input"] = v.get(mapping.input_col, "")
        values.append(v)
        targets.append(v.get(mapping.target_col, "").strip())
        contexts.append(v.get(mapping.context_col, "") if mapping.context_col else "")
    return Rows(values, targets, contexts, list(range(len(targets))))


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
