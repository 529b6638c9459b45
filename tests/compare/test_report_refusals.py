"""`ladder report` refuses what it cannot report on, in one line, and writes nothing."""

from __future__ import annotations

from core import datasets
from core.cli import main


def test_report_refuses_an_unknown_or_deleted_dataset_and_a_missing_folder(ws, tmp_path,
                                                                          capsys):
    out = tmp_path / "r.md"
    assert main(["report", "--data", "nosuch", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "no dataset 'nosuch'" in err and "Traceback" not in err and not out.exists()
    datasets.load_sample(ws)
    datasets.delete(ws, datasets.SAMPLE_NAME)
    assert main(["report", "--data", datasets.SAMPLE_NAME, "--out", str(out)]) != 0
    assert "no dataset" in capsys.readouterr().err and not out.exists()
    datasets.load_sample(ws)
    deep = tmp_path / "missing" / "dir" / "r.md"
    assert main(["report", "--data", datasets.SAMPLE_NAME, "--out", str(deep)]) != 0
    assert "does not exist; create it" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
    assert main(["report", "--data", datasets.SAMPLE_NAME, "--out", str(out)]) == 0
    assert out.read_text().startswith("# Tuning Ladder decision report")
