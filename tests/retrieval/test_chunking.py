"""Chunking: sizes within the limit, token overlap, headings, original text kept, bad settings."""

from __future__ import annotations

import pytest

from core.retrieval import ChunkSettings, RetrievalError, chunk_text, chunk_units, count_tokens
from core.retrieval.chunking import _tokenizer

MD = "# Guide\n\nIntro paragraph about the product.\n\n## Refunds\n\n" + \
     "Refunds take five days. " * 30 + "\n\n## Invoices\n\nInvoices are PDF files.\n"


def test_token_windows_respect_size_and_overlap():
    words = "the cat sat on a mat and ran to the red barn by an old oak tree".split()
    text = " ".join(words[i % len(words)] for i in range(301))  # one token per word
    s = ChunkSettings("tokens", 32, 8)
    chunks = chunk_text(text, s)
    assert all(c.tokens <= 32 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    tok = _tokenizer()
    for a, b in zip(chunks, chunks[1:], strict=False):
        ta = tok.encode(a.text, add_special_tokens=False).ids
        tb = tok.encode(b.text, add_special_tokens=False).ids
        assert ta[-8:] == tb[:8]  # neighbours share exactly `overlap` tokens
    assert text.endswith(chunks[-1].text) and text.startswith(chunks[0].text)


def test_paragraph_mode_splits_at_headings_and_keeps_original_text():
    chunks = chunk_text(MD, ChunkSettings("paragraphs", 64, 8))
    assert all(c.tokens <= 64 for c in chunks)
    assert all(c.text in MD for c in chunks)  # slices of the original, never re-joined tokens
    headings = [c.heading for c in chunks]
    assert headings[0] == "Guide"
    assert "Guide > Refunds" in headings and headings[-1] == "Guide > Invoices"
    refund = [c for c in chunks if c.heading == "Guide > Refunds"]
    assert len(refund) > 1 and refund[0].text.startswith("## Refunds")  # heading kept with text
    assert not any("Invoices are" in c.text and "Refunds take" in c.text for c in chunks)
    assert chunks[-1].text == "## Invoices\n\nInvoices are PDF files."


def test_small_paragraphs_are_packed_and_units_numbered():
    text = "\n\n".join(f"Short paragraph number {i}." for i in range(10))
    assert len(chunk_text(text, ChunkSettings("paragraphs", 128, 0))) == 1
    chunks = chunk_units(["page one text", "", "page three text"], ChunkSettings())
    assert [(c.unit, c.position) for c in chunks] == [(0, 0), (2, 1)]
    assert count_tokens(["", "AUTH-429"])[0] == 0


@pytest.mark.parametrize("mode,size,overlap,needle", [
    ("tokens", 64, 64, "smaller than the chunk size"),
    ("tokens", 64, 100, "smaller than the chunk size"),
    ("tokens", 64, -1, "at least 0"),
    ("tokens", 4, 0, "out of range"),
    ("tokens", 1000, 0, "out of range"),
    ("sentences", 64, 0, "unknown"),
])
def test_bad_settings_say_what_to_do(mode, size, overlap, needle):
    with pytest.raises(RetrievalError, match=needle) as e:
        ChunkSettings(mode, size, overlap)
    assert "e.g." in str(e.value) or "use" in str(e.value)
