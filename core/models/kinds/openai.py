"""Kind `openai`: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, TGI, Ollama,
llama.cpp server, LM Studio), spoken to over HTTP by core.models.openai_compat.

Hosted: the rows are sent to the endpoint, so the "data stays in-house" requirement refuses
it, and a request costs its tokens x the prices per million tokens.
"""

from __future__ import annotations

from core.models.base import ModelError
from core.models.kinds import CONCURRENCY, NOTES, PRICE_IN, PRICE_OUT, Field, Kind, register


def _validate(spec) -> None:
    from core.models.openai_compat import validate_base_url

    if not spec.base_url:
        raise ValueError("an OpenAI-compatible model needs a base URL, e.g. "
                         "http://127.0.0.1:8000/v1")
    spec.base_url = validate_base_url(spec.base_url)


def _check(spec) -> None:
    from core.models.secrets import resolve_key

    if spec.api_key_env and not resolve_key(spec.api_key_env):
        raise ModelError(
            f"The environment variable {spec.api_key_env} is not set. Set it in the "
            f"environment (export {spec.api_key_env}=...) or in .streamlit/secrets.toml, "
            "then try again; leave the key variable empty for servers that need no key.")


def _backend(spec, **kw):
    from core.models.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(spec.base_url, spec.source, spec.api_key_env, **kw)


def _verify(spec) -> None:
    _backend(spec, max_retries=1, timeout_s=20).test()


def _load(ws, spec, progress=None):
    return _backend(spec, max_concurrency=max(1, spec.concurrency))


register(Kind(
    name="openai", label="OpenAI-compatible endpoint", hosted=True,
    untrainable="is an API model (an OpenAI-compatible endpoint): its weights are not here "
                "to train.",
    fields=(
        Field("base_url", "Base URL", "--base-url", required=True, metavar="URL",
              help="an OpenAI-compatible base URL (…/v1)",
              placeholder="https://api.openai.com/v1"),
        Field("source", "Model name at the endpoint", "--remote-model", required=True,
              metavar="NAME", help="the model name the endpoint expects",
              placeholder="gpt-4o-mini"),
        Field("api_key_env", "Environment variable that holds the API key", "--key-env",
              metavar="VAR", help="environment variable holding the API key",
              placeholder="OPENAI_API_KEY (leave empty if the server needs no key)"),
        PRICE_IN, PRICE_OUT,
        Field("concurrency", CONCURRENCY.label, CONCURRENCY.flag, "integer",
              help=CONCURRENCY.help, default=4, metavar="N"),
        NOTES,
    ),
    cli_flag="--base-url",
    load=_load, validate=_validate, check=_check, verify=_verify,
))
