"""Security promises, each checked on the real thing: where the server listens, XSRF and the
upload limit, templates that cannot run code, API keys that never reach disk, no outbound
connection offline, and models loaded from safetensors without remote code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

from core.cli import main
from tests.conftest import ROOT
from tests.faults.conftest import wait_for

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
KEY = "sk-LADDER-SECRET-9f8e7d6c5b4a"


def test_config_listens_on_loopback_with_xsrf_upload_limit_and_no_telemetry():
    server = CONFIG["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 1024
    assert server["headless"] is True
    assert CONFIG["browser"]["gatherUsageStats"] is False
    from core.settings import Settings

    assert Settings().max_upload_mb == server["maxUploadSize"]  # the pages enforce the same


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp{,6}) in LISTEN state on `port`."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                out.append(addr)
    return out


def _own_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # UDP connect sends nothing; picks the interface
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def test_the_running_server_binds_loopback_only(tmp_path):
    from tests.browser.conftest import free_port

    port = free_port()
    home = tmp_path / "srv"
    (home / "_home").mkdir(parents=True)
    env = dict(os.environ, LADDER_HOME=str(home), HOME=str(home / "_home"))
    # no --server.address: the project's .streamlit/config.toml decides
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    return True
            except OSError:
                assert proc.poll() is None, "streamlit exited"
                return False

        wait_for(healthy, timeout=60, every=0.3)
        addrs = _listening(port)
        assert addrs and all(a == "0100007F" for a in addrs), addrs  # 127.0.0.1 only
        ip = _own_ip()
        if ip:
            with pytest.raises(OSError):
                socket.create_connection((ip, port), timeout=3).close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_templates_cannot_run_code_through_the_cli_eval(tiny_ws, tmp_path, capsys):
    canary = tmp_path / "pwned"
    attacks = [
        "{input.__class__.__init__.__globals__[os].system(touch " + str(canary) + ")}",
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(canary) + "').read() }}",
        "{% import os %}{input}",
        "{input!r}",
    ]
    for template in attacks:
        prompts = tmp_path / "p.yaml"
        import yaml

        prompts.write_text(yaml.safe_dump({"variants": [{"name": "x", "template": template}]}))
        code = main(["eval", "--data", "toy", "--model", "tiny", "--prompts", str(prompts),
                     "--limit", "2"])
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert not canary.exists()
    # a brace that is not a plain name stays literal text; it is never evaluated
    from core.prompts.template import Template

    assert Template("{0.__class__} {input}").render({"input": "hi"}) == "{0.__class__} hi"
    # a JSON example in a template is literal text, and the eval runs
    prompts.write_text(yaml.safe_dump({"variants": [
        {"name": "ok", "template": 'Answer as {"label": "..."}. Text: {input}'}]}))
    assert main(["eval", "--data", "toy", "--model", "tiny", "--prompts", str(prompts),
                 "--limit", "2", "--json"]) == 0, capsys.readouterr().err


def test_api_keys_never_reach_the_database_logs_reports_or_run_folders(tiny_ws, tmp_path,
                                                                       monkeypatch, capsys):
    from core.models.registry import build_spec
    from tests.fake_openai import FakeOpenAIServer

    monkeypatch.setenv("LADDER_TEST_API_KEY", KEY)
    prompts = tmp_path / "p.yaml"
    prompts.write_text('variants:\n  - name: z\n    template: "Text: {input}\\nAnswer:"\n')
    report = tmp_path / "report.md"
    html = tmp_path / "report.html"
    with FakeOpenAIServer(require_key=KEY) as srv:
        tiny_ws.registry.add(build_spec(id="hosted", kind="openai", source="fake-model",
                                        base_url=srv.url, api_key_env="LADDER_TEST_API_KEY",
                                        price_in_per_m=1.0, price_out_per_m=2.0))
        for argv in (["generate", "--model", "hosted", "hello"],
                     ["models", "test", "hosted", "--json"],
                     ["compare", "--data", "toy", "--models", "tiny,hosted", "--prompts",
                      str(prompts), "--limit", "4", "--json"],
                     ["report", "--data", "toy", "--out", str(report)],
                     ["report", "--data", "toy", "--out", str(html)]):
            code = main(argv)
            out = capsys.readouterr()
            assert code == 0, (argv, out.err)
            assert KEY not in out.out and KEY not in out.err
        assert srv.requests and all(r.headers.get("authorization") == f"Bearer {KEY}"
                                    for r in srv.requests if r.path.endswith("/completions"))
    files = [p for p in Path(tiny_ws.settings.root).rglob("*") if p.is_file()]
    files += [report, html]
    assert any(p.name == "ladder.db" for p in files)
    leaks = [str(p) for p in files if KEY.encode() in p.read_bytes()]
    assert not leaks, leaks
    assert KEY not in report.read_text() and "LADDER_TEST_API_KEY" in tiny_ws.db.query(
        "SELECT api_key_env FROM models WHERE id = 'hosted'")[0][0]


def test_no_outbound_connection_in_offline_mode(tiny_ws, tmp_path, monkeypatch, capsys):
    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")
                                          or self.family == socket.AF_UNIX):
            attempts.append(address)
            raise OSError(f"test: outbound connection to {address} blocked")
        return real_connect(self, address)

    def guarded_create(address, *args, **kwargs):
        if not (str(address[0]).startswith("127.") or address[0] in ("::1", "localhost")):
            attempts.append(address)
            raise OSError(f"test: outbound connection to {address} blocked")
        return real_create(address, *args, **kwargs)

    real_create = socket.create_connection
    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", guarded_create)
    csv = tmp_path / "d.csv"
    csv.write_text("text,label\n" + "".join(f"the sky is {c} {i},{'yes' if c == 'blue' else 'no'}\n"
                                            for i in range(10) for c in ("blue", "red")))
    prompts = tmp_path / "p.yaml"
    prompts.write_text('variants:\n  - name: z\n    template: "Text: {input}\\nAnswer:"\n')
    for argv in (["generate", "--model", "tiny", "--max-new-tokens", "3", "the sky"],
                 ["data", "import", str(csv), "--name", "d", "--input-col", "text",
                  "--target-col", "label"],
                 ["data", "split", "d", "--val", "0.2", "--test", "0.2"],
                 ["eval", "--data", "d", "--model", "tiny", "--prompts", str(prompts), "--json"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 0, (argv, err)
    assert attempts == []


def test_models_load_from_safetensors_without_remote_code_unless_enabled(tiny_ws, monkeypatch,
                                                                         capsys):
    import transformers

    from core.models import local
    from core.models.registry import build_spec

    calls = []
    real = transformers.AutoModelForCausalLM.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        calls.append(kwargs)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(spy))
    local._LOADED.clear()
    assert main(["generate", "--model", "tiny", "--max-new-tokens", "1", "the sky"]) == 0
    assert calls and calls[-1]["trust_remote_code"] is False
    assert calls[-1]["use_safetensors"] is True
    tiny_ws.registry.add(build_spec(id="trusted", kind="folder",
                                    source=tiny_ws.registry.get("tiny").source,
                                    hourly_cost=0.1, trust_remote_code=True))
    assert main(["generate", "--model", "trusted", "--max-new-tokens", "1", "the sky"]) == 0
    assert calls[-1]["trust_remote_code"] is True  # only for the model that asked for it
    capsys.readouterr()
    local._LOADED.clear()
