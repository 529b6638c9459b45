"""Adding a model by hand, the same way from the Models page and `ladder models add`.

The kind says which fields it takes (core.models.kinds.Field); the values are checked for
presence, validated into a ModelSpec, checked and (unless told not to) verified by the kind,
and only then saved. A kind with its own `add` hook (the embedding classifier trains first)
does all of that itself. Either way a refused model leaves the registry as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import kinds
from core.models.base import ModelError
from core.models.registry import build_spec
from core.models.spec import ModelSpec


@dataclass
class Added:
    spec: ModelSpec
    detail: str = ""  # what happened besides saving, e.g. "trained on 300 rows in 2.1 s"
    extra: dict = field(default_factory=dict)  # for JSON output, e.g. {"training": {...}}


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def add_model(ws, kind_name: str, model_id: str, values: dict, verify: bool = True) -> Added:
    """Register a model of `kind_name` from its form or flag `values` (field name -> value;
    None or empty means not given)."""
    kind = kinds.get(kind_name)
    if not kind.addable:
        raise ModelError(f"{kind.a_label[:1].upper()}{kind.a_label[1:]} is not added by hand: "
                         "it is built in or made by a run.")
    allowed = {f.name for f in kind.fields}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ModelError(f"{', '.join(unknown)} does not apply to {kind.a_label}; it takes "
                         f"{', '.join(sorted(allowed))}.")
    for f in kind.fields:
        if f.required and blank(values.get(f.name)):
            raise ModelError(f"{f.label} is empty: give {f.help or 'a value'}.")
    given = {k: v for k, v in values.items() if not blank(v)}
    if kind.add is not None:
        spec, detail, extra = kind.add(ws, model_id, given)
        return Added(spec, detail, extra)
    spec = build_spec(id=model_id, kind=kind.name, **given)
    ws.registry.add(spec, verify=kind.verify if verify else None)
    return Added(spec)
