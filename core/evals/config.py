"""What an evaluation run is: rows x variants x models, decoding and scoring settings.

Validated as a whole before a run is created, so a bad prompts file, an unknown
model or a missing split is reported before anything is stored or computed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.evals.scorers import ScorerConfig
from core.models import kinds
from core.prompts.variants import Variant, check_unique_names


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    dataset: str
    split: str = "test"
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    models: list[str] = Field(min_length=1)
    variants: list[Variant] = Field(min_length=1)
    scoring: str = Field(default="auto", description="auto, generate or likelihood")
    calibrate: bool = Field(
        default=True, description="likelihood scoring: subtract each label's log-likelihood "
        "under content-free inputs (contextual calibration), which removes a small model's "
        "bias toward some labels")
    samples: int = Field(default=1, ge=1, le=20)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_new_tokens: int | None = Field(
        default=None, ge=1, le=32768,
        description="unset: sized from the train targets for free text, 24 for labels and "
                    "numbers (core.evals.generation)")
    scorer: ScorerConfig = Field(default_factory=ScorerConfig)
    pairs: list[tuple[str, str]] | None = Field(
        default=None, description="(model, variant) pairs to run instead of every combination; "
                                  "a comparison gives each model its own prompt")
    kb: str | None = Field(default=None, description="knowledge base that fills {context}")
    kb_k: int = Field(default=3, ge=1, le=20)
    context_tokens: int = Field(default=400, ge=16, le=8000)
    truncate: str | None = Field(
        default=None, description="a row whose prompt + answer exceed a model's context: "
        "unset refuses the run; 'tail' cuts the end of its input, 'head' the beginning "
        "(core.evals.fit)")

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        if self.scoring not in ("auto", "generate", "likelihood"):
            raise ValueError("scoring must be auto, generate or likelihood")
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(
                "repeated samples at temperature 0 are identical; set a temperature above 0 "
                "(e.g. 0.7) to measure consistency, or use 1 sample")
        if self.samples > 1 and self.scoring == "likelihood":
            raise ValueError("likelihood scoring is deterministic; use scoring 'generate' to "
                             "draw several samples")
        if self.truncate not in (None, "head", "tail"):
            raise ValueError("truncate must be head (cut the beginning of a long input) or "
                             "tail (cut its end), or unset to refuse rows that do not fit")
        check_unique_names(self.variants)
        if len(set(self.models)) != len(self.models):
            raise ValueError("a model is listed twice; list each model once")
        if self.pairs is not None:
            names = {v.name for v in self.variants}
            for m, v in self.pairs:
                if m not in self.models or v not in names:
                    raise ValueError(f"the pair ({m}, {v}) names a model or variant that is not "
                                     "part of this run")
        return self

    def combos(self) -> list[tuple[str, str]]:
        """The (model, variant) pairs this run computes."""
        if self.pairs is not None:
            return list(dict.fromkeys(tuple(p) for p in self.pairs))
        return [(m, v.name) for m in self.models for v in self.variants]

    def mode_for(self, task: str, model_kind: str) -> str:
        """generate, likelihood or classify (a model that reads no prompt, such as the
        embedding classifier) for one model, from its kind's capabilities."""
        kind = kinds.get(model_kind)
        if not kind.prompted:
            return "classify"
        if self.scoring == "generate" or task != "classification" or not kind.likelihood:
            return "generate"
        if self.scoring == "likelihood":
            return "likelihood"
        return "likelihood" if self.samples == 1 else "generate"
