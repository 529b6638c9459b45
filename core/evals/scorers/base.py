"""What every scorer shares: the `Scored` record, error kinds, text normalisation, answer
parsing (labels, numbers, JSON) and looping detection.

A scorer never raises on odd output: it reports an error kind (`invalid_output`,
`looping`), which the leaderboard counts separately from wrong answers.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass

INVALID = "invalid_output"
MODEL_ERROR = "model_error"
LOOPING = "looping"
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_PREFIX = re.compile(r"^(?:the\s+)?(?:answer|label|category|class|sentiment|rating|score)\s*(?:is)?\s*[:=-]?\s*",
                     re.I)
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


@dataclass
class Scored:
    parsed: str | None
    score: float
    passed: bool
    error_kind: str | None = None


def normalize(text: str) -> str:
    """Lowercase, unify separators, drop surrounding punctuation.

    >>> normalize('  "Feature_Request." ')
    'feature request'
    """
    t = text.strip().lower().replace("_", " ").replace("-", " ")
    t = re.sub(r"\s+", " ", t)
    return t.strip(" \t\n\"'`.,;:!?()[]{}*")


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: lowercase, no punctuation, no articles, split on space.

    >>> answer_tokens("The Eiffel Tower, Paris!")
    ['eiffel', 'tower', 'paris']
    """
    return _ARTICLES.sub(" ", (text or "").lower().translate(_PUNCT)).split()


def extract_label(output: str, labels: list[str]) -> str | None:
    """The label an output names: exact, after a prefix like 'Answer:', or first mentioned.

    >>> extract_label("The category is: Billing.", ["billing", "bug"])
    'billing'
    >>> extract_label("I think this is a bug report", ["billing", "bug"])
    'bug'
    >>> extract_label("no idea", ["billing", "bug"]) is None
    True
    """
    norm_labels = {normalize(lab): lab for lab in labels}
    text = normalize(output)
    if text in norm_labels:
        return norm_labels[text]
    first_line = normalize(_PREFIX.sub("", output.strip().splitlines()[0] if output.strip() else ""))
    if first_line in norm_labels:
        return norm_labels[first_line]
    best: tuple[int, int, str] | None = None
    for nl, lab in norm_labels.items():
        if not nl:
            continue
        m = re.search(rf"(?<![a-z0-9]){re.escape(nl)}(?![a-z0-9])", text)
        if m and (best is None or (m.start(), -len(nl)) < (best[0], best[1])):
            best = (m.start(), -len(nl), lab)
    return best[2] if best else None


def parse_number(output: str) -> float | None:
    """First number in the output ('7/10' -> 7.0, '8,5' -> 8.5).

    >>> parse_number("I'd rate it 7/10")
    7.0
    """
    m = _NUMBER.search(output or "")
    return float(m.group(0).replace(",", ".")) if m else None


def unfence(text: str) -> str:
    """The content of the first ```json fenced block, else the text itself (stripped)."""
    text = (text or "").strip()
    fenced = _FENCED.search(text)
    return fenced.group(1).strip() if fenced else text


def parse_json_object(text: str) -> dict | None:
    """The JSON object in a model output, read leniently: the whole text, a fenced block, or
    the span from the first '{' to the last '}'. None when there is no object.

    >>> parse_json_object('Sure! ```json\\n{"name": "Aromi"}\\n```')
    {'name': 'Aromi'}
    >>> parse_json_object('Here it is: {"a": 1} hope it helps')
    {'a': 1}
    >>> parse_json_object("name: Aromi") is None
    True
    """
    text = unfence(text)
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for c in candidates:
        try:
            value = json.loads(c)
        except (ValueError, TypeError):
            continue
        if isinstance(value, dict):
            return value
    return None


def looks_looping(text: str) -> bool:
    """True when the output ends in a loop: the same 1-4 words repeated at least 4 times in a
    row (or a 5-12 word phrase at least 3 times) up to the end, the last copy possibly cut off
    by the token limit; or such a run covering at least half the output's words.

    >>> looks_looping("It is family-friendly, family-friendly, family-friendly, family-friendly, family-")
    True
    >>> looks_looping("The Eagle is a cheap coffee shop near Burger King. It is family friendly.")
    False
    """
    words = re.findall(r"\w+", (text or "").lower())
    for n in range(1, 13):
        need = 4 if n <= 4 else 3
        run = 0  # words that equal the word n places before, in the current run
        for i in range(n, len(words) + 1):
            if i < len(words) and words[i] == words[i - n]:
                run += 1
                continue
            copies = (run + n) / n
            if run and copies >= need and (i == len(words) or run + n >= len(words) / 2):
                return True
            run = 0
    return False
