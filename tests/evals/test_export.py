"""Per-row outputs out of an evaluation: `ladder eval --out`, `ladder eval export`, bad input."""

from __future__ import annotations

import csv
import json

import pytest

from core.cli import main
from core.datasets.export import unescape_cell
from core.evals.export import COLUMNS, rows_bytes, run_rows
from core.evals.rows import load_rows
from core.evals.store import cells_frame, list_runs
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)

V = [Variant(name="plain", template="Text: {input}\nLabel ({labels}):"),
     Variant(name="fewshot", template="{examples}\nText: {input}\nLabel:", few_shot=2)]


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(dump_prompts(V))
    return str(path)


def eval_args(data: str, model: str, prompts: str, *extra: str) -> list[str]:
    return ["eval", "--data", data, "--model", model, "--prompts", prompts, "--limit", "4",
            *extra]


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: unescape_cell(v) for k, v in r.items()} for r in csv.DictReader(f)]


def check_against_store(ws, run_id: int, lines: list[dict], dataset: str) -> None:
    """Every stored cell is one line, with its row's input and target and the cell's score."""
    cells = cells_frame(ws, run_id)
    key = lambda r: (r["model"], r["variant"], int(r["row_id"]), int(r["sample"]))  # noqa: E731
    assert sorted(map(key, lines)) == sorted(
        zip(cells["model_id"], cells["variant"], cells["row_id"], cells["sample"], strict=True))
    rows = {r["row_id"]: r for r in load_rows(ws, dataset, "all").rows}
    by_cell = cells.set_index(["model_id", "variant", "row_id", "sample"])
    for line in lines:
        refs = line["references"]
        refs = json.loads(refs) if isinstance(refs, str) else refs
        row = rows[int(line["row_id"])]
        assert line["input"] == row["input"]
        assert row["target"] in refs and line["reference"] == refs[0]
        cell = by_cell.loc[key(line)]
        assert float(line["score"]) == pytest.approx(cell["score"])
        assert line["output"] == cell["output"]


@pytest.mark.slow
def test_eval_out_csv_writes_every_cell(ws, tiny_data, tiny_model, prompts, tmp_path,  # noqa: F811
                                        capsys):
    out = tmp_path / "rows.csv"
    code = main(eval_args(tiny_data, tiny_model, prompts, "--out", str(out), "--json"))
    res, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(res)
    lines = read_csv(out)
    assert list(lines[0]) == list(COLUMNS)
    assert len(lines) == 4 * len(V) * 1 * 1  # rows x variants x models x samples
    assert data["export"] == {"path": str(out), "format": "csv", "rows": len(lines)}
    assert {line["run_id"] for line in lines} == {str(data["run_id"])}
    check_against_store(ws, data["run_id"], lines, tiny_data)
    assert {line["passed"] for line in lines} <= {"true", "false"}
    # the page's download button builds its file with the same two calls
    assert out.read_bytes() == rows_bytes(run_rows(ws, data["run_id"]), "csv")


@pytest.mark.slow
def test_export_of_a_stored_run_as_jsonl_with_samples(ws, tiny_data, tiny_model, prompts,  # noqa: F811
                                                      tmp_path, capsys):
    code = main(eval_args(tiny_data, tiny_model, prompts, "--samples", "2", "--temperature",
                          "0.7", "--json"))
    res, err = capsys.readouterr()
    assert code == 0, err
    run_id = json.loads(res)["run_id"]
    out = tmp_path / "rows.jsonl"
    assert main(["eval", "export", str(run_id), "--out", str(out)]) == 0
    assert f"Wrote 16 rows of run {run_id}" in capsys.readouterr().out
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 4 * len(V) * 1 * 2  # rows x variants x models x samples
    assert all(list(x) == list(COLUMNS) for x in lines)
    assert {x["sample"] for x in lines} == {0, 1}
    assert all(isinstance(x["references"], list) and isinstance(x["passed"], bool)
               and isinstance(x["row_id"], int) for x in lines)
    check_against_store(ws, run_id, lines, tiny_data)


@pytest.fixture
def multi_ref(ws, tmp_path):
    """Free text with its own test file where each input has two references."""
    from core.datasets import service

    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    with train.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["attrs", "text"])
        for i in range(12):
            w.writerow([f"name[Cafe {i}] food[Thai]", f"Cafe {i} serves Thai food."])
    with test.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["attrs", "text"])
        for i in range(3):
            w.writerow([f"name[Inn {i}] area[river]", f"Inn {i} is by the river."])
            w.writerow([f"name[Inn {i}] area[river]", f"=By the river you find Inn {i}."])
    service.import_file(ws, train, name="d2t", input_col="attrs", target_col="text",
                        task="free_text", test_file=test)
    return "d2t"


