"""`ladder kb ...`: create, add, list, search --json (best first, documented fields), delete-doc,
reindex, and one-line errors. (A restart is covered in test_ingest.)"""

from __future__ import annotations

import json

from core.cli import main


def run(capsys, *argv) -> tuple[int, dict | str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and code == 0 else out), err


def test_kb_commands_end_to_end(capsys, docs, tmp_path):
    code, rec, _ = run(capsys, "kb", "create", "help", "--json")
    assert code == 0 and rec["name"] == "help" and rec["chunk_size"] == 128
    code, rec, _ = run(capsys, "kb", "add", "help", *map(str, docs), "--json")
    assert code == 0 and [d["status"] for d in rec["documents"]] == ["added"] * 3
    code, rec, _ = run(capsys, "kb", "add", "help", str(docs[0]), "--json")
    assert rec["documents"][0]["status"] == "unchanged" and rec["documents"][0]["added"] == 0
    code, rec, _ = run(capsys, "kb", "list", "--json")
    (kb,) = rec["knowledge_bases"]
    assert kb["name"] == "help" and kb["documents"] == 3 and kb["chunks"] > 3

    code, rec, _ = run(capsys, "kb", "search", "help", "account locked after attempts", "-k", "3",
                       "--json")
    results = rec["results"]
    assert len(results) == 3 and results[0]["source"] == "login.md"
    assert all({"id", "document", "source", "score"} <= set(r) for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)

    code, rec, _ = run(capsys, "kb", "delete-doc", "help", "sync.txt", "--json")
    assert code == 0 and rec["removed_chunks"] >= 1
    code, rec, _ = run(capsys, "kb", "reindex", "help", "--chunk-size", "32", "--overlap", "4",
                       "--mode", "tokens", "--json")
    assert code == 0 and rec["chunk_size"] == 32 and rec["documents"] == 2
    code, text, _ = run(capsys, "kb", "list", "help")
    assert "billing.md" in text and "sync.txt" not in text


def test_kb_errors_are_one_line(capsys, tmp_path):
    assert run(capsys, "kb", "create", "help")[0] == 0
    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    cases = [
        (["kb", "add", "help", str(bad)], "not supported"),
        (["kb", "add", "help", str(empty)], "0 bytes"),
        (["kb", "search", "help", "anything"], "has no documents yet"),
        (["kb", "add", "help", str(empty), "--chunk-size", "16", "--overlap", "16"],
         "smaller than the chunk size"),
        (["kb", "search", "nope", "x"], "no knowledge base 'nope'"),
    ]
    for argv, needle in cases:
        code, _, err = run(capsys, *argv)
        assert code == 1 and needle in err and err.count("\n") == 1, (argv, err)
        assert err.startswith("ladder: error: ")
