"""The server path: a real `chroma run` on localhost, used through LADDER_CHROMA_URL."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core import retrieval as R

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing; install the project (`make install`), which brings "
                    "chromadb and its `chroma` command.")
    port = _free_port()
    log = open(tmp_path / "chroma.log", "w")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "server"), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chroma server did not start: "
                            + (tmp_path / "chroma.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url, tmp_path / "server"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_knowledge_base_on_a_chroma_server(chroma_server, monkeypatch, docs):
    import chromadb
    from chromadb.config import Settings

    from core.workspace import open_workspace

    url, server_dir = chroma_server
    monkeypatch.setenv("LADDER_CHROMA_URL", url)
    ws = open_workspace()
    assert ws.settings.chroma_url == url
    kb = R.create_kb(ws, "shared")
    R.add_files(kb, docs)
    hits = R.search(kb, "refund to my card", 2, hybrid=True)
    assert hits[0].source == "billing.md"
    # the vectors are on the server, not in the workspace
    other = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]),
                                settings=Settings(anonymized_telemetry=False))
    names = [c.name for c in other.list_collections()]
    assert kb.collection_name in names
    assert other.get_collection(kb.collection_name).count() == kb.collection().count() > 0
    assert not (ws.settings.vector_dir / "chroma.sqlite3").exists()
    assert R.recall_check(kb, sample=10, k=2)["recall"] == 1.0


def test_unreachable_server_is_a_clear_error(monkeypatch):
    from core.workspace import open_workspace

    monkeypatch.setenv("LADDER_CHROMA_URL", f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(R.RetrievalError, match="does not answer"):
        R.create_kb(open_workspace(), "x")
