"""What a model kind is: its capabilities, its hooks and the fields a user fills in to add one.

A `Kind` is a plain description; `core.models.kinds.register` makes it known. Code that
has to treat models differently asks a capability (`kind.hosted`, `kind.trainable`, ...)
or calls a hook (`kind.load`, `kind.weights`, ...), never a kind's name, so a new kind is
one module plus one `register(Kind(...))` (docs/backends.md).

The backend that `load` returns answers `generate(prompts, params, batch_size=...)` with
one `core.models.base.Generation` per prompt; a kind with `likelihood` also answers
`score_candidates(prompts, candidates, batch_size=...)` (core.models.candidates), and a kind
that is not `prompted` answers `classify(texts, batch_size=...)` (core.models.classifier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FIELD_TYPES = ("text", "number", "integer", "flag", "dataset")


@dataclass(frozen=True)
class Field:
    """One thing a user gives to add a model of a kind: a page widget and a CLI flag.

    `name` is the ModelSpec field it fills (source, base_url, api_key_env, price_in_per_m,
    price_out_per_m, hourly_cost, concurrency, trust_remote_code, notes), or an input of the
    kind's own `add` hook (the classifier's `data`).
    """

    name: str
    label: str
    flag: str
    type: str = "text"
    help: str = ""
    placeholder: str = ""
    default: Any = None  # the page's starting value; the CLI leaves an unset flag unset
    required: bool = False  # asked for by the CLI and the page before anything is validated
    metavar: str | None = None
    format: str = ""  # number fields: printf-style format on the page, e.g. "%.4f"

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: type must be one of {', '.join(FIELD_TYPES)}")
        if not self.flag.startswith("--"):
            raise ValueError(f"field {self.name}: its CLI flag must start with --")

    @property
    def dest(self) -> str:
        """The argparse destination of the flag."""
        return self.flag[2:].replace("-", "_")


@dataclass(frozen=True)
class Kind:
    """A kind of model (a backend): what it can do and how it is validated, loaded and priced.

    Capabilities:
      hosted      runs on someone else's machine: the rows leave this one (the "data stays
                  in-house" requirement refuses it); priced per token by default
      local       runs on this machine (not hosted); priced by machine time by default
      trainable   can be the base model of a fine-tune (its weights are here: `weights`)
      likelihood  can score label candidates by log-likelihood (`score_candidates`)
      batch       batches prompts itself (large evaluation chunks); otherwise requests go
                  out one by one (small chunks)
      prompted    reads a prompt and writes text; False for a label predictor that reads
                  only the row's input (the embedding classifier)
      tuned       the product of a fine-tune on the project's data (adapters, fully
                  fine-tuned models): no prompt pull to calibrate, a one-time training cost
      downloads   fetches its weights from the Hugging Face Hub on first use (the hub is
                  then left online)
      tasks       the dataset tasks it can run (None: every task)

    Hooks (None where the kind has none):
      validate(spec)                 raise ValueError with a readable message; may normalise
                                     spec fields (called inside ModelSpec validation)
      check(spec)                    before saving, always (e.g. the key variable is set)
      verify(spec)                   before saving unless told not to (a test request)
      load(ws, spec, progress)       the backend object
      price(spec, in, out, seconds)  USD of one request (default: by `hosted`)
      weights(spec, cache_root, progress)  what transformers' from_pretrained loads
      context(ws, spec)              tokens of prompt and answer, known without loading
      status(spec, cache_root)       a short readiness note for the models table
      train_seconds(spec)            seconds it took to train when it was added
      fingerprint(spec)              a short hash of what answers: cached evaluation cells
                                     of a changed model are not reused
      add(ws, model_id, values)      a custom way to add one: returns (spec, detail, extra)
      gguf(ws, spec)                 the GGUF file its weights come from, when it ships as one
      parent(spec)                   the model it was trained from, where `base_model` is unset
    """

    name: str
    label: str
    hosted: bool = False
    trainable: bool = False
    likelihood: bool = False
    batch: bool = False
    prompted: bool = True
    tuned: bool = False
    downloads: bool = False
    tasks: tuple[str, ...] | None = None
    does: str = ""  # what it does, in a few words ("predicts labels"), for messages
    untrainable: str = ""  # why it cannot be a fine-tune base, after "'ID' "
    description: str = ""  # shown above its form on the Models page
    fields: tuple[Field, ...] = ()  # empty: not added by hand (built in, or made by a run)
    cli_flag: str | None = None  # a `ladder models add` flag that selects this kind
    add_button: str = "Add model"
    load: Callable | None = None
    validate: Callable | None = None
    check: Callable | None = None
    verify: Callable | None = None
    price: Callable | None = None
    weights: Callable | None = None
    context: Callable | None = None
    status: Callable | None = None
    train_seconds: Callable | None = None
    fingerprint: Callable | None = None
    add: Callable | None = None
    gguf: Callable | None = None
    parent: Callable | None = None
    module: str = ""  # the module that registered it (set by `register`)

    @property
    def local(self) -> bool:
        return not self.hosted

    @property
    def a_label(self) -> str:
        """The label in a sentence: "an embedding classifier"."""
        noun = self.label[:1].lower() + self.label[1:]
        return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"

    @property
    def addable(self) -> bool:
        """A user can add one by hand (the Models page form, `ladder models add`)."""
        return bool(self.fields)

    @property
    def selector(self) -> str:
        """How `ladder models add` is told this kind."""
        return self.cli_flag or f"--kind {self.name}"

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_by_flag(self, flag: str | None) -> Field | None:
        return next((f for f in self.fields if f.flag == flag), None)

    def capabilities(self) -> dict[str, bool]:
        return {c: bool(getattr(self, c)) for c in CAPABILITIES}

    def cost(self, spec, input_tokens: int, output_tokens: int, seconds: float) -> float | None:
        """USD of one request: the kind's `price` hook, else tokens x price when hosted and
        machine seconds x hourly cost / concurrency when local (None when a price is unset)."""
        if self.price is not None:
            return self.price(spec, input_tokens, output_tokens, seconds)
        if self.hosted:
            if spec.price_in_per_m is None or spec.price_out_per_m is None:
                return None
            return (input_tokens * spec.price_in_per_m + output_tokens * spec.price_out_per_m) / 1e6
        if spec.hourly_cost is None:
            return None
        return seconds / 3600.0 * spec.hourly_cost / max(1, spec.concurrency)

    def runs_on(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks


CAPABILITIES = ("hosted", "local", "trainable", "likelihood", "batch", "prompted", "tuned",
                "downloads")

# Fields most kinds share; a kind lists the ones it uses (its own `source` field first).
PRICE_IN = Field("price_in_per_m", "USD per 1M input tokens", "--price-in", "number",
                 help="hosted: USD per 1M input tokens", placeholder="required",
                 metavar="USD", format="%.4f")
PRICE_OUT = Field("price_out_per_m", "USD per 1M output tokens", "--price-out", "number",
                  help="hosted: USD per 1M output tokens", placeholder="required",
                  metavar="USD", format="%.4f")
HOURLY = Field("hourly_cost", "Hardware cost, USD per hour", "--hourly-cost", "number",
               help="local: USD per hour of the machine", metavar="USD", format="%.3f",
               placeholder="required, e.g. 0.10 for a small CPU machine")
CONCURRENCY = Field("concurrency", "Parallel requests", "--concurrency", "integer",
                    help="requests served at once (shares the hourly cost)", default=1,
                    metavar="N")
TRUST = Field("trust_remote_code", "Trust remote code (runs the model's own Python; only for "
              "models you trust)", "--trust-remote-code", "flag",
              help="allow the model's own Python code to run (off by default)")
NOTES = Field("notes", "Notes", "--notes", default="", metavar="TEXT",
              help="a note shown beside the model")

__all__ = ["CAPABILITIES", "CONCURRENCY", "Field", "HOURLY", "Kind", "NOTES", "PRICE_IN",
           "PRICE_OUT", "TRUST"]
