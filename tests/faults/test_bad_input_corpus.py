"""A corpus of malformed uploads, settings and files, across every page's command and the CLI.

Each case runs `ladder ...` in-process (`core.cli.main`) against a workspace holding a tiny
model, a split dataset and an empty knowledge base, and checks: exit code 1 (2 for a malformed
command line), one clear line on stderr, no traceback, no "unexpected error", and the same hash
of the database (every row) and of the workspace files before and after. A few cases go
through the pages with AppTest. The upload-parsing cases of tests/datasets/test_bad_input.py
(21 import cases, size and row limits, Excel) are not repeated here; a few representatives are.
"""

from __future__ import annotations

import pytest

from core.cli import main
from tests.faults.conftest import snapshot

PROMPTS_OK = "variants:\n  - name: zero\n    template: \"Text: {input}\\nAnswer ({labels}):\"\n"

# (case id, files {name: content}, argv with FILE:<name> placeholders, words in the message)
CASES = [
    # --- Data page / `ladder data`
    ("upload: empty csv", {"e.csv": b""}, ["data", "import", "FILE:e.csv", "--name", "e",
                                           "--input-col", "text", "--target-col", "label"],
     ["empty"]),
    ("upload: binary as csv", {"b.csv": b"\x89PNG\r\n\x1a\n" + bytes(64)},
     ["data", "import", "FILE:b.csv", "--name", "b", "--input-col", "text",
      "--target-col", "label"], ["binary"]),
    ("upload: ragged csv", {"r.csv": "text,label\nhi,a\nhi, there,b\n"},
     ["data", "import", "FILE:r.csv", "--name", "r", "--input-col", "text",
      "--target-col", "label"], ["fields"]),
    ("upload: invalid jsonl", {"j.jsonl": '{"text": "a", "label": "x"}\n{oops\n'},
     ["data", "import", "FILE:j.jsonl", "--name", "j", "--input-col", "text",
      "--target-col", "label"], ["not valid JSON"]),
    ("upload: fake xlsx", {"x.xlsx": "text,label\na,b\n"},
     ["data", "import", "FILE:x.xlsx", "--name", "x", "--input-col", "text",
      "--target-col", "label"], ["Excel"]),
    ("upload: name with path", {"ok.csv": "text,label\na b,x\nc d,y\n"},
     ["data", "import", "FILE:ok.csv", "--name", "../../etc", "--input-col", "text",
      "--target-col", "label"], ["dataset name"]),
    ("split: fractions too big", {}, ["data", "split", "toy", "--val", "0.7", "--test", "0.5"],
     ["training"]),
    ("report: threshold out of range", {}, ["data", "report", "toy", "--threshold", "2"],
     ["cosine"]),
    ("data: unknown dataset", {}, ["data", "show", "nope"], ["nope"]),
    # --- Prompt Lab / `ladder eval`
    ("prompts: not yaml", {"p.yaml": "variants: [unclosed\n  - {"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: no variants key", {"p.yaml": "- name: a\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: attribute access", {"p.yaml": "variants:\n  - name: evil\n    template: "
                                             "\"{input.__class__.__mro__}\"\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: jinja code", {"p.yaml": "variants:\n  - name: j\n    template: "
                                       "\"{{ cycler.__init__.__globals__.os }} {input}\"\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: format spec", {"p.yaml": "variants:\n  - name: f\n    template: \"{input!r:>10}\"\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: unknown field", {"p.yaml": PROMPTS_OK + "    temprature: 3\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: unknown placeholder", {"p.yaml": "variants:\n  - name: u\n    template: "
                                                "\"{nonexistent_column} {input}\"\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("prompts: binary file", {"p.yaml": b"\xff\xfe\x00\x00garbage\x00"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml"], []),
    ("eval: unknown model", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--model", "nope", "--prompts", "FILE:p.yaml"], ["nope"]),
    ("eval: unknown split", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--split", "dev", "--model", "tiny", "--prompts", "FILE:p.yaml"],
     []),
    ("eval: samples without temperature", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml", "--samples", "3"],
     []),
    ("eval: regex scorer bad pattern", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml", "--scorer",
      "regex", "--pattern", "(unclosed"], []),
    # --- Dynamic prompts / `ladder kb`
    ("kb: bad name", {}, ["kb", "create", "../evil"], []),
    ("kb: unknown kb", {}, ["kb", "search", "nope", "hello"], ["nope"]),
    ("kb: missing file", {}, ["kb", "add", "kb1", "/nonexistent/file.md"], []),
    ("kb: unsupported type", {"a.exe": b"MZ\x90\x00"}, ["kb", "add", "kb1", "FILE:a.exe"], []),
    ("kb: overlap >= chunk size", {}, ["kb", "reindex", "kb1", "--chunk-size", "16",
                                       "--overlap", "16"], []),
    ("kb: ef_search zero", {}, ["kb", "ef-search", "kb1", "0"], []),
    ("eval: unknown kb", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml", "--kb", "nope"],
     []),
    ("eval: few-shot-k 0", {"p.yaml": PROMPTS_OK},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml", "--few-shot-k",
      "0"], ["--few-shot-k must be at least 1"]),
    ("eval: few-shot-k, no static variant", {"p.yaml": "variants:\n  - name: s\n    template: "
                                                        "\"{examples} {input}\"\n    few_shot: 2"
                                                        "\n    few_shot_mode: similar\n"},
     ["eval", "--data", "toy", "--model", "tiny", "--prompts", "FILE:p.yaml", "--few-shot-k",
      "3"], ["no static variant"]),
    # --- Model comparison / `ladder compare`, `ladder report`
    ("compare: unknown model", {"p.yaml": PROMPTS_OK},
     ["compare", "--data", "toy", "--models", "tiny,nope", "--prompts", "FILE:p.yaml"], ["nope"]),
    ("compare: unknown variant", {"p.yaml": PROMPTS_OK},
     ["compare", "--data", "toy", "--models", "tiny", "--prompts", "FILE:p.yaml",
      "--variant", "nope"], []),
    ("compare: bad variant-for", {"p.yaml": PROMPTS_OK},
     ["compare", "--data", "toy", "--models", "tiny", "--prompts", "FILE:p.yaml",
      "--variant-for", "tiny"], []),
    ("report: bad extension", {}, ["report", "--data", "toy", "--out", "OUT/r.docx"], []),
    # --- Fine-tuning / `ladder finetune`
    ("finetune: lr 0", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                            "--set", "lr=0"], ["lr must be positive"]),
    ("finetune: batch size 0", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                    "--set", "batch_size=0"], ["batch_size"]),
    ("finetune: unknown setting", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                       "--set", "lerning_rate=1e-3"], ["lr"]),
    ("finetune: not a number", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                    "--set", "max_steps=lots"], ["max_steps"]),
    ("finetune: seq len too short", {}, ["finetune", "start", "--data", "toy", "--model",
                                         "tiny", "--set", "max_seq_len=4"], ["max_seq_len"]),
    ("finetune: API model as base", {}, ["finetune", "start", "--data", "toy", "--model",
                                         "remote"], ["remote"]),
    ("finetune: dataset without split", {}, ["finetune", "start", "--data", "nosplit",
                                             "--model", "tiny"], ["split"]),
    ("finetune: unknown preset", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                      "--preset", "turbo"], []),
    ("finetune: unknown run", {}, ["finetune", "status", "ft-nope"], []),
    ("finetune: unknown scorer", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                      "--set", "scorer=bleurt"], ["unknown scorer", "auto"]),
    ("finetune: judge scorer", {}, ["finetune", "start", "--data", "toy", "--model", "tiny",
                                    "--set", "scorer=judge"], ["Prompt Lab"]),
    # --- Models page / `ladder models`
    ("models: folder missing", {}, ["models", "add", "m1", "--folder", "/nonexistent/model",
                                    "--hourly-cost", "1"], []),
    ("models: folder without weights", {"cfg/readme.txt": "not a model"},
     ["models", "add", "m2", "--folder", "FILE:cfg", "--hourly-cost", "1"], []),
    ("models: bad base url", {}, ["models", "add", "m3", "--base-url", "ftp://x", "--remote-model",
                                  "m", "--price-in", "1", "--price-out", "1", "--no-verify"], []),
    ("models: bad id", {}, ["models", "add", "bad id/..", "--folder", "/tmp", "--hourly-cost", "1"],
     []),
    ("models: remove unknown", {}, ["models", "remove", "nope"], ["nope"]),
    ("models: negative price", {}, ["models", "edit", "tiny", "--hourly-cost", "-1"], []),
    ("generate: unknown model", {}, ["generate", "--model", "nope", "hello"], ["nope"]),
    ("generate: zero tokens", {}, ["generate", "--model", "tiny", "--max-new-tokens", "0", "hi"],
     []),
]


