"""All settings in one place, read from the environment (prefix `LADDER_`).

The workspace is a single folder that holds everything the product writes:
the SQLite database, the model cache, the vector store and the run folders.
Moving or deleting that folder is the whole backup/reset story.
"""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import LadderError


class WorkspaceError(LadderError):
    """The workspace folder cannot be used (a file, not writable); the message says the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LADDER_", extra="ignore")

    home: Path = Field(
        default=Path("workspace"),
        description="Workspace folder: database, model cache, vector store, runs.",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where converted models are cached; defaults to HOME/models. Share one "
        "cache between workspaces by pointing them at the same folder.",
    )
    device: str = Field(
        default="auto", description="Where local models run: auto, cpu or cuda."
    )
    dtype: str = Field(
        default="auto",
        description="Local model precision: auto (bf16 where supported), bf16 or fp32.",
    )
    embed_backend: str = Field(
        default="auto",
        description="Sentence-embedding engine: auto (torch on a GPU or a bf16 CPU, else "
        "ONNX Runtime), torch or onnx.",
    )
    batch_size: int = Field(default=64, ge=1, description="Most rows in one batch of local generation or scoring.")
    batch_tokens: int = Field(default=2048, ge=16, description="Token budget of one batch of local generation or scoring: rows x longest row (after the shared prefix).")
    max_upload_mb: int = Field(default=200, ge=1, description="Largest accepted upload.")
    max_rows: int = Field(default=1_000_000, ge=1, description="Largest accepted dataset.")
    chroma_url: str | None = Field(
        default=None, description="A chroma server URL; the embedded store is used when unset."
    )
    backends: str = Field(
        default="",
        description="Comma-separated Python modules that register extra model kinds "
        "(docs/backends.md); imported when a kind is first looked up.",
    )
    hf_offline: bool | None = Field(
        default=None,
        description="Force Hugging Face Hub offline mode; by default offline unless a hub model is registered.",
    )

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        v = v.lower()
        if v not in {"auto", "cpu", "cuda"}:
            raise ValueError("LADDER_DEVICE must be auto, cpu or cuda")
        return v

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        v = v.lower()
        if v not in {"auto", "bf16", "fp32"}:
            raise ValueError("LADDER_DTYPE must be auto, bf16 or fp32")
        return v

    @cached_property
    def root(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.root / "ladder.db"

    @property
    def model_cache(self) -> Path:
        if self.model_cache_dir is not None:
            return self.model_cache_dir.expanduser().resolve()
        return self.root / "models"

    @property
    def vector_dir(self) -> Path:
        return self.root / "vectors"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def ensure(self) -> Settings:
        """Create the workspace folders and check the workspace can be written to."""
        for p in (self.root, self.model_cache, self.vector_dir, self.runs_dir):
            own = p == self.model_cache and self.model_cache_dir is not None
            var, value = ("LADDER_MODEL_CACHE_DIR", self.model_cache_dir) if own else \
                ("LADDER_HOME", self.home)
            if p.exists() and not p.is_dir():
                raise WorkspaceError(f"{var}={value} is not usable: {p} is a file, not a folder; "
                                     f"point {var} at a folder (it is created if missing).")
            try:
                p.mkdir(parents=True, exist_ok=True)
                if p in (self.root, self.model_cache):
                    fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=p)
                    os.close(fd)
                    os.unlink(probe)
            except OSError as e:
                raise WorkspaceError(f"{var}={value} is not usable: {p} cannot be written "
                                     f"({e.strerror or e}); point {var} at a folder you can write "
                                     "to (it is created if missing).") from None
        return self


def read_settings() -> Settings:
    """Settings from the environment; a bad `LADDER_*` value is one WorkspaceError naming the
    variable, its value and what it accepts (never pydantic's multi-line report)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as e:
        raise WorkspaceError(settings_problem(e)) from None


def settings_problem(e) -> str:
    """One line per bad variable of a settings ValidationError, e.g.
    "LADDER_BATCH_SIZE=-1 is not usable: it must be at least 1; unset it or ..."."""
    parts = []
    for err in e.errors():
        field = str(err["loc"][0]) if err.get("loc") else ""
        var = f"LADDER_{field.upper()}"
        value = os.environ.get(var, err.get("input"))
        limit = (err.get("ctx") or {})
        if err["type"] == "greater_than_equal":
            need = f"it must be at least {limit.get('ge')}"
        elif err["type"] == "greater_than":
            need = f"it must be above {limit.get('gt')}"
        elif err["type"] == "value_error":
            need = str(err["msg"]).removeprefix("Value error, ")
        else:
            need = str(err["msg"]).lower()
        parts.append(f"{var}={value} is not usable: {need}; unset it or give an allowed value "
                     "(README, Configuration).")
    return " ".join(parts)


def load_settings() -> Settings:
    """Read settings from the environment and create the workspace folders."""
    return read_settings().ensure()
