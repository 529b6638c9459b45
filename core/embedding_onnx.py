"""MiniLM as an ONNX Runtime graph: exported once into the model cache, then loaded in ~0.2 s.

The packaged sentence-transformers folder is exported offline with torch's TorchScript
exporter into `<model cache>/all-MiniLM-L6-v2-onnx/` (a file per variant, written once
under a cross-process file lock, like the GGUF -> safetensors conversion; later loads
never export again). The graph takes `input_ids` and `attention_mask` and returns the
mean-pooled token vectors, so only (batch, 384) floats leave the runtime.

Variants (the names sentence-transformers / Optimum use for the same recipes):
- `fp32`: the plain export; ONNX Runtime applies its own graph optimizations at load.
- `O1`, `O2`, `O3`: saved offline graph optimizations (O1 basic; O2 + transformer fusions:
  skip-LayerNorm and bias-GELU; the attention fusion does not match this export's graph;
  O3 = O2 + GELU approximation). O4 adds fp16 and is for GPUs only, so it is not built here.
- `int8-avx2`, `int8-avx512`, `int8-avx512-vnni`: dynamic int8 quantization of the
  MatMuls with Optimum's CPU presets (per-channel, symmetric weights; uint8 weights
  for AVX2, int8 for AVX-512).

Trade-off: the export goes through the legacy TorchScript exporter, which needs no extra
package but cannot follow transformers' data-dependent mask helpers; the wrapper below
builds the additive attention mask itself and calls the embeddings and encoder modules
directly, so the graph equals the PyTorch model (max difference ~2e-7 on unit vectors).
Sentence-transformers' own `backend="onnx"` would need `optimum-onnx`, whose releases
require transformers < 4.58.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.hf import cache_lock, loading

DIR_NAME = "all-MiniLM-L6-v2-onnx"
MARKER = "ladder-cache.json"
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model
INPUTS = ("input_ids", "attention_mask")


@dataclass(frozen=True)
class Variant:
    name: str
    about: str
    parent: str | None  # the variant it is made from; None for the export itself
    make: Callable[[Path, Path], None]


def _export(model_dir: str, dst: Path) -> None:
    """Export the packaged MiniLM (embeddings + encoder + mean pooling) to `dst`."""
    import warnings

    import torch

    with loading():
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            h = self.bert.embeddings(input_ids=input_ids,
                                     token_type_ids=torch.zeros_like(input_ids))
            keep = attention_mask.unsqueeze(1).unsqueeze(2).to(h.dtype)
            h = self.bert.encoder(h, attention_mask=(1.0 - keep) * torch.finfo(h.dtype).min
                                  ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)

    enc = tok(["an example sentence", "and a somewhat longer one to pad against"],
              padding=True, return_tensors="pt")
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled(model), (enc["input_ids"], enc["attention_mask"]), str(dst),
                          input_names=list(INPUTS), output_names=["embedding"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def _optimizer(level: int, fusions: bool, gelu_approx: bool = False):
    def make(src: Path, dst: Path) -> None:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model

        opts = FusionOptions("bert")
        opts.enable_gelu_approximation = gelu_approx
        model = optimize_model(str(src), "bert", num_heads=12, hidden_size=384,
                               optimization_options=opts, opt_level=level,
                               only_onnxruntime=not fusions, provider="cpu")
        model.save_model_to_file(str(dst))
    return make


def _quantizer(weights: str):
    def make(src: Path, dst: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.registry import IntegerOpsRegistry

        quantize_dynamic(str(src), str(dst), op_types_to_quantize=list(IntegerOpsRegistry),
                         per_channel=True, reduce_range=False,
                         weight_type=QuantType.QUInt8 if weights == "uint8" else QuantType.QInt8,
                         extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    return make


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("fp32", "plain export, runtime optimizations at load", None, lambda s, d: None),
    Variant("O1", "saved basic graph optimizations", "fp32", _optimizer(1, False)),
    Variant("O2", "O1 + transformer fusions", "fp32", _optimizer(2, True)),
    Variant("O3", "O2 + GELU approximation", "fp32", _optimizer(2, True, gelu_approx=True)),
    Variant("int8-avx2", "dynamic int8, uint8 weights (AVX2 preset)", "fp32", _quantizer("uint8")),
    Variant("int8-avx512", "dynamic int8, int8 weights (AVX-512 preset)", "fp32",
            _quantizer("int8")),
    Variant("int8-avx512-vnni", "dynamic int8, int8 weights (AVX-512 VNNI preset)", "fp32",
            _quantizer("int8")),
)}


def cache_dir(cache_root: Path) -> Path:
    return Path(cache_root) / DIR_NAME


def _file(cache_root: Path, name: str) -> Path:
    return cache_dir(cache_root) / f"model-{name}.onnx"


def _marker(cache_root: Path) -> dict:
    path = cache_dir(cache_root) / MARKER
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def is_cached(cache_root: Path, name: str) -> bool:
    return name in _marker(cache_root) and _file(cache_root, name).exists()


def materialize(name: str, cache_root: Path, model_dir: str) -> Path:
    """The ONNX file of variant `name`, exported or derived once under a file lock."""
    if name not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {name!r}; known: {', '.join(VARIANTS)}")
    if is_cached(cache_root, name):
        return _file(cache_root, name)
    variant = VARIANTS[name]
    if variant.parent:
        materialize(variant.parent, cache_root, model_dir)
    out = cache_dir(cache_root)
    with cache_lock(out):
        if not is_cached(cache_root, name):
            out.mkdir(parents=True, exist_ok=True)
            dst = _file(cache_root, name)
            tmp = dst.with_name(f"{dst.stem}.{os.getpid()}.tmp.onnx")
            t0 = time.perf_counter()
            try:
                if variant.parent:
                    variant.make(_file(cache_root, variant.parent), tmp)
                else:
                    _export(model_dir, tmp)
                tmp.replace(dst)
            finally:
                tmp.unlink(missing_ok=True)
                for extra in out.glob(f"{tmp.name}*"):
                    extra.unlink(missing_ok=True)
            marker = _marker(cache_root)
            marker[name] = {"source": model_dir, "seconds": round(time.perf_counter() - t0, 1),
                            "about": variant.about}
            (out / MARKER).write_text(json.dumps(marker, indent=1))
            tok_dst = out / "tokenizer.json"
            if not tok_dst.exists():
                shutil.copyfile(Path(model_dir) / "tokenizer.json", tok_dst)
    return _file(cache_root, name)


class OnnxEncoder:
    """Mean-pooled MiniLM vectors from an ONNX file with ONNX Runtime on the CPU."""

    def __init__(self, path: Path, tokenizer_json: Path, threads: int | None = None,
                 providers: list[str] | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or 0
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts,
                                            providers=providers or ["CPUExecutionProvider"])
        self.tok = Tokenizer.from_file(str(tokenizer_json))
        self.tok.enable_truncation(MAX_SEQ_LENGTH)
        self.tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest in a batch
        self.path = Path(path)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.empty((len(texts), 384), dtype=np.float32)
        for s in range(0, len(texts), batch_size):
            encs = self.tok.encode_batch(texts[s:s + batch_size])
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
            out[s:s + len(encs)] = self.session.run(None, {"input_ids": ids,
                                                           "attention_mask": mask})[0]
        return out