@pytest.fixture
def corpus_ws(tiny_ws, tmp_path):
    from core.models.registry import build_spec
    from core.retrieval import create_kb
    from tests.finetune.conftest import toy_frame

    ws = tiny_ws
    ws.registry.add(build_spec(id="remote", kind="openai", base_url="http://127.0.0.1:9/v1",
                               source="x", price_in_per_m=1.0, price_out_per_m=1.0))
    from core.datasets.schema import Mapping
    from core.datasets.versions import save_version

    save_version(ws, "nosplit", toy_frame(20),
                 Mapping(input_col="text", target_col="label", task="classification"), source="test")
    create_kb(ws, "kb1")
    return ws


def _materialize(files: dict, folder):
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


def _argv(argv, folder):
    out = []
    for a in argv:
        if a.startswith("FILE:"):
            a = str(folder / a[5:])
        out.append(a.replace("OUT/", f"{folder}/"))
    return out


@pytest.mark.parametrize("case,files,argv,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_line_and_changes_nothing(case, files, argv, words, corpus_ws,
                                                            tmp_path, capsys):
    folder = tmp_path / "inputs"
    _materialize(files, folder)
    before = snapshot(corpus_ws.settings.root)
    try:
        rc = main(_argv(argv, folder))
    except SystemExit as e:  # argparse refusing a malformed command line
        rc = e.code
    err = capsys.readouterr().err.strip()
    assert rc in (1, 2), (rc, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ladder: error:") and "Traceback" not in err, err
    assert "unexpected error" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert snapshot(corpus_ws.settings.root) == before


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30


# ---- the same kind of mistakes through the pages (AppTest), nothing saved
def _page(path: str):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, at.exception
    return at


def test_pages_refuse_bad_settings_with_a_message_and_change_nothing(corpus_ws):
    # a page may write on first view (the Dynamic page creates an empty prompt set), so each
    # hash is taken after the page has rendered and before the bad input is submitted
    root = corpus_ws.settings.root
    at = _page("views/finetune.py")
    at.selectbox(key="ft_model").set_value("tiny")
    at.selectbox(key="ft_data").set_value("toy")
    at.run()
    before = snapshot(root)
    at.number_input(key="ft_quick_batch_size").set_value(0)
    at.button(key="ft_start").click()
    at.run()
    assert not at.exception and any("Not started" in e.value and "batch_size" in e.value
                                    for e in at.error), [e.value for e in at.error]
    assert snapshot(root) == before
    at = _page("views/data.py")
    before = snapshot(root)
    at.number_input(key="split_val").set_value(0.5)
    at.number_input(key="split_test").set_value(0.5)
    at.button(key="do_split").click()
    at.run()
    assert not at.exception and any("training" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert snapshot(root) == before
    at = _page("views/dynamic.py")
    before = snapshot(root)
    at.text_input(key="kb_new_name").set_value("../evil")
    next(b for b in at.button if b.label == "Create").click()
    at.run()
    assert not at.exception and at.error, "a bad knowledge-base name must be refused"
    assert snapshot(root) == before
