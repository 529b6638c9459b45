"""The scorer registry and the reference metrics on constructed cases (real sacrebleu and
rouge-score; no model): best of several references, JSON fields, empty and looping output,
what `auto` picks, and the one-line errors on unusable targets."""

from __future__ import annotations

import pytest

from core.evals import scorers as sc
from core.evals.scorers import Scored, ScorerConfig

CFG = ScorerConfig()
TEXT_METRICS = ["exact", "token_f1", "chrf", "bleu", "rouge_l"]


def one(kind: str, output: str, refs: list[str], **cfg) -> Scored:
    [s] = sc.score_outputs(kind, [output], [refs], config=ScorerConfig(**cfg))
    return s


def test_registry_names_every_builtin_scorer_with_its_tasks():
    assert sc.names() == ["label", "number", "exact", "token_f1", "chrf", "bleu", "rouge_l",
                          "json", "json_fields", "contains", "regex", "similarity", "judge"]
    assert sc.names("classification") == ["label", "regex"]
    assert sc.names("scale") == ["number", "regex"]
    assert "label" not in sc.names("free_text") and "chrf" in sc.names("free_text")
    info = sc.get("chrf")
    assert info.direction == "max" and info.tasks == ("free_text",)
    assert set(info.params) == {"min_score"} and info.beside == ("rouge_l",)
    for name in sc.names():  # every documented parameter is a real config field
        assert set(sc.get(name).params) <= set(ScorerConfig.model_fields)


def test_registering_a_scorer_makes_it_a_choice():
    def length_ok(output, refs, ctx):
        ok = len(output.split()) <= max(len(r.split()) for r in refs)
        return Scored(output.strip(), float(ok), ok)

    try:
        sc.register("length_ok", length_ok, tasks=("free_text",),
                    help="the output is no longer than the longest reference")
        assert "length_ok" in sc.names("free_text")
        assert ScorerConfig(kind="length_ok").kind == "length_ok"
        assert one("length_ok", "short", ["a b c"]).passed
        with pytest.raises(ValueError, match="not a ScorerConfig field"):
            sc.register("bad", length_ok, tasks=("free_text",), help="x", params={"nope": "x"})
    finally:
        sc.registry._SCORERS.pop("length_ok", None)
        sc.registry._SCORERS.pop("bad", None)


@pytest.mark.parametrize("kind", TEXT_METRICS)
def test_metric_identical_output_scores_one_and_unrelated_low(kind):
    ref = "The Eagle is a cheap coffee shop near Burger King in the city centre."
    same = one(kind, ref, [ref])
    assert same.score == pytest.approx(1.0) and same.passed and same.error_kind is None
    other = one(kind, "Quarterly revenue grew by four percent.", [ref])
    assert 0.0 <= other.score < 0.25 and not other.passed


@pytest.mark.parametrize("kind", TEXT_METRICS)
def test_metric_takes_the_best_of_several_references(kind):
    out = "Aromi is a family friendly coffee shop by the riverside."
    far = "Located in the city centre, Zizzi serves cheap Italian food to adults."
    close = ("aromi is a family friendly coffee shop by the riverside" if kind == "exact"
             else "Aromi is a family-friendly coffee shop at the riverside.")
    alone = one(kind, out, [far]).score
    both = one(kind, out, [far, close]).score
    assert both == pytest.approx(max(alone, one(kind, out, [close]).score), abs=0.02)
    assert both > alone
    if kind in ("chrf", "rouge_l", "token_f1", "exact"):  # best single reference
        assert both == pytest.approx(one(kind, out, [close]).score)


