"""Embedding engines side by side: torch (fp32, bf16) against ONNX Runtime and its variants.

Run: `flock /tmp/ladder-heavy.lock .venv/bin/python bench/embeddings.py [--texts N] [--chunks N]`.
The texts are the distinct inputs of bench/quality.py's 50,000 synthetic tickets and the chunks
are bench/retrieval.py's 20,000 paragraphs (60-110 MiniLM tokens); `--texts`/`--chunks` take the
first N of each (the full sets cost ~15 min per engine on 2 AVX2 cores, so the default is a
sample of both). Every engine encodes the same texts, sorted by length as `core.embeddings.embed`
does. The reference is torch fp32; agreement is the largest absolute difference of cosine
similarity over 1,000 pairs (500 random pairs across texts and chunks, 500 nearest-neighbour
pairs among the texts, the pairs a near-duplicate threshold decides on). An engine qualifies when
that difference is below 0.01. Then the levers on the ONNX engine: length sorting, batch size,
threads. Prints the tables and writes the "Embeddings (issue 13)" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from bench._results import write_section  # noqa: E402

TOLERANCE = 0.01


def quality_texts(n: int) -> list[str]:
    from bench.quality import make_csv

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        make_csv(path, 50_000)
        with path.open(encoding="utf-8") as f:
            texts = [row["text"].strip() for row in csv.DictReader(f)]
    return list(dict.fromkeys(texts))[:n]


def chunk_texts(n: int) -> list[str]:
    from bench.retrieval import corpus

    docs, _ = corpus(n)
    return [p for d in docs for p in d.units[0].split("\n\n")][:n]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def by_length(encode, texts: list[str], sort: bool = True) -> np.ndarray:
    """Encode in length order (or as given), return unit vectors in the input order."""
    order = sorted(range(len(texts)), key=lambda k: len(texts[k])) if sort else range(len(texts))
    order = list(order)
    out = np.empty((len(texts), 384), dtype=np.float32)
    out[order] = encode([texts[k] for k in order])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def timed(encode, texts, sort=True):
    t = time.perf_counter()
    vecs = by_length(encode, texts, sort)
    return vecs, len(texts) / (time.perf_counter() - t)


def torch_encoder(dtype: str, threads: int = 2, batch: int = 128):
    import torch
    from sentence_transformers import SentenceTransformer

    from core.embeddings import model_path

    torch.set_num_threads(threads)
    model = SentenceTransformer(model_path(), device="cpu")
    if dtype == "bf16":
        model.to(torch.bfloat16)

    def encode(texts):
        with torch.inference_mode():
            return model.encode(texts, batch_size=batch, convert_to_numpy=True,
                                show_progress_bar=False).astype(np.float32)
    return encode


def onnx_encoder(variant: str, cache: Path, threads: int = 2, batch: int = 64):
    from core import embedding_onnx as eo
    from core.embeddings import model_path

    t = time.perf_counter()
    path = eo.materialize(variant, cache, model_path())
    build_s = time.perf_counter() - t
    enc = eo.OnnxEncoder(path, eo.cache_dir(cache) / "tokenizer.json", threads=threads)
    return (lambda texts: enc.encode(texts, batch_size=batch)), build_s


class Pairs:
    """1,000 pairs and the fp32 reference cosines."""

    def __init__(self, ref_texts: np.ndarray, ref_chunks: np.ndarray, seed: int = 0):
        rng = np.random.default_rng(seed)
        both = np.vstack([ref_texts, ref_chunks])
        self.a, self.b = rng.integers(0, len(both), 500), rng.integers(0, len(both), 500)
        head = ref_texts[:2000]
        sims = head @ head.T
        np.fill_diagonal(sims, -1)
        self.near_a = np.arange(min(500, len(head)))
        self.near_b = sims.argmax(1)[:len(self.near_a)]
        self.ref = self.cosines(ref_texts, ref_chunks)

    def cosines(self, texts: np.ndarray, chunks: np.ndarray) -> np.ndarray:
        both = np.vstack([texts, chunks])
        rand = (both[self.a] * both[self.b]).sum(1)
        near = (texts[self.near_a] * texts[self.near_b]).sum(1)
        return np.concatenate([rand, near])

    def max_diff(self, texts: np.ndarray, chunks: np.ndarray) -> float:
        return float(np.abs(self.cosines(texts, chunks) - self.ref).max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=3000)
    ap.add_argument("--chunks", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--bf16-share", type=float, default=0.2,
                    help="share of the sample for torch bf16 on a CPU without native bf16")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from core.embedding_onnx import VARIANTS
    from core.embeddings import ONNX_VARIANT
    from core.hardware import cpu_supports_bf16
    from core.retrieval import count_tokens

    load0 = os.getloadavg()[0]
    t_all = time.perf_counter()
    texts, chunks = quality_texts(args.texts), chunk_texts(args.chunks)
    tok_t, tok_c = np.array(count_tokens(texts)), np.array(count_tokens(chunks))
    print(f"{len(texts)} texts ({tok_t.mean():.0f} tokens avg), {len(chunks)} chunks "
          f"({tok_c.mean():.0f} tokens avg)", flush=True)
    cache = Path(tempfile.mkdtemp(prefix="ladder-emb-")) / "models"
    rows: list[dict] = []

    engines = {"torch fp32 (sentence-transformers)": (torch_encoder("fp32"), None, None)}
    for name, variant in VARIANTS.items():
        enc, build_s = onnx_encoder(name, cache)
        engines[f"ONNX Runtime {name} ({variant.about})"] = (enc, build_s, name)
    best_rate: dict[str, list[float]] = {k: [0.0, 0.0] for k in engines}
    vecs: dict[str, tuple] = {}
    for rnd in range(args.rounds):  # interleaved rounds, best of each: other jobs come and go
        for label, (enc, _, _) in engines.items():
            enc(["warm up"])
            ot, r1 = timed(enc, texts)
            oc, r2 = timed(enc, chunks)
            vecs[label] = (ot, oc)
            best_rate[label] = [max(best_rate[label][0], r1), max(best_rate[label][1], r2)]
            print(f"round {rnd + 1} {label}: {r1:.0f} texts/s, {r2:.0f} chunks/s", flush=True)
    ref_label = next(iter(engines))
    vt, vc = vecs[ref_label]
    pairs = Pairs(vt, vc)
    for label, (_, build_s, name) in engines.items():
        rows.append({"engine": label, "texts": best_rate[label][0],
                     "chunks": best_rate[label][1], "diff": pairs.max_diff(*vecs[label]),
                     "build": build_s, "name": name})

    native = cpu_supports_bf16()
    share = 1.0 if native else args.bf16_share
    nt, nc = max(1, int(len(texts) * share)), max(1, int(len(chunks) * share))
    enc = torch_encoder("bf16")
    enc(["warm up"])
    bt, brt = timed(enc, texts[:nt])
    bc, brc = timed(enc, chunks[:nc])
    sub, ref = np.vstack([bt[:400], bc[:100]]), np.vstack([vt[:min(nt, 400)], vc[:min(nc, 100)]])
    diff = float(np.abs(sub @ sub.T - ref @ ref.T).max())  # every pair of the subset
    rows.insert(1, {"engine": "torch bf16" + ("" if native else f" (no native bf16 on this CPU; "
                                              f"first {share:.0%} of each set, one round)"),
                    "texts": brt, "chunks": brc, "diff": diff, "build": None})
    print(f"torch bf16: {brt:.0f} texts/s, {brc:.0f} chunks/s", flush=True)

    ok = [r for r in rows if r["diff"] < TOLERANCE]
    best = max(ok, key=lambda r: r["texts"] + r["chunks"] * 2)  # chunks weigh their tokens
    used = next(r for r in rows if r.get("name") == ONNX_VARIANT)

    # levers on the engine in use, on half of each sample
    n_texts, n_chunks = len(texts), len(chunks)
    texts, chunks = texts[:len(texts) // 2], chunks[:len(chunks) // 2]
    levers = []
    for label, kw, sort in (("length-sorted, batch 64, 2 threads (default)", {}, True),
                            ("unsorted (input order)", {}, False),
                            ("batch 16", {"batch": 16}, True), ("batch 32", {"batch": 32}, True),
                            ("batch 128", {"batch": 128}, True), ("batch 256", {"batch": 256}, True),
                            ("1 thread", {"threads": 1}, True)):
        enc, _ = onnx_encoder(ONNX_VARIANT, cache, **kw)
        enc(["warm up"])
        _, r1 = timed(enc, texts, sort)
        _, r2 = timed(enc, chunks, sort)
        levers.append((f"ONNX {ONNX_VARIANT}, {label}", r1, r2))
        print(f"lever {label}: {r1:.0f} texts/s, {r2:.0f} chunks/s", flush=True)
    enc = torch_encoder("fp32", threads=1)
    _, r1 = timed(enc, texts)
    _, r2 = timed(enc, chunks)
    levers.append(("torch fp32, 1 thread (torch.set_num_threads)", r1, r2))
    load1 = os.getloadavg()[0]

    base = rows[0]
    table = "\n".join(
        f"| {r['engine']} | {r['texts']:.0f} | {r['texts'] / base['texts']:.2f}x | "
        f"{r['chunks']:.0f} | {r['chunks'] / base['chunks']:.2f}x | "
        + f"{r['diff']:.4f}" + (" ✓" if r in ok else "") + " | "
        + (f"{r['build']:.1f}" if r.get("build") is not None else "") + " |" for r in rows)
    lever_rows = "\n".join(f"| {name} | {a:.0f} | {b:.0f} |" for name, a, b in levers)
    over = int((tok_t > 254).sum() + (tok_c > 254).sum())
    tok_mean = float(np.concatenate([tok_t, tok_c]).mean())
    gflop = 2 * 10.6e6 * (tok_t.mean() + 2) * best["texts"] / 1e9
    body = f"""{n_texts:,} texts (the first distinct inputs of bench/quality.py's 50,000 tickets,
{tok_t.mean():.0f} tokens on average) and {n_chunks:,} chunks (bench/retrieval.py's corpus,
{tok_c.mean():.0f} tokens on average), each encoded by every engine in length order, best of {args.rounds} interleaved rounds. Agreement:
max |cosine - fp32 cosine| over 1,000 pairs (500 random, 500 nearest neighbours); ✓ = within
{TOLERANCE} (torch bf16: every pair among 400 of its texts and 100 of its chunks). 1-minute load average {load0:.1f} at the start and {load1:.1f} at the end (2 cores:
above 2, other jobs were sharing the machine). Bench wall time {time.perf_counter() - t_all:.0f} s.

