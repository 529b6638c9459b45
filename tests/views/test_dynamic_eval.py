"""The static vs dynamic section's variants and its difference table."""

from __future__ import annotations

import pytest

from core.evals.config import EvalConfig
from core.evals.engine import run_eval
from core.prompts.variants import Variant
from tests.evals.conftest import tiny_data, tiny_model  # noqa: F401  (fixtures)
from views.dynamic_eval import differences, dynamic_variants


def test_dynamic_variants_derive_from_the_static_one():
    static = Variant(name="s", template="Text: {input}\nLabel:")
    s, few, ctx = dynamic_variants(static, 3, True)
    assert s == static
    assert few.few_shot == 3 and few.few_shot_mode == "similar" and "{examples}" in few.template
    assert "{context}" in ctx.template and ctx.few_shot == 0
    assert few.template.endswith(static.template) and ctx.template.endswith(static.template)
    assert dynamic_variants(static, 0, False) == [static]


@pytest.mark.slow
def test_differences_are_paired_against_the_static_variant(ws, tiny_data, tiny_model):  # noqa: F811
    variants = dynamic_variants(Variant(name="s", template="{input}"), 2, False)
    run_id = run_eval(ws, EvalConfig(dataset=tiny_data, models=[tiny_model], variants=variants))
    d = differences(ws, run_id)
    assert list(d["dynamic variant"]) == ["dynamic few-shot 2"] and list(d["vs"]) == ["s"]
    row = d.iloc[0]
    assert row["95% CI low"] <= row["difference (points)"] <= row["95% CI high"]
    assert row["rows"] == 6 and 0 <= row["p"] <= 1