def test_metric_values_by_hand():
    # precision 1/3, recall 1: F1 = 2 * (1/3) / (4/3)
    assert one("token_f1", "in Paris, France", ["Paris"]).score == pytest.approx(0.5)
    assert one("exact", "The Eiffel Tower!", ["eiffel tower"]).score == 1.0
    # ROUGE-L: LCS "the cat on the mat" = 5 of 6 words each way
    assert one("rouge_l", "the cat sat on the mat", ["the cat lay on the mat"]).score == \
        pytest.approx(5 / 6)
    assert one("token_f1", "in Paris, France", ["Paris"]).passed  # min_score 0.5
    assert one("token_f1", "in Paris, France", ["Paris"], min_score=0.6).passed is False


@pytest.mark.parametrize("kind", [*TEXT_METRICS, "json_fields"])
def test_empty_output_scores_zero_as_invalid(kind):
    ref = '{"a": 1}' if kind == "json_fields" else "a cheap coffee shop"
    s = one(kind, "   ", [ref])
    assert (s.score, s.passed, s.error_kind) == (0.0, False, sc.INVALID)


def test_json_fields_gives_partial_credit_and_reads_output_leniently():
    target = '{"name": "Aromi", "food": "Italian", "rating": 5, "family": true}'
    s = one("json_fields", 'Here you go:\n```json\n{"name": "aromi", "food": "Thai", '
            '"rating": "5"}\n```', [target])
    assert s.score == pytest.approx(2 / 4) and not s.passed and s.error_kind is None
    full = one("json_fields", 'Sure! {"family": true, "rating": 5.0, "food": "Italian", '
               '"name": "Aromi", "extra": 1} Anything else?', [target])
    assert full.score == 1.0 and full.passed
    best = one("json_fields", '{"name": "Aromi"}', ['{"name": "Zizzi"}', '{"name": "Aromi"}'])
    assert best.score == 1.0
    bad = one("json_fields", "name: Aromi, food: Italian", [target])
    assert (bad.score, bad.error_kind) == (0.0, sc.INVALID)


def test_valid_json_scorer_reads_no_reference():
    assert one("json", '```json\n{"a": 1}\n```', ["ignored"]).passed
    assert one("json", "{'a': 1}", ["ignored"]).error_kind == sc.INVALID


@pytest.mark.parametrize("text", [
    "It is family-friendly, family-friendly, family-friendly, family-friendly, family-",
    "The Eagle is a coffee shop. The Eagle is a coffee shop. The Eagle is a coffee shop.",
    "yes yes yes yes yes yes yes yes",
    "Answer: cheap cheap cheap cheap cheap cheap cheap cheap cheap cheap and more",
])
def test_looping_outputs_are_detected(text):
    assert sc.looks_looping(text)


@pytest.mark.parametrize("text", [
    "", "yes", "The Eagle is a cheap coffee shop near Burger King. It is family friendly.",
    "Very very good food, very friendly staff, very cheap.",
    "ha ha ha, that was funny: one of the best jokes I have heard in a very long time indeed",
    "1, 2, 3, 4, 5, 6, 7, 8",
])
def test_ordinary_outputs_are_not_looping(text):
    assert not sc.looks_looping(text)


def test_a_looping_output_keeps_its_score_and_gets_the_looping_kind():
    ref = "The Eagle is a family friendly coffee shop."
    out = "The Eagle is a family friendly " + "coffee shop, " * 12
    [loop, ok] = sc.score_outputs("chrf", [out, ref], [[ref], [ref]], config=CFG)
    assert loop.error_kind == sc.LOOPING and 0 < loop.score < 1
    assert ok.error_kind is None
    # an output already invalid stays invalid
    [bad] = sc.score_outputs("json_fields", ["no no no no no no"], [['{"a": 1}']], config=CFG)
    assert bad.error_kind == sc.INVALID


def test_label_number_contains_through_the_registry():
    assert one("label", "Answer: Billing.", ["billing"]).passed
    assert one("number", "I'd say 8/10", ["7"], tolerance=1).passed
    assert one("contains", "It is in Paris, France.", ["Lyon", "paris"]).passed
    assert one("regex", "ID: AB-123", ["x"], pattern=r"[A-Z]{2}-\d{3}").parsed == "AB-123"