| engine | texts/s | vs torch fp32 | chunks/s | vs torch fp32 | max cosine diff | export/build s |
|---|---|---|---|---|---|---|
{table}

Fastest within {TOLERANCE}: **{best['engine']}** ({best['texts']:.0f} texts/s, {best['chunks']:.0f}
chunks/s); `core.embeddings` uses ONNX `{ONNX_VARIANT}` ({used['texts']:.0f} texts/s, {used['chunks']:.0f}
chunks/s, max cosine difference {used['diff']:.4f}) on CPUs without native bf16 and torch on GPUs and on AVX-512 BF16 / AMX CPUs (where bf16 ran
517 texts/s in the earlier quality report, and ONNX Runtime's fp32 kernels cannot use AMX).

The figures the issue started from (quality report 108 s, 517 texts/s; ingest 113 chunks/s) were
measured on a 2-core Intel Xeon with AMX, where `auto` keeps torch in bf16. This CPU
({cpu_name()}) has {"native bf16" if native else "no AVX-512 / bf16 instructions"}: torch runs fp32 here ({rows[0]['texts']:.0f}
texts/s, {rows[0]['chunks']:.0f} chunks/s), so the quality and retrieval sections above ran on the
engine `auto` picks for this CPU and are not comparable to the Xeon's figures.

Levers ({len(texts):,} texts, {len(chunks):,} chunks; texts/s, chunks/s):

| setting | texts/s | chunks/s |
|---|---|---|
{lever_rows}

Truncation to max_seq_length (256 tokens with [CLS]/[SEP]) touches {over} of these texts: the
tickets and chunks are all shorter ({tok_mean:.0f} tokens on average), so it is not a lever here.
Dynamic int8 is the fastest engine but moves cosines by several hundredths, past the 0.01 bar, with
every preset, so it is not used. The targets (1,000 texts/s for a 60 s report; 300 chunks/s) are
out of reach of fp32 on this CPU: MiniLM costs ~21 MFLOP a token, so {best['texts']:.0f} texts/s
is already ~{gflop:.0f} GFLOP/s of a ~190 GFLOP/s two-core AVX2 FMA peak. A GPU (used automatically)
or a CPU with AMX closes the gap; the per-version vector cache makes every later report on the
same version skip embedding."""
    print(body)
    if not args.no_write:
        write_section("Embeddings (issue 13)", body)


if __name__ == "__main__":
    main()
