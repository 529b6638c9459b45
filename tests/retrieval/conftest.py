"""Shared fixtures for retrieval tests: small documents and a knowledge base built from them.

Documents are short so that embedding them (real MiniLM, CPU) stays well under a second.
"""

from __future__ import annotations

import pytest

DOCS = {
    "billing.md": "# Billing\n\n## Refunds\n\nRefunds are paid within 14 days to the card that "
                  "was charged. App Store purchases are refunded by Apple.\n\n## Invoices\n\n"
                  "Download invoices from Settings > Billing > Invoices as PDF.\n",
    "login.md": "# Login\n\n## Locked out (AUTH-429)\n\nAfter five failed sign-in attempts the "
                "account is locked for 15 minutes. Resetting the password removes the lock.\n\n"
                "## Two-factor\n\nUse an authenticator app; keep the ten recovery codes safe.\n",
    "sync.txt": "Sync stops when the device is offline. Notes edited on two devices at once are "
                "kept as conflict copies. Error SYNC-503 means the server is busy; retry later.\n",
}


def write_docs(folder, docs=DOCS):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in docs.items():
        p = folder / name
        p.write_text(text)
        paths.append(p)
    return paths


@pytest.fixture
def docs(tmp_path):
    return write_docs(tmp_path / "docs")


@pytest.fixture
def kb(ws, docs):
    from core import retrieval as R

    kb = R.create_kb(ws, "help")
    R.add_files(kb, docs)
    return R.open_kb(ws, "help")
