"""The dataset picked on one page stays picked on every page until changed."""

from __future__ import annotations

from core.datasets import service
from tests.conftest import open_app


def two_datasets(ws, tmp_path) -> None:
    for name in ("older", "newer"):  # the newer one is listed first
        path = tmp_path / f"{name}.csv"
        path.write_text("text,label\n" + "".join(f"{name} row {i},{'ab'[i % 2]}\n"
                                                 for i in range(20)))
        service.import_file(ws, path, name=name, input_col="text", target_col="label",
                            task="classification")
        service.split(ws, name, val=0.2, test=0.2, seed=0)


def test_the_home_pick_is_kept_on_every_page(ws, tmp_path):
    two_datasets(ws, tmp_path)
    at = open_app()
    assert at.selectbox(key="home_dataset").value == "newer"  # nothing picked: the newest
    at.selectbox(key="home_dataset").set_value("older").run()
    for page, key in (("views/prompt_lab.py", "pl_dataset"), ("views/finetune.py", "ft_data"),
                      ("views/data.py", "ds_name"), ("views/compare.py", "cmp_dataset")):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert at.selectbox(key=key).value == "older", page
    # a change on any page is the new pick everywhere
    at.selectbox(key="cmp_dataset").set_value("newer").run()
    at.switch_page("views/home.py").run()
    assert at.selectbox(key="home_dataset").value == "newer"
