"""Fine-tuned label predictors: an encoder with a classification head, or an LLM with one.

Both read a row's input (no prompt, no generation) and answer with one of the labels they
were trained on, in one forward pass per batch:

- `encoder`: the packaged MiniLM sentence encoder trained end to end, with a linear head
  over its mean-pooled token vectors (the pooling it was pre-trained with), L2-normalised
  when the head started as the embedding classifier's (`normalize` in `seqcls.json`);
- `head`: a causal LM whose last token's hidden state feeds a linear head (transformers'
  `*ForSequenceClassification`), trained with LoRA, the head trained whole.

A run saves its model in one folder: `seqcls.json` (approach, labels, max_len, base, how
it was trained) and, for an encoder, the encoder's own files plus `head.safetensors`; for
an LLM head, the PEFT adapter (the head among its saved modules) and the tokenizer.

Trade-off: the input alone is read, as the embedding classifier does, so the prompt
variant plays no part; in exchange a prediction is one forward pass over the input's
tokens, not a prompt plus a generated or scored answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import torch

from core.hf import loading
from core.models.base import ModelError
from core.models.classifier import LabelPredictor, Prediction

FILE = "seqcls.json"
APPROACHES = ("encoder", "head")


class MeanPoolClassifier(torch.nn.Module):
    """An encoder's mean-pooled token vectors (L2-normalised when `normalize`, as the sentence
    embeddings are) through dropout and a linear head."""

    def __init__(self, encoder, n_labels: int, dropout: float = 0.1, normalize: bool = False):
        super().__init__()
        self.encoder = encoder
        self.normalize = normalize
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(encoder.config.hidden_size, n_labels)
        self.config = encoder.config
        with loading():
            from transformers.modeling_outputs import SequenceClassifierOutput
        self._output = SequenceClassifierOutput

    def forward(self, input_ids, attention_mask, labels=None, **_):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        pooled = pooled.float()
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        logits = self.head(self.dropout(pooled))
        loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
        return self._output(loss=loss, logits=logits)


def encoder_path() -> str:
    """The packaged MiniLM folder (the encoder a run fine-tunes)."""
    from core.embeddings import model_path

    return model_path()


def build_encoder(n_labels: int, dropout: float = 0.1, path: str | None = None,
                  normalize: bool = False):
    """(MeanPoolClassifier, tokenizer) from the encoder at `path` (the packaged MiniLM)."""
    with loading():
        from transformers import AutoModel, AutoTokenizer

        src = path or encoder_path()
        tok = AutoTokenizer.from_pretrained(src)
        enc = AutoModel.from_pretrained(src, dtype=torch.float32)
    return MeanPoolClassifier(enc, n_labels, dropout, normalize), tok


def head_from_linear(labels: list[str], clf) -> dict | None:
    """An embedding classifier's logistic regression (`LinearClassifier` over normalised
    MiniLM embeddings) as a `MeanPoolClassifier(normalize=True)` head's state for `labels`,
    so the encoder starts out predicting exactly what the classifier predicts; None when the
    two were trained on different labels.

    >>> import numpy as np
    >>> from core.models.classifier import LinearClassifier
    >>> clf = LinearClassifier(["no", "yes"], np.array([[2.0, -1.0]]), np.array([0.5]))
    >>> head_from_linear(["no", "yes"], clf)["weight"].tolist()
    [[0.0, 0.0], [2.0, -1.0]]
    >>> head_from_linear(["no", "maybe"], clf) is None
    True
    """
    if sorted(clf.labels) != sorted(labels):
        return None
    coef = torch.as_tensor(clf.coef, dtype=torch.float32)
    bias = torch.as_tensor(clf.intercept, dtype=torch.float32)
    if coef.shape[0] == 1:  # binary: the classifier scores (0, z), z for its second label
        coef = torch.cat([torch.zeros_like(coef), coef])
        bias = torch.cat([torch.zeros_like(bias), bias])
    order = [clf.labels.index(lab) for lab in labels]
    return {"weight": coef[order].contiguous(), "bias": bias[order].contiguous()}


def build_head(path: str, n_labels: int, dtype, trust_remote_code: bool = False):
    """(a causal LM's *ForSequenceClassification, tokenizer), padding on the right so the
    last real token is where transformers reads the label from."""
    with loading():
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=n_labels, dtype=dtype, use_safetensors=True,
            trust_remote_code=trust_remote_code, pad_token_id=tok.pad_token_id)
    return model, tok


def save(folder: Path, model, tok, meta: dict) -> Path:
    """Write the trained model and `seqcls.json` into `folder` (a temporary sibling first)."""
    import shutil

    from safetensors.torch import save_file

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if meta["approach"] == "encoder":
        model.encoder.save_pretrained(tmp, safe_serialization=True)
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()},
                  str(tmp / "head.safetensors"))
    else:
        model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / FILE).write_text(json.dumps(meta, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return folder


def read_meta(folder: Path) -> dict:
    path = Path(folder) / FILE
    try:
        meta = json.loads(path.read_text())
        if meta.get("approach") not in APPROACHES or not meta.get("labels"):
            raise ValueError("no approach or labels")
        return meta
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is missing or damaged ({e}); delete the model and run the "
                         "fine-tune again.") from None


def load(folder: Path, base_path: str | None = None, device: str = "cpu"):
    """(model in eval mode, tokenizer, meta) of a saved run; `base_path`: an LLM head's base."""
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = read_meta(folder)
    labels = meta["labels"]
    try:
        if meta["approach"] == "encoder":
            model, tok = build_encoder(len(labels), path=str(folder),
                                       normalize=bool(meta.get("normalize")))
            model.head.load_state_dict(load_file(str(folder / "head.safetensors")))
        else:
            if not base_path:
                raise ModelError("an LLM classification head needs its base model's weights")
            model, tok = build_head(base_path, len(labels), torch.float32)
            with loading():
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(folder))
            tok.padding_side = "right"
    except (OSError, RuntimeError, KeyError) as e:
        raise ModelError(f"The model in {folder} could not be loaded ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200]}); delete it and run the fine-tune "
                         "again.") from None
    model.to(device).eval()
    return model, tok, meta


