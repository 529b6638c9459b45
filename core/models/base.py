"""What every model backend returns and accepts.

A backend turns prompts into `Generation` records (text, token counts, latency);
the registry and the evaluation engine only ever see these types, so a local
transformers model and a hosted OpenAI-compatible endpoint are interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import LadderError


class ModelError(LadderError):
    """A model could not be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters. `temperature == 0` means greedy decoding.

    The repetition controls act on the answer's own tokens only, never on the prompt: a
    data-to-text answer must repeat the names and phrases its prompt gives it, and what
    they are for is stopping a small model that loops ("family-friendly, family-friendly,
    ..."). `repetition_penalty` 1.0 and `no_repeat_ngram_size` 0 mean off.
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ModelError("max_new_tokens must be at least 1.")
        if self.temperature < 0:
            raise ModelError("temperature must be 0 (greedy) or positive.")
        if not 0 < self.top_p <= 1:
            raise ModelError("top_p must be in (0, 1].")
        if not self.repetition_penalty > 0:
            raise ModelError("repetition_penalty must be positive (1.0 = off, e.g. 1.2).")
        if self.no_repeat_ngram_size < 0:
            raise ModelError("no_repeat_ngram_size must be 0 (off) or a positive n-gram size.")


@dataclass
class ChatPrompt:
    """A prompt as a user part and an optional system part."""

    user: str
    system: str | None = None

    def messages(self) -> list[dict[str, str]]:
        out = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        out.append({"role": "user", "content": self.user})
        return out


@dataclass
class Generation:
    """One model answer with its accounting."""

    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    finish_reason: str = "stop"
    compute_s: float | None = None  # machine time attributable to this request (batched share)
    extra: dict = field(default_factory=dict)


# A stop "string" that means: the answer's first JSON object or array has closed. Answers
# to JSON targets end there (a line break inside the object is not the end of the answer).
JSON_CLOSE = "\x00json-close"


def json_close(text: str) -> int | None:
    """The index just past the balanced close of the first JSON object or array in `text`,
    strings and escapes respected; None while it is still open (or none has begun).

    >>> t = 'Here: {"a": "}", "b": [1, {"c": 2}]}\\nmore'
    >>> t[:json_close(t)]
    'Here: {"a": "}", "b": [1, {"c": 2}]}'
    >>> json_close('{"a": [1,') is None
    True
    """
    start = next((i for i, ch in enumerate(text) if ch in "{["), None)
    if start is None:
        return None
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut `text` at the first stop string after any leading whitespace (a model that opens
    its answer with a line break has not finished it); `JSON_CLOSE` cuts just after the
    first JSON object closes.

    >>> apply_stop("Paris.\\nQ: next", ("\\nQ:",))
    ('Paris.', True)
    >>> apply_stop("\\nParis.\\nLyon.", ("\\n",))
    ('\\nParis.', True)
    >>> apply_stop('{\\n "a": 1\\n}\\n\\nNext:', (JSON_CLOSE,))
    ('{\\n "a": 1\\n}', True)
    """
    start = len(text) - len(text.lstrip())
    cut = len(text)
    for s in stop:
        if s == JSON_CLOSE:
            end = json_close(text)
            if end is not None:
                cut = min(cut, end)
        elif s:
            i = text.find(s, start)
            if i != -1:
                cut = min(cut, i)
    return text[:cut], cut < len(text)
