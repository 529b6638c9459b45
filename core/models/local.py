"""Local generation with transformers: loading, batched generation, candidate scoring.

Weights come from the workspace model cache (core.models.cache), the device and
precision from core.hardware, and label likelihoods from core.models.candidates.
Generation sorts prompts by length and runs them in left-padded batches, which
is several times faster than one prompt at a time on a CPU. A batched row's
`latency_s` is what the same request alone would take (core.models.latency: batch-1
timings measured once per backend), not its batch's wall time; `compute_s`, its share
of the batch, is what the machine spent and what the cost model uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.hardware import native_gqa, pick_device, pick_dtype
from core.hf import loading
from core.models.base import ChatPrompt, Generation, GenerationParams, ModelError, apply_stop
from core.models.cache import materialize
from core.models.candidates import CandidateScoring
from core.models.decoding import generate_kwargs
from core.models.latency import SoloCost
from core.models.latency import measure as measure_solo
from core.models.prefix import (
    accepts,
    batch_cache,
    can_share,
    fits_window,
    prefix_groups,
    prefix_kv,
    share_len,
    suffix_batch,
    token_batches,
)

Progress = Callable[[str], None]
DEFAULT_BATCH_TOKENS = 2048


class LocalBackend(CandidateScoring):
    """A transformers causal LM on this machine (candidate scoring: core.models.candidates)."""

    def __init__(self, model, tokenizer, device: str, name: str = "local"):
        self.model = model
        self.tok = tokenizer
        self.device = device
        self.name = name
        native_gqa(str(device))
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token
        self._lock = threading.Lock()
        self.batch_tokens = DEFAULT_BATCH_TOKENS  # rows x longest row per forward pass
        self.share_prefixes = True
        self._prefixes: dict[tuple, list] = {}
        self._keep_logits = accepts(model, "logits_to_keep")
        self.solo: SoloCost | None = None  # batch-1 timings (core.models.latency)

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

                # merged into the base weights: the same outputs, without the adapter's
                # extra matmuls on every layer (inference only; the files stay an adapter)
                model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
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

    # -- shared prefixes --------------------------------------------------------
    def _shared(self, seqs: list[list[int]], extra: int = 0) -> tuple[int, list | None]:
        """(P, per-layer keys/values) of the prefix all `seqs` share; (0, None) when not worth it.

        The prefix's keys and values are computed once per backend and kept (a few recent
        prefixes): every chunk of a run re-uses them. `extra` is the longest continuation
        (new or candidate tokens) that must still fit a sliding window.
        """
        p = share_len(seqs)
        if not p or not self.share_prefixes or not can_share(self.model):
            return 0, None
        if not fits_window(self.model, max(len(x) for x in seqs) + extra):
            return 0, None
        key = tuple(seqs[0][:p])
        # a kept prefix that this one extends by a few tokens serves as well: chunks of one
        # run differ only in how far their inputs happen to agree ("Ticket: The ...")
        near = [k for k in self._prefixes if len(k) <= p and p - len(k) <= 32
                and key[:len(k)] == k]
        if near:
            key = max(near, key=len)
            p = len(key)
        kv = self._prefixes.pop(key, None)
        if kv is None:
            import torch

            with torch.inference_mode():
                kv = prefix_kv(self.model, key, self.device)
        self._prefixes[key] = kv  # most recent last
        while len(self._prefixes) > 4:
            self._prefixes.pop(next(iter(self._prefixes)))
        return p, kv

    def _plan(self, seqs: list[list[int]], batch_size: int, extra: int = 0
              ) -> list[tuple[list[int], int, list | None]]:
        """(row indices, shared prefix length, prefix keys/values) for each batch to run.

        Rows are grouped by the prefix they share (core.models.prefix.prefix_groups), and
        each group is cut into batches of similar length within the token budget.
        """
        with self._lock:
            groups = prefix_groups(seqs) if self.share_prefixes else [list(range(len(seqs)))]
            shared = [(g, *self._shared([seqs[i] for i in g], extra)) for g in groups]
        out = []
        for g, p, kv in shared:
            for part in token_batches([len(seqs[i]) - p for i in g], self.batch_tokens,
                                      batch_size):
                out.append(([g[j] for j in part], p, kv))
        return out

    # -- generation -----------------------------------------------------------
    def generate(self, prompts: list[ChatPrompt], params: GenerationParams,
                 batch_size: int = 16, on_batch: Callable[[int], None] | None = None
                 ) -> list[Generation]:
        """Generate for all prompts in length-grouped batches that share their common
        prompt prefix; keeps input order.

        One prompt: its latency is the call's wall time. Several: each row's latency is
        what it would take alone (`solo_cost`), its `compute_s` its share of its batch.
        """
        t_call = time.perf_counter()
        encoded = [self.encode(self.render(p)) for p in prompts]
        solo = self.solo_cost(encoded) if len(encoded) > 1 else None
        results: list[Generation | None] = [None] * len(encoded)
        for idx, p, kv in self._plan(encoded, batch_size, params.max_new_tokens):
            gens = self._generate_batch([encoded[i] for i in idx], params, p, kv)
            for i, g in zip(idx, gens, strict=True):
                if solo is not None:
                    g.latency_s = solo.latency(g.input_tokens, g.output_tokens)
                results[i] = g
            if on_batch:
                on_batch(len(idx))
        if solo is None and results:
            results[0].latency_s = time.perf_counter() - t_call  # type: ignore[union-attr]
        return results  # type: ignore[return-value]

    def solo_cost(self, encoded: list[list[int]]) -> SoloCost:
        """Batch-1 timings of this backend on the median-length prompt (kept a while)."""
        with self._lock:
            if self.solo is None or self.solo.stale():
                ids = sorted(encoded, key=len)[len(encoded) // 2]
                self.solo = measure_solo(self.model, ids, self.tok.pad_token_id, self.device)
            return self.solo

    def _generate_batch(self, batch: list[list[int]], params: GenerationParams, p: int = 0,
                        kv: list | None = None) -> list[Generation]:
        import torch

        pad = self.tok.pad_token_id
        if kv is not None:
            # prefix, then each suffix left-padded: the prefix sits at the same positions in
            # every row, so its cached keys/values serve them all
            sids, smask, _ = suffix_batch(p, [x[p:] for x in batch], pad, self.device)
            prefix = torch.tensor([batch[0][:p]] * len(batch), device=self.device)
            ids, mask = torch.cat([prefix, sids], 1), smask
            width = ids.shape[1]
        else:
            width = max(len(x) for x in batch)
            ids = torch.tensor([[pad] * (width - len(x)) + x for x in batch], device=self.device)
            mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch],
                                device=self.device)
        kwargs = generate_kwargs(params, self.tok, width)
        with self._lock, torch.inference_mode():
            if params.temperature > 0 and params.seed is not None:
                torch.manual_seed(params.seed)
            t0 = time.perf_counter()
            if kv is not None:
                kwargs["cache"] = batch_cache(self.model, kv, len(batch))
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
        if spec.base_model:  # a PEFT adapter on a registered base (kind `adapter`)
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
        backend.batch_tokens = settings.batch_tokens
        _LOADED[key] = backend
        return backend
