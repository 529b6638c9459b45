"""AppTest: the Prompt Lab's free-text scorer picker lists the registry's scorers."""

from __future__ import annotations

from core.evals.scorers import names
from tests.conftest import open_app


def test_free_text_picker_offers_auto_and_every_free_text_scorer(ws, tmp_path):
    from core.datasets import service

    path = tmp_path / "qa.csv"
    path.write_text("question,answer\n" + "".join(
        f"question {i},the answer is {i}\n" for i in range(12)))
    service.import_file(ws, path, name="qa", input_col="question", target_col="answer",
                        task="free_text")
    at = open_app("views/prompt_lab.py", timeout=60)
    at.button(key="pl_examples").click().run()  # the run form needs a variant
    assert not at.exception, at.exception
    picker = at.selectbox(key="pl_scorer")
    assert list(picker.options) == ["auto", *names("free_text")]
    assert picker.value == "auto"
