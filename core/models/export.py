"""A registered text model as one GGUF file for llama.cpp and Ollama, written in pure Python.

The `gguf` package writes the file and quantizes it (f16, Q8_0, Q4_0; not the K-quants), so
no compiler and no llama.cpp checkout are needed. What is exported:

- an adapter: merged into its base first (the same outputs, no adapter at serving time);
- a fine-tuned folder or a built-in model of the supported architectures (Llama, Gemma 3).

The tokenizer and the chat template are copied from the GGUF the model descends from (the
packaged SmolLM2 and Gemma 3 files), so llama.cpp tokenizes exactly as the source did; the
architecture's hyperparameters are written from the model's own config. Weights go through
the inverse of the conversions transformers applies when it loads a GGUF (Llama's q/k rows
interleaved for llama.cpp's rotary layout; Gemma's norm weights stored as 1 + w), which the
tests check by loading the exported file back and comparing logits.

Next to the .gguf: an Ollama `Modelfile` with the chat template and stop tokens.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import LadderError

QUANTS = ("f16", "q8_0", "q4_0")
# transformers' model_type -> the GGUF architecture name
ARCHS = {"llama": "llama", "gemma3_text": "gemma3", "gemma3": "gemma3"}
_TEMPLATES = {  # Ollama Go templates for the chat formats of the supported families
    "chatml": ('{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}'
               '{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}'
               '<|im_start|>assistant\n{{ .Response }}<|im_end|>\n', ["<|im_end|>", "<|im_start|>"]),
    "gemma": ('{{ if .System }}<start_of_turn>user\n{{ .System }}\n\n{{ end }}'
              '{{ if .Prompt }}{{ if not .System }}<start_of_turn>user\n{{ end }}{{ .Prompt }}'
              '<end_of_turn>\n{{ end }}<start_of_turn>model\n{{ .Response }}<end_of_turn>\n',
              ["<end_of_turn>", "<start_of_turn>"]),
}


class ExportError(LadderError):
    """A model that cannot be exported as asked, with what to do instead."""


@dataclass
class Exported:
    path: Path
    modelfile: Path
    quant: str
    size_bytes: int
    tensors: int
    seconds: float

    def record(self) -> dict:
        return {"path": str(self.path), "modelfile": str(self.modelfile), "quant": self.quant,
                "size_bytes": self.size_bytes, "tensors": self.tensors,
                "seconds": round(self.seconds, 1)}


def source_gguf(ws, spec) -> Path | None:
    """The GGUF file a registered model descends from, if any: its own (a built-in model, a
    folder holding a .gguf), or its base's (an adapter; a fully fine-tuned model, through the
    run that trained it)."""
    from core.models import kinds
    from core.models.cache import CACHE_MARKER, materialize

    seen = set()
    while spec is not None and spec.id not in seen:
        seen.add(spec.id)
        kind = kinds.of(spec)
        if kind.gguf is not None:  # it ships as a GGUF, wherever its cache came from
            return kind.gguf(ws, spec)
        if kind.weights is not None and not spec.base_model:
            try:
                folder = Path(materialize(spec, Path(ws.settings.model_cache)))
            except Exception:  # noqa: BLE001 - weights that cannot be had have no GGUF either
                folder = None
            marker = folder / CACHE_MARKER if folder is not None else None
            if marker is not None and marker.exists():
                src = Path(json.loads(marker.read_text()).get("source", ""))
                if src.suffix == ".gguf" and src.exists():
                    return src
        parent = spec.base_model or (kind.parent(spec) if kind.parent else None)
        spec = ws.registry.get(parent) if parent and ws.registry.exists(parent) else None
    return None


def check_exportable(ws, model_id: str, fmt: str, quant: str) -> None:
    """Refuse, in one line, what cannot be exported as asked (before any work is done)."""
    if fmt != "gguf":
        raise ExportError(f"unknown format '{fmt}'; the export format is gguf")
    if quant not in QUANTS:
        raise ExportError(f"unknown quantization '{quant}'; use one of {', '.join(QUANTS)}")
    if not ws.registry.exists(model_id):
        raise ExportError(f"Unknown model '{model_id}'; `ladder models list` shows the ids")
    from core.models import kinds

    spec = ws.registry.get(model_id)
    kind = kinds.find(spec.kind)
    if kind is not None and not kind.prompted:  # reads an input, answers a label
        raise ExportError(
            f"'{model_id}' is a label predictor ({spec.kind}), not a text generator; GGUF is for "
            f"models llama.cpp runs. Its format is a model folder: {spec.source}")
    if kinds.of(spec).weights is None and not spec.base_model:
        raise ExportError(f"'{model_id}' is a {spec.kind} model whose weights are not on this "
                          "machine; only local models export")


def export_gguf(ws, model_id: str, out_dir: Path, quant: str = "q8_0", progress=None) -> Exported:
    """Write OUT_DIR/<model_id>.<quant>.gguf and OUT_DIR/Modelfile; return what was written."""
    check_exportable(ws, model_id, "gguf", quant)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    spec = ws.registry.get(model_id)
    src = source_gguf(ws, spec)
    if src is None:
        raise ExportError(f"'{model_id}' does not descend from a GGUF file, so its tokenizer "
                          "cannot be written in GGUF form here; export models built on the "
                          "packaged SmolLM2 or Gemma 3 (or on a registered .gguf)")
    say("loading the model" + (" and merging its adapter" if spec.base_model else ""))
    model = _load_merged(ws, spec)
    out = write_gguf(model, src, Path(out_dir), quant, model_id, say)
    out.seconds = time.perf_counter() - t0
    return out


def write_gguf(model, src: Path, out_dir: Path, quant: str, name: str, say=None) -> Exported:
    """`model` (a transformers causal LM) as OUT_DIR/<name>.<quant>.gguf, its tokenizer and
    chat template taken from the GGUF file `src`; plus OUT_DIR/Modelfile."""
    import gguf
    import numpy as np
    import torch

    say = say or (lambda msg: None)
    t0 = time.perf_counter()
    config = model.config
    arch = ARCHS.get(config.model_type)
    if arch is None:
        raise ExportError(f"'{name}' is a {config.model_type} model; the GGUF writer here "
                          f"supports {', '.join(sorted(set(ARCHS.values())))} models")
    if quant not in QUANTS:
        raise ExportError(f"unknown quantization '{quant}'; use one of {', '.join(QUANTS)}")
    reader = gguf.GGUFReader(str(src))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{_file_stem(name)}.{quant}.gguf"
    tmp = path.with_name(path.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), arch)
    _copy_metadata(reader, writer, name, quant, arch, config)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], config.num_hidden_layers)
    state = model.state_dict()
    tied = getattr(config, "tie_word_embeddings", False) or "lm_head.weight" not in state
    T = gguf.GGMLQuantizationType
    count = 0
    for i, (key, tensor) in enumerate(state.items()):
        if key == "lm_head.weight" and tied:
            continue
        gname = names.get_name(key, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise ExportError(f"no GGUF name for the tensor {key} of a {config.model_type} model")
        data = _to_llama_cpp(arch, key, tensor.detach().to(torch.float32).numpy(), config)
        qtype = _qtype(quant, gname, data)
        if qtype == T.F32:
            writer.add_tensor(gname, data.astype(np.float32))
        elif qtype == T.F16:
            writer.add_tensor(gname, data.astype(np.float16))
        else:
            writer.add_tensor(gname, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        count += 1
        if i % 25 == 0:
            say(f"tensor {i + 1}/{len(state)}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    modelfile = write_modelfile(out_dir, path.name, reader, arch)
    return Exported(path, modelfile, quant, path.stat().st_size, count, time.perf_counter() - t0)


def _file_stem(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in model_id)


def _load_merged(ws, spec):
    """The model in float32, with its adapter merged in if it is one."""
    import torch

    from core.hf import loading
    from core.models.cache import materialize

    base = ws.registry.get(spec.base_model) if spec.base_model else spec
    path = materialize(base, Path(ws.settings.model_cache))
    with loading():
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32,
                                                     trust_remote_code=base.trust_remote_code)
        if spec.base_model:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, spec.source).merge_and_unload()
    return model.eval()


def _to_llama_cpp(arch: str, name: str, data, config):
    """The inverse of what transformers does to a GGUF tensor when it loads one."""
    if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
        heads = config.num_attention_heads if "q_proj" in name else config.num_key_value_heads
        return (data.reshape(heads, 2, data.shape[0] // heads // 2, *data.shape[1:])
                .swapaxes(1, 2).reshape(data.shape))
    if arch == "gemma3" and name.endswith("norm.weight"):
        return data + 1.0  # llama.cpp multiplies by the stored weight; Gemma by 1 + weight
    return data


def _qtype(quant: str, gname: str, data):
    import gguf

    T = gguf.GGMLQuantizationType
    if data.ndim < 2 or gname.endswith("norm.weight"):
        return T.F32
    if quant == "f16" or data.shape[-1] % 32:
        return T.F16
    if gname.startswith(("token_embd", "output.")):
        # the embeddings (also the output layer when tied) stay at 8 bits, as llama.cpp's own
        # Q4 files keep them higher: at 4 bits SmolLM2's next-token logits correlated 0.76
        return T.Q8_0
    return {"q8_0": T.Q8_0, "q4_0": T.Q4_0}[quant]


_FILE_TYPE = {"f16": 1, "q4_0": 2, "q8_0": 7}


def _copy_metadata(reader, writer, model_id: str, quant: str, arch: str, config) -> None:
    """The architecture's hyperparameters from the model's config; the tokenizer, the chat
    template and the source's other keys of that architecture copied from the source file
    (those only when it is the same size: a fine-tune of that very model)."""
    import gguf

    mine = _arch_keys(arch, config)
    for key, value in mine.items():
        writer.add_key_value(key, value, _vtype(value))
    same = all(_field_value(reader, f"{arch}.{k}") in (None, mine[f"{arch}.{k}"])
               for k in ("embedding_length", "block_count", "feed_forward_length"))
    skip = {"general.name", "general.file_type", "general.quantization_version",
            "general.architecture"}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip or key in mine:
            continue
        if key.startswith(arch + ".") and not same:
            continue
        if not key.startswith(("tokenizer.", "general.", arch + ".")):
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, list(field.contents()), vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), vtype)
    writer.add_name(model_id)
    writer.add_file_type(_FILE_TYPE[quant])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _field_value(reader, key: str):
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _vtype(value):
    import gguf

    V = gguf.GGUFValueType
    return V.FLOAT32 if isinstance(value, float) else V.UINT32


def _rope_theta(config) -> float | None:
    theta = getattr(config, "rope_theta", None)
    params = getattr(config, "rope_parameters", None) or {}
    if theta is None and isinstance(params, dict):
        theta = params.get("rope_theta")
        if theta is None and isinstance(params.get("full_attention"), dict):
            theta = params["full_attention"].get("rope_theta")
    return None if theta is None else float(theta)


def _arch_keys(arch: str, config) -> dict:
    """What llama.cpp (and transformers' GGUF loader) read to rebuild the architecture."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    keys = {"context_length": config.max_position_embeddings,
            "embedding_length": config.hidden_size, "block_count": config.num_hidden_layers,
            "feed_forward_length": config.intermediate_size,
            "attention.head_count": config.num_attention_heads,
            "attention.head_count_kv": config.num_key_value_heads,
            "attention.layer_norm_rms_epsilon": float(config.rms_norm_eps),
            "vocab_size": config.vocab_size}
    theta = _rope_theta(config)
    if theta is not None:
        keys["rope.freq_base"] = theta
    if arch == "llama":
        keys["rope.dimension_count"] = head_dim
    else:  # gemma3
        keys.update({"attention.key_length": head_dim, "attention.value_length": head_dim})
        if getattr(config, "sliding_window", None):
            keys["attention.sliding_window"] = int(config.sliding_window)
    return {f"{arch}.{k}": v for k, v in keys.items()}


def write_modelfile(out_dir: Path, gguf_name: str, reader, arch: str) -> Path:
    """An Ollama Modelfile for the exported file: its chat template and stop tokens."""
    field = reader.fields.get("tokenizer.chat_template")
    template = field.contents() if field is not None else ""
    if "<|im_start|>" in template:
        go, stops = _TEMPLATES["chatml"]
    elif "<start_of_turn>" in template or arch == "gemma3":  # the packaged file has none
        go, stops = _TEMPLATES["gemma"]
    else:
        go, stops = "{{ .Prompt }}", []
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{go}"""']
    lines += [f'PARAMETER stop "{s}"' for s in stops]
    lines += ["PARAMETER temperature 0", ""]
    path = Path(out_dir) / "Modelfile"
    path.write_text("\n".join(lines))
    return path
