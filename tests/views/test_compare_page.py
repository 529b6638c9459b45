"""AppTest of the Model comparison page: a comparison run, the table, the decision, the charts."""

from __future__ import annotations

from core.evals.store import list_runs
from core.prompts import store as pstore
from core.prompts.variants import Variant
from tests.conftest import open_app, wait_for_eval_run
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)


def test_comparison_runs_and_recommends(ws, tiny_data, tiny_model):  # noqa: F811
    from core.models.registry import build_spec

    set_id = pstore.get_or_create_set(ws, f"{tiny_data} prompts", tiny_data)
    pstore.save_variant(ws, set_id, Variant(name="plain", template="{input}"))
    folder = ws.registry.get(tiny_model).source
    ws.registry.add(build_spec(id="tiny-b", kind="folder", source=folder, hourly_cost=0.5))

    at = open_app("views/compare.py")
    at.multiselect(key="cmp_models").set_value(["tiny", "tiny-b"])
    at.run()
    at.button(key="cmp_run").click().run()
    assert not at.exception, at.exception
    [run] = list_runs(ws)
    assert wait_for_eval_run(ws, run["id"]) == "done"
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["model"]) == {"tiny", "tiny-b"}
    # same model weights, cheaper hardware: tiny-b must be the recommendation
    assert any("Recommendation: tiny-b" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 3
    assert at.download_button(key="cmp_csv").label == "Download per-row outputs (CSV)"

    # the money at stake: the decision becomes the highest net value, with its chart and table
    at.number_input(key="cmp_vc").set_value(0.05).run()
    at.number_input(key="cmp_ce").set_value(0.5).run()
    assert not at.exception, at.exception
    assert any("highest expected net value" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 4
    value = next(d.value for d in at.dataframe if "break-even accuracy" in d.value.columns)
    assert set(value["option"]) == {"tiny", "tiny-b"}
