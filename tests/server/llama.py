"""llama-cpp-python's OpenAI-compatible server on a GGUF file, on 127.0.0.1, every wait bounded.

Shared by the server tests and bench/gguf_server.py. The server runs from the venv that
`make test-server` builds (LADDER_LLAMA_SERVER_PYTHON) and is stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

START_TIMEOUT_S = 180


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_python() -> str:
    python = os.environ.get("LADDER_LLAMA_SERVER_PYTHON")
    if not python or not Path(python).exists():
        raise ServerError("LADDER_LLAMA_SERVER_PYTHON is not set to the server venv's python; "
                          "run this with `make test-server`, which builds it")
    return python


@contextlib.contextmanager
def llama_server(gguf: Path, alias: str, scratch: Path, threads: int = 2):
    """Yield the base URL (ending in /v1) of a server answering as `alias`."""
    port = free_port()
    log = scratch / f"server-{alias}.log"
    cmd = [server_python(), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
           alias, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
           "--n_threads", str(threads), "--verbose", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=os.environ | {"HOME": str(scratch)})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise ServerError(f"the server exited with {proc.returncode}: "
                                  f"{log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"the server did not answer within {START_TIMEOUT_S} s: "
                                  f"{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.25)
        assert_loopback_only(port)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


def assert_loopback_only(port: int) -> None:
    """The listening socket is bound to 127.0.0.1 (read from /proc/net/tcp)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    listening = [ln.split()[1] for ln in lines if ln.split()[3] == "0A"]
    ours = [a for a in listening if int(a.split(":")[1], 16) == port]
    assert ours == ["0100007F:" + f"{port:04X}"], ours
