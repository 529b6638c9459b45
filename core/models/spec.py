"""The registry entry for one model, validated field by field.

Every field error names the field and says how to fix it; the registry stores
only entries that passed this model, so a bad form or CLI flag changes nothing. What
depends on the kind (its own field checks, which prices it needs, how a request is
priced) is asked of the kind's registry entry (core.models.kinds).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.models import kinds

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,79}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ModelSpec(BaseModel):
    """A registered model: where it comes from and what it costs."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Short name used everywhere, e.g. gpt-4o-mini or smollm2-135m-instruct.")
    kind: str = Field(description="The model kind (backend), one registered in core.models.kinds.")
    source: str = Field(
        description="packaged id, Hugging Face id, local folder, remote model name, adapter "
                    "folder, or classifier folder."
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL (…/v1).")
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable that holds the API key."
    )
    base_model: str | None = Field(default=None, description="Registry id of an adapter's base model.")
    price_in_per_m: float | None = Field(default=None, description="USD per 1M input tokens.")
    price_out_per_m: float | None = Field(default=None, description="USD per 1M output tokens.")
    hourly_cost: float | None = Field(default=None, description="USD per hour of the hardware.")
    concurrency: int = Field(default=1, description="Requests served at once (cost sharing).")
    trust_remote_code: bool = False
    builtin: bool = False
    notes: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        v = v.strip()
        if not _ID_RE.match(v):
            raise ValueError(
                "use 1-80 characters: lowercase letters, digits and . _ + - "
                "(starting with a letter or digit), e.g. 'gpt-4o-mini'"
            )
        return v

    @field_validator("price_in_per_m", "price_out_per_m", "hourly_cost")
    @classmethod
    def _price(cls, v: float | None) -> float | None:
        if v is None:
            return v
        if not isinstance(v, int | float) or v != v or v < 0 or v == float("inf"):
            raise ValueError("must be a non-negative number of US dollars, e.g. 0.15")
        return float(v)

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        v = v.strip()
        if not _ENV_RE.match(v):
            raise ValueError(
                "give the NAME of an environment variable (letters, digits, _), "
                "e.g. OPENAI_API_KEY, not the key itself"
            )
        return v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if kinds.find(v) is None:
            raise ValueError(kinds.unknown_kind(v))
        return v

    @model_validator(mode="after")
    def _by_kind(self) -> ModelSpec:
        kind = kinds.get(self.kind)
        if kind.validate is not None:
            kind.validate(self)
        if kind.hosted:
            if self.price_in_per_m is None or self.price_out_per_m is None:
                raise ValueError(
                    "a hosted model needs both prices (USD per 1M input and per 1M output "
                    "tokens); enter 0 for a free self-hosted server"
                )
        elif self.hourly_cost is None:
            raise ValueError(
                "a local model needs an hourly hardware cost in USD (e.g. 0.10 for a small "
                "cloud CPU machine, 2.50 for a GPU); enter 0 to ignore hardware cost"
            )
        return self

    @property
    def is_local(self) -> bool:
        return kinds.get(self.kind).local

    def cost_usd(self, input_tokens: int, output_tokens: int, latency_s: float) -> float | None:
        """Cost of one request, as its kind prices it: by default tokens x price for hosted
        models, time x hourly cost locally (core.models.kinds.Kind.cost).

        >>> ModelSpec(id="m", kind="packaged", source="smollm2-135m-instruct",
        ...           hourly_cost=3.6).cost_usd(10, 5, 2.0)
        0.002
        """
        return kinds.get(self.kind).cost(self, input_tokens, output_tokens, latency_s)


def describe_validation_error(err: Exception) -> str:
    """Turn a pydantic ValidationError into one readable line per field."""
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return str(err)
    parts = []
    for e in errors():
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "__root__")
        msg = e.get("msg", "").removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden":
            msg = "unknown setting; check the spelling"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)
