"""Cut document text into chunks sized in MiniLM tokens, by token window or by paragraph.

Two modes:

* ``tokens``: a sliding window of ``size`` tokens that steps ``size - overlap``
  tokens, so neighbouring chunks share ``overlap`` tokens of context.
* ``paragraphs``: Markdown-aware. A heading (``#`` ... ``######``) always starts a
  new chunk; paragraphs (blank-line separated) are packed whole until the next
  one would exceed ``size``; a paragraph longer than ``size`` is cut with the
  token window. Each chunk knows its heading path ("Account > Locked out").

Chunk text is always a slice of the original text (offsets come from the fast
tokenizer), never a detokenised string, so what the prompt shows is what the
document said. Sizes are counted with all-MiniLM-L6-v2's own WordPiece
tokenizer, read from the packaged model's ``tokenizer.json`` (no model weights
needed, ~50 ms).

Trade-off: packing by paragraph keeps meaning together but gives uneven sizes
(many chunks well below ``size``); the token window gives even sizes but can
cut a sentence in two, which the overlap softens.

>>> s = ChunkSettings(mode="tokens", size=8, overlap=2)
>>> [c.text for c in chunk_text("one two three four five six seven eight nine ten eleven", s)]
['one two three four five six seven eight', 'seven eight nine ten eleven']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from core.retrieval.errors import RetrievalError

MODES = ("paragraphs", "tokens")
MAX_TOKENS = 254  # MiniLM reads 256 tokens, two of which are [CLS] and [SEP]
MIN_TOKENS = 8
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_BLANK = re.compile(r"\n[ \t]*\n+")


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut; checked on creation."""

    mode: str = "paragraphs"
    size: int = 128
    overlap: int = 16

    def __post_init__(self) -> None:
        check_settings(self.mode, self.size, self.overlap)

    def label(self) -> str:
        return f"{self.mode}, {self.size} tokens, overlap {self.overlap}"


@dataclass(frozen=True)
class Chunk:
    text: str
    position: int  # order within the document, from 0
    unit: int  # page (PDF) or row (CSV) number from 0; 0 for one-piece documents
    start: int  # character offset of the chunk within its unit
    heading: str  # heading path, "" when none
    tokens: int


def check_settings(mode: str, size: int, overlap: int) -> None:
    if mode not in MODES:
        raise RetrievalError(f"chunk mode '{mode}' is unknown; use 'paragraphs' (by heading and "
                             "paragraph) or 'tokens' (a sliding token window).")
    if not (MIN_TOKENS <= size <= MAX_TOKENS):
        raise RetrievalError(
            f"chunk size {size} is out of range; give {MIN_TOKENS} to {MAX_TOKENS} tokens "
            f"(all-MiniLM-L6-v2 reads at most {MAX_TOKENS + 2} tokens, longer chunks would be "
            "cut off), e.g. --chunk-size 128.")
    if overlap < 0 or overlap >= size:
        raise RetrievalError(
            f"overlap {overlap} must be at least 0 and smaller than the chunk size {size}; "
            f"give e.g. --chunk-size {size} --overlap {max(0, min(size // 8, size - 1))}.")


@lru_cache(maxsize=1)
def _tokenizer():
    """A private copy of MiniLM's fast tokenizer with truncation and padding off."""
    from tokenizers import Tokenizer

    from core.embeddings import model_path

    path = os.path.join(model_path(), "tokenizer.json")
    if os.path.exists(path):
        tok = Tokenizer.from_file(path)
    else:  # an unusual package layout: copy the loaded model's tokenizer
        from core.embeddings import tokenizer

        tok = Tokenizer.from_str(tokenizer().backend_tokenizer.to_str())
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(texts: list[str]) -> list[int]:
    """MiniLM tokens of each text, without [CLS]/[SEP].

    >>> count_tokens(["reset my password"])
    [3]
    """
    if not texts:
        return []
    encs = _tokenizer().encode_batch(list(texts), add_special_tokens=False)
    return [len(e.ids) for e in encs]


def _offsets(text: str) -> list[tuple[int, int]]:
    return _tokenizer().encode(text, add_special_tokens=False).offsets


def _windows(text: str, base: int, size: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) character spans of token windows over text[...], shifted by base."""
    offs = _offsets(text)
    if not offs:
        return []
    spans, step, i = [], size - overlap, 0
    while True:
        j = min(i + size, len(offs))
        spans.append((base + offs[i][0], base + offs[j - 1][1], j - i))
        if j >= len(offs):
            return spans
        i += step


def _sections(text: str) -> list[tuple[int, int, str]]:
    """(start, end, heading path) of each heading-delimited section of text."""
    marks = [(m.start(), len(m.group(1)), m.group(2).strip()) for m in _HEADING.finditer(text)]
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, 0, ""))
    out, stack = [], []
    for n, (start, level, title) in enumerate(marks):
        if level:
            stack = [s for s in stack if s[0] < level] + [(level, title)]
        end = marks[n + 1][0] if n + 1 < len(marks) else len(text)
        out.append((start, end, " > ".join(t for _, t in stack)))
    return out


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank paragraph spans in text[start:end]; a heading line joins the next paragraph."""
    spans, pos = [], start
    for m in _BLANK.finditer(text, start, end):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, end))
    spans = [(a, b) for a, b in spans if text[a:b].strip()]
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and _HEADING.fullmatch(text[merged[-1][0]:merged[-1][1]].strip()):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _paragraph_spans(text: str, size: int, overlap: int) -> list[tuple[int, int, int, str]]:
    spans: list[tuple[int, int, int, str]] = []
    for s_start, s_end, heading in _sections(text):
        paras = _paragraphs(text, s_start, s_end)
        counts = count_tokens([text[a:b] for a, b in paras])
        cur: list[int] = []  # [start, end, tokens] of the chunk being packed
        for (a, b), n in zip(paras, counts, strict=True):
            if cur and cur[2] + n <= size:
                cur[1], cur[2] = b, cur[2] + n
                continue
            if cur:
                spans.append((cur[0], cur[1], cur[2], heading))
                cur = []
            if n <= size:
                cur = [a, b, n]
            else:
                spans.extend((x, y, t, heading) for x, y, t in _windows(text[a:b], a, size,
                                                                       overlap))
        if cur:
            spans.append((cur[0], cur[1], cur[2], heading))
    return spans


def _token_spans(text: str, size: int, overlap: int) -> list[tuple[int, int, int, str]]:
    sections = _sections(text)
    out = []
    for a, b, n in _windows(text, 0, size, overlap):
        heading = next((h for s, _e, h in reversed(sections) if s <= a), "")
        out.append((a, b, n, heading))
    return out


def chunk_text(text: str, settings: ChunkSettings, unit: int = 0,
               first_position: int = 0) -> list[Chunk]:
    """Chunks of one text (a page, a row or a whole document), in reading order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return []
    cut = _paragraph_spans if settings.mode == "paragraphs" else _token_spans
    chunks = []
    for a, b, n, heading in cut(text, settings.size, settings.overlap):
        raw = text[a:b]
        body = raw.strip()
        if body:
            lead = len(raw) - len(raw.lstrip())
            chunks.append(Chunk(body, first_position + len(chunks), unit, a + lead, heading, n))
    return chunks


def chunk_units(units: list[str], settings: ChunkSettings) -> list[Chunk]:
    """Chunks of a document made of units (PDF pages, CSV rows); positions run across units."""
    out: list[Chunk] = []
    for i, text in enumerate(units):
        out.extend(chunk_text(text, settings, unit=i, first_position=len(out)))
    return out
