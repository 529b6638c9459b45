"""One entry point for "run this prompt on that registered model".

Picks the backend for a registry entry (local transformers, an endpoint, or an
embedding classifier),
sends the prompts, and attaches the cost of each request using the model's
prices: tokens x price for hosted models, machine time x hourly cost locally.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.base import ChatPrompt, Generation, GenerationParams, ModelError
from core.models.spec import ModelSpec


@dataclass
class PricedGeneration:
    generation: Generation
    cost_usd: float | None


def get_backend(ws, spec: ModelSpec, progress=None):
    """The backend object for `spec` (cached per process for local models)."""
    if spec.kind == "classifier":
        from core.models.classifier import load_backend as load_classifier

        return load_classifier(spec)
    if spec.kind == "openai":
        from core.models.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(
            spec.base_url, spec.source, spec.api_key_env,
            max_concurrency=max(1, spec.concurrency),
        )
    from core.models.local import load_backend

    return load_backend(spec, ws.settings, ws.registry, progress)


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
