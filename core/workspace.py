"""The workspace: settings, database and registry opened together.

Also decides offline mode before any Hugging Face library is imported: the hub
is switched off (`HF_HUB_OFFLINE=1`) unless the user registered a hub model or
asked for it with LADDER_HF_OFFLINE=0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.models.registry import Registry
from core.settings import Settings, load_settings
from core.store import Database, open_db


@dataclass
class Workspace:
    settings: Settings
    db: Database
    registry: Registry


def open_workspace(settings: Settings | None = None) -> Workspace:
    settings = (settings or load_settings()).ensure()
    db = open_db(settings.db_path)
    ws = Workspace(settings, db, Registry(db, settings.runs_dir))
    configure_offline(ws)
    return ws


def configure_offline(ws: Workspace) -> bool:
    """Set HF_HUB_OFFLINE unless hub access is wanted; return whether offline."""
    offline = ws.settings.hf_offline
    if offline is None:
        offline = not ws.registry.has_hub_models()
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    elif os.environ.get("HF_HUB_OFFLINE") == "1" and ws.settings.hf_offline is False:
        os.environ.pop("HF_HUB_OFFLINE")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return offline
