"""One entry point for "run this prompt on that registered model".

Asks the registry entry's kind for its backend (local transformers, an endpoint, an
embedding classifier, or a plugin's; core.models.kinds), sends the prompts, and attaches
the cost of each request as the kind prices it: by default tokens x price for hosted
models, machine time x hourly cost locally.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import kinds
from core.models.base import ChatPrompt, Generation, GenerationParams, ModelError
from core.models.spec import ModelSpec


@dataclass
class PricedGeneration:
    generation: Generation
    cost_usd: float | None


def get_backend(ws, spec: ModelSpec, progress=None):
    """The backend object for `spec`, from its kind's `load` hook (local models are cached
    per process)."""
    return kinds.of(spec).load(ws, spec, progress)


def request_cost(spec: ModelSpec, g: Generation) -> float | None:
    seconds = g.compute_s if g.compute_s is not None else g.latency_s
    return spec.cost_usd(g.input_tokens, g.output_tokens, seconds)


def generate(ws, model_id: str, prompts: list[ChatPrompt], params: GenerationParams,
             purpose: str = "generate", progress=None) -> list[PricedGeneration]:
    """Run `prompts` on the registered model and record usage (never the prompt text or keys)."""
    if not prompts:
        raise ModelError("Nothing to generate: give at least one prompt.")
    spec = ws.registry.get(model_id)
    backend = get_backend(ws, spec, progress)
    gens = backend.generate(prompts, params, batch_size=ws.settings.batch_size)
    out = []
    for g in gens:
        cost = request_cost(spec, g)
        ws.registry.record_usage(spec.id, g.input_tokens, g.output_tokens,
                                 g.latency_s, cost, purpose)
        out.append(PricedGeneration(g, cost))
    return out