def predict_logits(model, tok, texts: list[str], max_len: int, device: str = "cpu"):
    """Logits (rows x labels) for `texts` in one forward pass, and each text's token count."""
    batch = tok([t or "" for t in texts], return_tensors="pt", padding=True, truncation=True,
                max_length=max_len)
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"].to(device),
                    attention_mask=batch["attention_mask"].to(device))
    return out.logits.float().cpu(), batch["attention_mask"].sum(1).tolist()


class SeqClsBackend(LabelPredictor):
    """A loaded encoder fine-tune or LLM head; answers like a model backend (`classify`)."""

    def __init__(self, model, tok, meta: dict, fingerprint: str, name: str, device: str):
        self.model, self.tok, self.meta, self.name = model, tok, meta, name
        self.fingerprint, self.device = fingerprint, device
        self.labels = list(meta["labels"])
        self._lock = threading.Lock()

    def classify(self, texts: list[str], batch_size: int = 16) -> list[Prediction]:
        """Predict in batches; `batch_size=1` measures each text as a request of its own."""
        out: list[Prediction] = []
        for start in range(0, len(texts), max(1, batch_size)):
            part = texts[start:start + batch_size]
            with self._lock:
                t0 = time.perf_counter()
                logits, n_tok = predict_logits(self.model, self.tok, part,
                                               int(self.meta.get("max_len", 256)), self.device)
                dt = time.perf_counter() - t0
            out += [Prediction(self.labels[i], n, dt, dt / len(part))
                    for i, n in zip(logits.argmax(1).tolist(), n_tok, strict=True)]
        return out


def fingerprint(folder: Path) -> str:
    """A short hash of what answers: the meta file and the trained weights' sizes and times."""
    h = hashlib.sha256()
    for p in sorted(Path(folder).iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


_LOADED: dict[tuple, SeqClsBackend] = {}
_LOAD_LOCK = threading.Lock()


def load_backend(ws, spec) -> SeqClsBackend:
    """The backend of a registered encoder fine-tune or LLM head, loaded once per version."""
    from core.hardware import pick_device

    folder = Path(spec.source)
    if not folder.is_dir():
        raise ModelError(f"The model folder {folder} no longer exists; delete '{spec.id}'.")
    fp = fingerprint(folder)
    with _LOAD_LOCK:
        key = (spec.id, str(folder), fp)
        if key not in _LOADED:
            base_path = None
            if spec.base_model:
                from core.models.cache import materialize

                base_path = materialize(ws.registry.get(spec.base_model), ws.settings.model_cache)
            device = pick_device(ws.settings.device)
            model, tok, meta = load(folder, base_path, device)
            _LOADED[key] = SeqClsBackend(model, tok, meta, fp, spec.id, device)
        return _LOADED[key]