@pytest.mark.slow
def test_multi_reference_rows_keep_their_references(ws, multi_ref, tiny_model, tmp_path,  # noqa: F811
                                                    capsys):
    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="v", template="{input}")]))
    out = tmp_path / "rows.csv"
    code = main(["eval", "--data", multi_ref, "--model", tiny_model, "--prompts", str(prompts),
                 "--max-new-tokens", "3", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    lines = read_csv(out)
    [run] = list_runs(ws)
    check_against_store(ws, run["id"], lines, multi_ref)
    test_rows = load_rows(ws, multi_ref, "test").rows
    for line in lines:
        refs = json.loads(line["references"])
        every = sorted({t for r in test_rows if r["input"] == line["input"]
                        for t in (r.get("targets") or [r["target"]])})
        assert len(every) == 2
        # one reference a row before multi-reference grouping, all of them after
        assert len(refs) == 1 or sorted(refs) == every
    # a reference that looks like a formula is escaped in the CSV (and read back intact above)
    with out.open(newline="", encoding="utf-8") as f:
        assert not any(cell.startswith("=") for row in csv.reader(f) for cell in row)


def test_unknown_run_and_bad_names_are_one_line(ws, tiny_data, tmp_path, capsys):  # noqa: F811
    cases = [
        (["eval", "export", "7", "--out", str(tmp_path / "x.csv")], 1,
         "there is no evaluation run 7"),
        (["eval", "export", "7", "--out", str(tmp_path / "x.txt")], 1, ".csv or .jsonl"),
        (["eval", "export", "7", "--out", str(tmp_path / "no" / "x.csv")], 1,
         "does not exist"),
        (["eval", "export", "7", "--out", str(tmp_path)], 1, ".csv or .jsonl"),
        (["eval", "export", "seven", "--out", "x.csv"], 2, "not a whole number"),
        (["eval", "export", "7"], 2, "required: --out"),
        (["eval", "--data", tiny_data, "--model", "m", "--prompts", "p.yaml", "--out",
          str(tmp_path / "rows.xlsx")], 1, ".csv or .jsonl"),
        (["eval", "--data", tiny_data], 2, "required: --model, --prompts"),
        (["eval", "--data", tiny_data, "export", "7", "--out", "x.csv"], 2, "belong to"),
    ]
    for argv, want_code, want in cases:
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors exit, as they do for a user
            code = e.code
        err = capsys.readouterr().err
        assert code == want_code, (argv, err)
        assert want in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert "Traceback" not in err
    assert list_runs(ws) == [] and not list(tmp_path.glob("*.part"))


def test_an_unwritable_file_is_one_line(ws, tmp_path):
    from core.evals.export import ExportError, write_rows

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="does not exist"):
        write_rows([], blocker / "rows.csv")
    target = tmp_path / "locked.csv"
    target.mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        write_rows([], target)


def test_no_api_key_in_the_file(ws, tmp_path, monkeypatch, capsys):
    """An API model's key is in the environment and the run's model; never in the file."""
    from core.datasets import service
    from core.models.registry import build_spec
    from tests.fake_openai import FakeOpenAIServer

    path = tmp_path / "qa.csv"
    path.write_text("q,a\n" + "\n".join(f"question {i},answer {i}" for i in range(10)))
    service.import_file(ws, path, name="qa", input_col="q", target_col="a", task="free_text")
    service.split(ws, "qa", val=0.0, test=0.3, seed=0)
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("LADDER_TEST_KEY", secret)
    prompts = tmp_path / "p.yaml"
    prompts.write_text(dump_prompts([Variant(name="v", template="{input}")]))
    with FakeOpenAIServer() as api:
        ws.registry.add(build_spec(id="api", kind="openai", source="fake-model",
                                   base_url=api.url, api_key_env="LADDER_TEST_KEY",
                                   price_in_per_m=1, price_out_per_m=2))
        for _ in range(3):
            api.enqueue(200, {"choices": [{"message": {"content": "answer"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 5, "completion_tokens": 1}})
        out = tmp_path / "rows.jsonl"
        code = main(["eval", "--data", "qa", "--model", "api", "--prompts", str(prompts),
                     "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        assert any(secret in str(r.headers) for r in api.requests)  # the key was used
    text = out.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3 and secret not in text and "LADDER_TEST_KEY" not in text
    assert all(json.loads(x)["cost_usd"] > 0 for x in text.splitlines())
