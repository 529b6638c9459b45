"""The sample tickets with their labels hidden except 40, and a teacher that knows them.

The teacher is the fake OpenAI-compatible server: it finds the ticket in the prompt and
answers its hidden label, except every fifth ticket (a wrong label: a known 20 % error
rate) and the tickets in `MUMBLE` (an answer that names no label).
"""

from __future__ import annotations

import csv
import re

import pytest

from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAIServer

SAMPLE = ROOT / "examples" / "support_tickets.csv"
HAND = 40  # rows that keep their label
MUMBLE = {"T-10103", "T-10207"}
TICKET = re.compile(r"(?:Ticket|Input): (.*?)\n\n", re.S)  # our variant or the built-in one


def sample_rows() -> list[dict]:
    with SAMPLE.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def hidden(tmp_path):
    """(csv path, {ticket text: hidden label}, {ticket text: ticket id}): 40 labels kept."""
    rows = sample_rows()
    truth = {r["text"]: r["category"] for r in rows}
    ids = {r["text"]: r["ticket_id"] for r in rows}
    path = tmp_path / "tickets.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({**r, "category": r["category"] if i < HAND else ""})
    return path, truth, ids


def wrong(label: str) -> str:
    labels = ["account", "billing", "bug", "feature_request"]
    return labels[(labels.index(label) + 1) % len(labels)]


def teacher_answer(truth: dict, ids: dict):
    def answer(body: dict) -> str:
        text = TICKET.search(body["messages"][-1]["content"]).group(1).strip()
        tid = ids[text]
        if tid in MUMBLE:
            return "I am not sure what this is."
        if not truth[text]:
            return ""
        n = int(tid.split("-")[1])
        return wrong(truth[text]) if n % 5 == 0 else truth[text]
    return answer


def expected_label(truth: dict, ids: dict, text: str) -> str | None:
    tid = ids[text]
    if tid in MUMBLE or not truth[text]:  # the sample has a row without a label
        return None
    return wrong(truth[text]) if int(tid.split("-")[1]) % 5 == 0 else truth[text]


@pytest.fixture
def teacher(ws, hidden):
    _, truth, ids = hidden
    with FakeOpenAIServer(answer=teacher_answer(truth, ids)) as srv:
        ws.registry.add(build_spec(id="teacher", kind="openai", source="fake-model",
                                   base_url=srv.url, price_in_per_m=2.5, price_out_per_m=10.0))
        yield srv


@pytest.fixture
def prompts(tmp_path):
    p = tmp_path / "teacher.yaml"
    p.write_text(dump_prompts([Variant(
        name="zero", system="You sort support tickets.",
        template="Ticket: {input}\n\nCategory (one of {labels}):")]))
    return str(p)
