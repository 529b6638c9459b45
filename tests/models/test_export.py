"""GGUF export: tiny Llama and Gemma 3 models written and read back by transformers' GGUF
loader (which undoes llama.cpp's conventions), the Modelfile, and the CLI's refusals.

The tiny models take their tokenizer from a cut-down copy of the packaged file (its first
SMALL_VOCAB tokens, no tensors): write_gguf reads only the metadata of its source, and every
read of a file with Gemma's 262,144 tokens costs about 30 s here (three per round trip)."""

from __future__ import annotations

import json

import pytest
import torch

from core.cli import main
from core.models.export import write_gguf
from core.models.packaged import locate_gguf
from tests.conftest import MODEL_CACHE
from tests.evals.conftest import tiny_model  # noqa: F401  (fixture)

SCRATCH = MODEL_CACHE / "_gguf"  # an assembled Gemma file is shared with the other tests

SMALL_VOCAB = 4096  # holds the special tokens of both families (Gemma's turn markers: 105, 106)
_SOURCES: dict[str, object] = {}


def _small_source(model_id: str):
    """The packaged GGUF's metadata with the vocabulary cut to SMALL_VOCAB, written once."""
    if model_id in _SOURCES:
        return _SOURCES[model_id]
    import gguf

    reader = gguf.GGUFReader(str(locate_gguf(model_id, SCRATCH)))
    arch = reader.fields["general.architecture"].contents()
    SCRATCH.mkdir(parents=True, exist_ok=True)  # SmolLM2 needs no assembling: not made yet
    out = SCRATCH / f"small-{model_id}.gguf"
    writer = gguf.GGUFWriter(str(out), arch)
    kept: set[str] = set()
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        if vtype != gguf.GGUFValueType.ARRAY:
            value = SMALL_VOCAB if key == f"{arch}.vocab_size" else field.contents()
            writer.add_key_value(key, value, vtype)
            continue
        value = list(field.contents())
        if key.startswith("tokenizer.ggml.") and key != "tokenizer.ggml.merges":
            value = value[:SMALL_VOCAB]
            if key == "tokenizer.ggml.tokens":
                kept = set(value)
        elif key == "tokenizer.ggml.merges":  # read after the tokens in both files
            value = [m for m in value if m.replace(" ", "") in kept
                     and all(part in kept for part in m.split(" "))]
        writer.add_key_value(key, value, vtype, sub_type=field.types[-1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    _SOURCES[model_id] = out
    return out


def _read_back(folder, name):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=name,
                                                dtype=torch.float32).eval()


def _logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def _tiny_llama(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=SMALL_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        tie_word_embeddings=False)).eval()


@pytest.mark.parametrize("quant,atol", [("f16", 2e-3), ("q8_0", 5e-2)])
def test_a_llama_round_trips_through_gguf(tmp_path, quant, atol):
    src = _small_source("smollm2-135m-instruct")
    model = _tiny_llama()
    out = write_gguf(model, src, tmp_path / "out", quant, "tiny+run")
    assert out.path.name == f"tiny-run.{quant}.gguf" and out.size_bytes > 0
    back = _read_back(tmp_path / "out", out.path.name)
    ids = [1, 400, 2000, 31, 7, 999, 4000, 5]
    a, b = _logits(model, ids), _logits(back, ids)
    # a wrong q/k layout (llama.cpp's rotary order) would move these far apart
    assert torch.allclose(a, b, atol=atol), float((a - b).abs().max())
    if quant == "f16":  # Q8_0's error can swap a random model's near-tied top tokens
        assert (a.argmax(-1) == b.argmax(-1)).all()
    # the tokenizer and chat template came from the source file
    from gguf import GGUFReader

    fields = GGUFReader(str(out.path)).fields
    assert len(fields["tokenizer.ggml.tokens"].data) == SMALL_VOCAB
    assert fields["general.name"].contents() == "tiny+run"
    assert fields["llama.embedding_length"].contents() == 64  # from the model, not the source
    modelfile = out.modelfile.read_text()
    assert modelfile.startswith(f"FROM ./{out.path.name}")
    assert "<|im_start|>assistant" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile


def test_q4_0_is_smaller_and_keeps_embeddings_at_8_bits(tmp_path):
    from gguf import GGMLQuantizationType as T
    from gguf import GGUFReader

    src = _small_source("smollm2-135m-instruct")
    model = _tiny_llama()
    q8 = write_gguf(model, src, tmp_path / "a", "q8_0", "m")
    q4 = write_gguf(model, src, tmp_path / "b", "q4_0", "m")
    assert q4.size_bytes < q8.size_bytes
    types = {t.name: t.tensor_type for t in GGUFReader(str(q4.path)).tensors}
    assert types["token_embd.weight"] == T.Q8_0 and types["blk.0.ffn_up.weight"] == T.Q4_0
    assert types["blk.0.attn_norm.weight"] == T.F32


