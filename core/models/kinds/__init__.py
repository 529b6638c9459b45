"""The registry of model kinds (backends), in the spirit of simonw/llm's model plugins.

Each kind is one module that calls `register(Kind(...))` when imported. The built-in
kinds live beside this file; other kinds come from

- installed packages that declare an entry point in the group `ladder.backends`
  (`[project.entry-points."ladder.backends"] mykind = "mypackage.mykind"`), and
- the modules named in `LADDER_BACKENDS` (comma-separated, importable from `sys.path`).

All of them are imported the first time a kind is looked up. Code asks capabilities
(`kinds.get(spec.kind).hosted`) or calls hooks, never compares kind names; see
docs/backends.md for the capabilities and a worked example.

The built-in modules are imported by name, like any plugin, so this module depends on
none of them (and they, with the backends they load, may import the model spec freely).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
import threading
from importlib.metadata import entry_points

from core.models.base import ModelError
from core.models.kinds.base import (
    CAPABILITIES,
    CONCURRENCY,
    HOURLY,
    NOTES,
    PRICE_IN,
    PRICE_OUT,
    TRUST,
    Field,
    Kind,
)

ENTRY_POINT_GROUP = "ladder.backends"
ENV_VAR = "LADDER_BACKENDS"
BUILTIN = tuple(f"core.models.kinds.{m}" for m in (
    "packaged", "openai", "hub", "folder", "adapter", "finetuned", "classifier", "seqcls"))
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

_KINDS: dict[str, Kind] = {}
_LOADED: set[str] = set()  # plugin modules imported (or tried) so far
_PROBLEMS: list[str] = []  # why a plugin failed to load
_LOCK = threading.RLock()
_ready = False

__all__ = ["BUILTIN", "CAPABILITIES", "CONCURRENCY", "ENTRY_POINT_GROUP", "ENV_VAR", "HOURLY",
           "NOTES", "PRICE_IN", "PRICE_OUT", "TRUST", "Field", "Kind", "addable", "all", "find", "get",
           "load_plugins", "names", "of", "problems", "register", "unknown_kind", "unregister"]


def register(kind: Kind, *, replace: bool = False) -> Kind:
    """Make `kind` known; a second kind of the same name is refused unless `replace`."""
    if not isinstance(kind, Kind):
        raise ModelError(f"register() takes a Kind, not {type(kind).__name__}")
    if not kind.module:
        kind = dataclasses.replace(kind, module=sys._getframe(1).f_globals.get("__name__", ""))
    if not _NAME_RE.match(kind.name):
        raise ModelError(f"The kind name '{kind.name}' is not usable: use 1-32 lowercase letters, "
                         "digits, _ or - starting with a letter, e.g. 'my-server'.")
    if kind.load is None:
        raise ModelError(f"The kind '{kind.name}' has no load hook: give Kind(load=...) a "
                         "function (ws, spec, progress) -> backend.")
    flags = [f.flag for f in kind.fields]
    if len(set(flags)) != len(flags):
        raise ModelError(f"The kind '{kind.name}' uses one CLI flag for two fields: {flags}")
    with _LOCK:
        old = _KINDS.get(kind.name)
        if old is not None and not replace and old.module != kind.module:
            raise ModelError(f"Two modules register the kind '{kind.name}' ({old.module or '?'} "
                             f"and {kind.module or '?'}); rename one of them.")
        _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind (tests, or a plugin being reloaded)."""
    with _LOCK:
        _KINDS.pop(name, None)


def load_plugins(modules: str | None = None) -> list[str]:
    """Import the built-in kinds, the `ladder.backends` entry points and the modules named
    in `modules` (default: the LADDER_BACKENDS setting); each is imported once. A plugin that
    fails to import is skipped and its error kept (`problems()`, and the message of `get`
    for a kind it would have registered), so one broken plugin does not stop the others.
    Returns the known kind names."""
    global _ready
    with _LOCK:
        for name in BUILTIN:
            importlib.import_module(name)  # a broken built-in is a bug: let it show
            _LOADED.add(name)
        for ep in _entry_points():
            if ep.value not in _LOADED:
                _LOADED.add(ep.value)
                try:
                    ep.load()
                except Exception as e:
                    _PROBLEMS.append(f"the plugin '{ep.name}' ({ep.value}, entry point group "
                                     f"{ENTRY_POINT_GROUP}) failed to load: {_why(e)}; reinstall "
                                     "or uninstall its package")
        if modules is None:
            modules = _setting()
        for name in (m.strip() for m in (modules or "").split(",")):
            if name and name not in _LOADED:
                _LOADED.add(name)
                try:
                    importlib.import_module(name)
                except Exception as e:
                    _PROBLEMS.append(f"the module '{name}' named in {ENV_VAR} failed to import: "
                                     f"{_why(e)}; fix the name or make it importable "
                                     "(PYTHONPATH or pip install)")
        _ready = True
        return sorted(_KINDS)


def problems() -> list[str]:
    """Why plugins that should have registered kinds did not."""
    _ensure()
    return list(_PROBLEMS)


def _why(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _entry_points():
    try:
        return list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # a broken distribution's metadata must not stop the built-ins
        return []


def _setting() -> str:
    from core.settings import Settings

    return Settings().backends


def _ensure() -> None:
    if not _ready:  # first look-up: load once, while other threads wait (Streamlit sessions)
        with _LOCK:
            if not _ready:
                load_plugins()


def all() -> list[Kind]:  # noqa: A001  (the registry's own namespace: kinds.all())
    """Every known kind: the built-ins in BUILTIN's order, then plugins in registration order
    (whichever module happened to be imported first, e.g. by doctest collection, changes
    nothing: the Models page's first kind is always the same)."""
    _ensure()
    rank = {m: i for i, m in enumerate(BUILTIN)}
    return sorted(_KINDS.values(), key=lambda k: rank.get(k.module, len(BUILTIN)))


def addable() -> list[Kind]:
    """The kinds a user adds by hand (Models page form, `ladder models add`), built-ins first."""
    return [k for k in all() if k.addable]


def names() -> list[str]:
    return [k.name for k in all()]


def find(name: str | None) -> Kind | None:
    """The kind called `name`, or None when no installed module registers it."""
    _ensure()
    return _KINDS.get(name or "")


def get(name: str | None) -> Kind:
    """The kind called `name`; a ModelError that says how to install it otherwise."""
    kind = find(name)
    if kind is None:
        raise ModelError(unknown_kind(name))
    return kind


def of(spec) -> Kind:
    """The kind of a registry entry."""
    return get(spec.kind)


def unknown_kind(name: str | None) -> str:
    _ensure()
    why = f" Note: {'; '.join(_PROBLEMS)}." if _PROBLEMS else ""
    return (f"The model kind '{name}' is not installed here (known kinds: "
            f"{', '.join(sorted(_KINDS))}). A kind from a plugin is loaded from an installed "
            f"package (entry point group {ENTRY_POINT_GROUP}) or a module named in "
            f"{ENV_VAR}.{why}")