def test_corpus_scores_use_every_reference():
    outs = ["The Eagle is a cheap coffee shop.", "Zizzi serves Italian food."]
    refs = [["The Eagle is a cheap coffee shop.", "Cheap coffee at The Eagle."],
            ["Zizzi is an Italian restaurant."]]
    bleu = sc.corpus_score("bleu", outs, refs)
    assert set(bleu) == {"corpus_bleu"} and 0 < bleu["corpus_bleu"] < 100
    chrf = sc.corpus_score("chrf", outs, refs)
    assert set(chrf) == {"corpus_chrf", "corpus_bleu"} and chrf["corpus_bleu"] == bleu["corpus_bleu"]
    assert sc.corpus_score("bleu", outs[:1], refs[:1]) == {"corpus_bleu": 100.0}
    assert sc.corpus_score("token_f1", outs, refs) is None


@pytest.mark.parametrize("task,targets,kind", [
    ("classification", ["billing", "bug"], "label"),
    ("scale", ["1", "5"], "number"),
    ("free_text", ['{"name": "Aromi", "food": "Thai"}', '{"name": "Zizzi"}'], "json_fields"),
    ("free_text", ["Paris", "Marie Curie", "1889", "the Nile river"], "token_f1"),
    ("free_text", [["The Eagle is a cheap coffee shop near Burger King in the centre.",
                    "Near Burger King, The Eagle serves cheap coffee."]], "chrf"),
    ("free_text", ['{"a": 1}', "not json at all, a sentence of text here"], "chrf"),
])
def test_auto_picks_by_task_and_target_shape(task, targets, kind):
    assert ScorerConfig().resolved(task, targets) == kind
    why = ScorerConfig().explain(task, targets)
    assert why.startswith(f"auto chose {kind}:") and why.endswith(".")
    assert ScorerConfig(kind="bleu").resolved(task, targets) == "bleu"


def test_explain_says_why():
    assert "median 1 words" in ScorerConfig().explain("free_text", ["Paris", "Rome", "Nile"])
    assert "ROUGE-L" in ScorerConfig().explain("free_text", ["a b c d e f g h i j"])
    assert "JSON objects" in ScorerConfig().explain("free_text", ['{"a": 1}'])
    assert ScorerConfig(kind="contains").explain("free_text", ["x"]).startswith(
        "contains was chosen explicitly")


def test_unknown_scorer_lists_the_choices():
    with pytest.raises(ValueError, match="unknown scorer 'vibes'; choose one of auto, label"):
        ScorerConfig(kind="vibes")
    with pytest.raises(ValueError, match="choose one of .*chrf"):
        sc.get("vibes")


def test_json_fields_on_text_targets_says_how_many_fail():
    targets = ['{"a": 1}', "a sentence", "another sentence", '{"b": 2}']
    with pytest.raises(ValueError, match=r"^2 of 4 targets are not JSON objects \(e\.g\. "
                                         r"'a sentence'\).*choose another scorer"):
        sc.validate_targets("json_fields", targets)
    with pytest.raises(ValueError, match="2 of 4 targets"):
        sc.score_outputs("json_fields", ["{}"] * 4, [[t] for t in targets], config=CFG)
    sc.validate_targets("json_fields", targets[:1])  # fine


@pytest.mark.parametrize("kind", [*TEXT_METRICS, "contains", "json_fields", "label"])
def test_a_metric_on_an_empty_reference_is_refused(kind):
    with pytest.raises(ValueError, match=r"^1 of 2 rows have an empty reference; .*fill in"):
        sc.validate_targets(kind, [["a"], ["  "]])
    with pytest.raises(ValueError, match="empty reference"):
        sc.validate_targets(kind, [["a"], []])


def test_scorers_that_read_no_reference_accept_empty_ones():
    sc.validate_targets("regex", ["", ""])
    sc.validate_targets("json", [[""]])
