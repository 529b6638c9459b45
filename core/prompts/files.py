"""The prompts file: YAML with a list of variants, shared by the CLI and the Prompt Lab page.

```yaml
variants:
  - name: zero-shot
    system: You sort support tickets.
    template: "Ticket: {input}\\nCategory ({labels}):"
  - name: few-shot
    template: "{examples}\\n\\nInput: {input}\\nAnswer:"
    few_shot: 3
```
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from core.errors import LadderError
from core.prompts.template import TemplateError
from core.prompts.variants import Variant, check_unique_names


class PromptsFileError(LadderError, ValueError):
    """The prompts file cannot be used; the message names the place and the fix."""


def parse_prompts(text: str, source: str = "the prompts file") -> list[Variant]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = ""
        if getattr(e, "problem_mark", None) is not None:
            where = f" at line {e.problem_mark.line + 1}, column {e.problem_mark.column + 1}"
        raise PromptsFileError(f"{source} is not valid YAML{where}: "
                               f"{getattr(e, 'problem', None) or e}. Check quotes and indentation."
                               ) from None
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
        raise PromptsFileError(f"{source} must be a mapping with a 'variants:' list, e.g. "
                               "variants: [{name: zero-shot, template: 'Classify: {input}'}]")
    if not data["variants"]:
        raise PromptsFileError(f"{source} lists no variants; add at least one.")
    unknown = set(data) - {"variants"}
    if unknown:
        raise PromptsFileError(f"{source} has unknown top-level key(s) {sorted(unknown)}; only "
                               "'variants' is read.")
    variants = []
    for i, item in enumerate(data["variants"], 1):
        label = f"variant {i}" + (f" ('{item.get('name')}')" if isinstance(item, dict) else "")
        if not isinstance(item, dict):
            raise PromptsFileError(f"{label} in {source} must be a mapping with name and template.")
        try:
            variants.append(Variant(**item))
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(x) for x in first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                msg = "unknown key; allowed: name, template, system, few_shot, few_shot_mode, " \
                      "example_template, output_format, repetition_penalty, " \
                      "no_repeat_ngram_size"
            elif first["type"] == "missing":
                msg = "is required"
            raise PromptsFileError(f"{label} in {source}: {field + ': ' if field else ''}{msg}"
                                   ) from None
    try:
        check_unique_names(variants)
    except TemplateError as e:
        raise PromptsFileError(str(e)) from None
    return variants


def load_prompts(path: Path | str) -> list[Variant]:
    p = Path(path)
    if not p.is_file():
        raise PromptsFileError(f"{p} does not exist; give the path of a YAML prompts file.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PromptsFileError(f"{p} is not UTF-8 text; save it as UTF-8 YAML.") from None
    return parse_prompts(text, str(p))


def dump_prompts(variants: list[Variant]) -> str:
    items = []
    for v in variants:
        d = v.model_dump(exclude_defaults=True)
        d["name"], d["template"] = v.name, v.template
        items.append({k: d[k] for k in ("name", "system", "template", "few_shot", "few_shot_mode",
                                        "example_template", "output_format", "repetition_penalty",
                                        "no_repeat_ngram_size") if k in d})
    return yaml.safe_dump({"variants": items}, sort_keys=False, allow_unicode=True, width=100)
