"""Local generation with transformers: cached loading, batched generation, candidate scoring.

Packaged GGUF files are dequantized once and saved as safetensors in the
workspace model cache (the first load takes 10-40 s, later ones about a
second), and the cached copy is what both generation and training load.
Generation sorts prompts by length and runs them in left-padded batches, which
is several times faster than one prompt at a time on a CPU; the price is that a
request's latency is its batch's wall time, so each `Generation` also carries
`compute_s`, its share of the batch, which the cost model uses.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.hf import cache_lock, loading
from core.models.base import ChatPrompt, Generation, GenerationParams, ModelError, apply_stop
from core.models.packaged import PACKAGED, locate_gguf

Progress = Callable[[str], None]
CACHE_MARKER = "ladder-cache.json"


def cpu_supports_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("LADDER_DEVICE=cuda but no CUDA device is visible; use auto or cpu.")
    return device


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "fp32":
        return torch.float32
    if dtype == "bf16":
        return torch.bfloat16
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else torch.float32


def cached_model_dir(cache_root: Path, model_id: str) -> Path:
    return cache_root / model_id


def is_cached(cache_root: Path, model_id: str) -> bool:
    return (cached_model_dir(cache_root, model_id) / CACHE_MARKER).exists()


def convert_gguf(gguf_path: Path, out_dir: Path, progress: Progress | None = None) -> Path:
    """Dequantize a GGUF file with transformers and save it as safetensors in `out_dir`.

    The GGUF quantizer that transformers attaches is detached first: with it the
    model can neither be saved nor trained. Written to a temporary folder and
    renamed, so an interrupted conversion never leaves a half cache.
    """
    import torch

    with loading():
        from transformers import AutoModelForCausalLM, AutoTokenizer
    say = progress or (lambda _m: None)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    say(f"Reading tokenizer from {gguf_path.name}")
    with loading():
        tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        say("Dequantizing weights (once; later loads use the cache)")
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
        )
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    say("Saving safetensors to the workspace cache")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / CACHE_MARKER).write_text(
        json.dumps({"source": str(gguf_path), "seconds": round(time.perf_counter() - t0, 1)})
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    say("Cached")
    return out_dir


def materialize(spec, cache_root: Path, progress: Progress | None = None) -> str:
    """Return what `from_pretrained` should load for `spec`, converting GGUF once."""
    if spec.kind == "packaged":
        out = cached_model_dir(cache_root, spec.id)
        if not (out / CACHE_MARKER).exists():
            with cache_lock(out):  # the app, the CLI and a worker may all get here at once
                if not (out / CACHE_MARKER).exists():
                    gguf = locate_gguf(spec.source, cache_root / "_gguf")
                    convert_gguf(gguf, out, progress)
        return str(out)
    if spec.kind == "folder":
        folder = Path(spec.source)
        if not folder.is_dir():
            raise ModelError(f"The model folder {folder} no longer exists; edit or delete '{spec.id}'.")
        ggufs = sorted(folder.glob("*.gguf"))
        if not (folder / "config.json").exists() and ggufs:
            out = cached_model_dir(cache_root, spec.id)
            if not (out / CACHE_MARKER).exists():
                with cache_lock(out):
                    if not (out / CACHE_MARKER).exists():
                        convert_gguf(ggufs[0], out, progress)
            return str(out)
        return str(folder)
    if spec.kind == "hub":
        return spec.source
    raise ModelError(f"'{spec.id}' is not a local model.")


@dataclass
class CandidateScores:
    """Log-likelihood of each candidate answer after one prompt."""

    logprobs: list[float]
    n_tokens: list[int]
    input_tokens: int
    latency_s: float

    @property
    def best(self) -> int:
        return max(range(len(self.logprobs)), key=lambda i: self.logprobs[i])


class LocalBackend:
    """A transformers causal LM on this machine."""

    def __init__(self, model, tokenizer, device: str, name: str = "local"):
        self.model = model
        self.tok = tokenizer
        self.device = device
        self.name = name
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str, *, device: str = "auto", dtype: str = "auto",
             trust_remote_code: bool = False, adapter: str | None = None,
             name: str = "local") -> LocalBackend:
        with loading():
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # loading from the cache takes about a second
            dev = pick_device(device)
            try:
                tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
                model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=pick_dtype(dtype, dev), trust_remote_code=trust_remote_code,
                    use_safetensors=None if trust_remote_code else True,
                )
            except OSError as e:
                raise ModelError(
                    f"Could not load the model from {path}: {str(e).splitlines()[0]}. "
                    "Check the id or folder; hub models need network access once."
                ) from None
            if adapter:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, adapter)
        model.to(dev).eval()
        return cls(model, tok, dev, name)

    # -- prompts --------------------------------------------------------------
    def render(self, prompt: ChatPrompt) -> str:
        """The exact text the model sees: the chat template, or plain completion text."""
        if self.chat:
            return self.tok.apply_chat_template(
                prompt.messages(), tokenize=False, add_generation_prompt=True
            )
        return f"{prompt.system}\n\n{prompt.user}" if prompt.system else prompt.user

    def encode(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=not self.chat)["input_ids"]

    def count_tokens(self, text: str) -> int:
        return len(self.tok(text, add_special_tokens=False)["input_ids"])

    # -- generation -----------------------------------------------------------
    def generate(self, prompts: list[ChatPrompt], params: GenerationParams,
                 batch_size: int = 16, on_batch: Callable[[int], None] | None = None
                 ) -> list[Generation]:
        """Generate for all prompts in length-sorted, left-padded batches; keeps input order."""
        encoded = [self.encode(self.render(p)) for p in prompts]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(encoded)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            for i, g in zip(idx, self._generate_batch([encoded[i] for i in idx], params), strict=True):
                results[i] = g
            if on_batch:
                on_batch(len(idx))
        return results  # type: ignore[return-value]

    def _generate_batch(self, batch: list[list[int]], params: GenerationParams) -> list[Generation]:
        import torch

        width = max(len(x) for x in batch)
        pad = self.tok.pad_token_id
        ids = torch.tensor([[pad] * (width - len(x)) + x for x in batch], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch], device=self.device)
        kwargs = dict(max_new_tokens=params.max_new_tokens, pad_token_id=pad)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs["stopping_criteria"] = [_StopOnStrings(self.tok, params.stop, width)]
        with self._lock, torch.inference_mode():
            t0 = time.perf_counter()
            out = self.model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            elapsed = time.perf_counter() - t0
        eos = set(_as_list(self.model.generation_config.eos_token_id)) | {pad}
        gens = []
        for row, prompt_ids in zip(out[:, width:].tolist(), batch, strict=True):
            n = next((k for k, t in enumerate(row) if t in eos), len(row))
            finish = "stop" if n < len(row) else "length"
            text = self.tok.decode(row[:n], skip_special_tokens=True)
            text, stopped = apply_stop(text, params.stop)
            if stopped:
                finish = "stop"
            gens.append(Generation(
                text=text.strip(), input_tokens=len(prompt_ids), output_tokens=n,
                latency_s=elapsed, compute_s=elapsed / len(batch), finish_reason=finish,
            ))
        return gens

    # -- candidate scoring ----------------------------------------------------
    def score_candidates(self, prompts: list[ChatPrompt], candidates: list[str],
                         batch_size: int = 16) -> list[CandidateScores]:
        """Sum of log-probabilities of each candidate as the answer to each prompt.

        Used for classification instead of free generation: the label the model
        finds most likely wins, so a small model cannot answer off-format. Each
        prompt is run once; its key/value cache is then shared by all candidates,
        so scoring C labels costs about one prompt pass, not C.
        """

        import torch

        if not candidates:
            raise ModelError("Candidate scoring needs at least one candidate answer.")
        texts = [self.render(p) for p in prompts]
        p_ids = [self.encode(t) for t in texts]
        c_ids = []
        for t in texts:
            sep = "" if self.chat or t[-1:].isspace() else " "
            c_ids.append([self.tok(sep + c, add_special_tokens=False)["input_ids"]
                          for c in candidates])
        order = sorted(range(len(prompts)), key=lambda i: len(p_ids[i]))
        results: list[CandidateScores | None] = [None] * len(prompts)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            with self._lock, torch.inference_mode():
                t0 = time.perf_counter()
                lps = self._score_batch([p_ids[i] for i in idx], [c_ids[i] for i in idx])
                dt = time.perf_counter() - t0
            for i, lp in zip(idx, lps, strict=True):
                results[i] = CandidateScores(lp, [len(c) for c in c_ids[i]], len(p_ids[i]),
                                             dt / len(idx))
        return results  # type: ignore[return-value]

    def _score_batch(self, prompts: list[list[int]], cands: list[list[list[int]]]) -> list[list[float]]:
        import torch

        dev, pad = self.device, self.tok.pad_token_id
        b, n_c = len(prompts), len(cands[0])
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=dev)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # predicts candidate token 0
        cache = out.past_key_values
        cache.batch_repeat_interleave(n_c)
        flat = [c for row in cands for c in row]  # b * n_c candidates, prompt-major
        clen = max(len(c) for c in flat)
        c_tok = torch.tensor([c + [pad] * (clen - len(c)) for c in flat], device=dev)
        c_mask = torch.tensor([[1] * len(c) + [0] * (clen - len(c)) for c in flat], device=dev)
        full_mask = torch.cat([mask.repeat_interleave(n_c, 0), c_mask], dim=1)
        start = mask.sum(-1).repeat_interleave(n_c).unsqueeze(1)
        c_pos = start + torch.arange(clen, device=dev).unsqueeze(0)
        logits = self.model(input_ids=c_tok, attention_mask=full_mask, position_ids=c_pos,
                            cache=cache, use_cache=False).logits.float()
        rest = torch.log_softmax(logits, -1)
        scores = []
        for pi in range(b):
            row = []
            for ci in range(n_c):
                k = pi * n_c + ci
                c = flat[k]
                total = float(first[pi, c[0]])
                for j in range(1, len(c)):
                    total += float(rest[k, j - 1, c[j]])
                row.append(total)
            scores.append(row)
        return scores


class _StopOnStrings:
    """Stops each row once its generated text contains a stop string.

    Decodes only the tail of each row, so the check stays cheap; works with any
    tokenizer (transformers' own `stop_strings` needs a byte-level vocabulary).
    """

    def __init__(self, tok, stops: tuple[str, ...], prompt_width: int):
        self.tok, self.stops, self.width = tok, [s for s in stops if s], prompt_width
        self.tail = max(len(s) for s in self.stops) + 8 if self.stops else 0

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        done = [
            any(s in self.tok.decode(row[self.width:][-self.tail:], skip_special_tokens=True)
                for s in self.stops)
            for row in input_ids.tolist()
        ]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _as_list(x) -> list[int]:
    if x is None:
        return []
    return list(x) if isinstance(x, list | tuple) else [x]


_LOADED: dict[tuple, LocalBackend] = {}
_LOAD_LOCK = threading.Lock()


def load_backend(spec, settings, registry=None, progress: Progress | None = None) -> LocalBackend:
    """The loaded backend for a registry entry, built once per process."""
    key = (spec.id, spec.source, settings.device, settings.dtype)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        adapter = None
        base = spec
        if spec.kind == "adapter":
            if registry is None:
                raise ModelError("Loading an adapter needs the registry to find its base model.")
            base = registry.get(spec.base_model)
            adapter = spec.source
            if not (Path(adapter) / "adapter_config.json").exists():
                raise ModelError(
                    f"The adapter folder {adapter} has no adapter_config.json; it is not a "
                    "PEFT adapter (or it was damaged). Delete the model or re-export the adapter."
                )
        path = materialize(base, settings.model_cache, progress)
        try:
            backend = LocalBackend.load(
                path, device=settings.device, dtype=settings.dtype,
                trust_remote_code=base.trust_remote_code, adapter=adapter, name=spec.id,
            )
        except Exception as e:  # a damaged adapter: garbage config, truncated weights
            if adapter is None or isinstance(e, ModelError):
                raise
            why = (str(e).splitlines() or [""])[0][:200]
            raise ModelError(
                f"The adapter '{spec.id}' in {adapter} could not be loaded ({type(e).__name__}: "
                f"{why}); its files are damaged. Delete the model or re-export the adapter."
            ) from e
        _LOADED[key] = backend
        return backend


def known_packaged() -> list[str]:
    return list(PACKAGED)