@pytest.mark.slow
def test_a_gemma3_round_trips_through_gguf(tmp_path):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    src = _small_source("gemma3-270m")
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=SMALL_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=32, max_position_embeddings=256,
        sliding_window=16)).eval()
    with torch.no_grad():  # norms away from zero, so the 1 + w convention is tested
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(-0.5, 0.5)
    out = write_gguf(model, src, tmp_path / "out", "f16", "tiny-gemma")
    back = _read_back(tmp_path / "out", out.path.name)
    ids = [2, 100, 3000, 4000, 9, 42]
    a, b = _logits(model, ids), _logits(back, ids)
    assert torch.allclose(a, b, atol=5e-3), float((a - b).abs().max())
    assert "<start_of_turn>model" in out.modelfile.read_text()


def test_the_cli_refuses_what_it_cannot_export(ws, tiny_model, tmp_path, capsys):  # noqa: F811
    from core.models.registry import build_spec

    ws.registry.add(build_spec(id="clf", kind="classifier", source=str(tmp_path),
                               hourly_cost=0.0))
    cases = [
        (["models", "export", "ghost", "--out", str(tmp_path / "o")], "Unknown model 'ghost'"),
        (["models", "export", "clf", "--out", str(tmp_path / "o")], "label predictor"),
        (["models", "export", tiny_model, "--quant", "q3_k", "--out", str(tmp_path / "o")],
         "unknown quantization 'q3_k'"),
        (["models", "export", tiny_model, "--format", "onnx", "--out", str(tmp_path / "o")],
         "unknown format 'onnx'"),
        (["models", "export", tiny_model, "--out", str(tmp_path / "o")],
         "does not descend from a GGUF file"),
    ]
    (tmp_path / "file").write_text("x")
    cases.append((["models", "export", tiny_model, "--out", str(tmp_path / "file")],
                  "is a file"))
    for argv, needle in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.precision
@pytest.mark.slow
def test_an_adapter_of_smollm2_exports_merged_and_answers_alike(ws, tmp_path, capsys):
    """A LoRA adapter on the packaged SmolLM2, exported as Q8_0 through the CLI, read back:
    the same greedy next token as the in-process adapter on most prompts."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.cache import materialize
    from core.models.registry import build_spec

    base_dir = materialize(ws.registry.get("smollm2-135m-instruct"), ws.settings.model_cache)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    torch.manual_seed(0)
    peft = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj", "up_proj"],
                                            init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft.save_pretrained(adapter)
    ws.registry.add(build_spec(id="smol+lora", kind="adapter", source=str(adapter),
                               base_model="smollm2-135m-instruct", hourly_cost=0.0))
    assert main(["models", "export", "smol+lora", "--out", str(tmp_path / "gguf"), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["quant"] == "q8_0" and rec["path"].endswith("smol-lora.q8_0.gguf")
    back = _read_back(tmp_path / "gguf", "smol-lora.q8_0.gguf")
    merged = peft.merge_and_unload().eval()
    tok = AutoTokenizer.from_pretrained(base_dir)
    prompts = ["The capital of France is", "def add(a, b):\n    return", "Monday, Tuesday,",
               "1, 2, 3, 4,", "The opposite of hot is", "Hello, my name",
               "Water boils at", "The cat sat on the"]
    same = 0
    for p in prompts:
        ids = tok(p).input_ids
        same += int(_logits(merged, ids)[-1].argmax() == _logits(back, ids)[-1].argmax())
    assert same >= 7, same  # Q8_0: the same next token nearly everywhere


def test_the_models_page_exports_or_says_why_not(ws, tiny_model):  # noqa: F811
    from tests.conftest import open_app

    at = open_app("views/models.py")
    box = at.selectbox(key="export_model")
    assert {"smollm2-135m-instruct", "gemma3-270m", tiny_model} <= set(box.options)
    box.set_value(tiny_model).run()
    at.button(key="export_go").click().run()
    assert not at.exception, at.exception
    assert any("does not descend from a GGUF file" in e.value for e in at.error)
    assert not (ws.settings.root / "exports" / tiny_model).exists() or not any(
        (ws.settings.root / "exports" / tiny_model).iterdir())
