"""What a finished run hands over: the adapter as a zip, or base and adapter merged into
one ordinary model folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.hf import loading


def export_merged(ws, run_dir: Path, base_path: str, out: Path | None = None) -> Path:
    """Base + adapter merged into one ordinary model folder (RUN_DIR/merged by default)."""
    import torch

    adapter = Path(run_dir) / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise ValueError(f"{adapter} holds no finished adapter; wait for the run to succeed.")
    out = Path(out or Path(run_dir) / "merged")
    with loading():
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32,
                                                    use_safetensors=True)
        merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(out)
    return out


def adapter_zip(run_dir: Path) -> Path:
    """RUN_DIR/adapter.zip: the PEFT adapter folder, for download; for a run that trained a
    label predictor (an encoder or a classification head), RUN_DIR/model.zip: its model
    folder."""
    run_dir = Path(run_dir)
    folder = run_dir / "adapter"
    if not (folder / "adapter_config.json").exists():
        if (run_dir / "model" / "seqcls.json").exists():
            folder = run_dir / "model"
        else:
            raise ValueError(f"{folder} holds no finished adapter; wait for the run to succeed.")
    out = run_dir / f"{folder.name}.zip"
    newest = max(p.stat().st_mtime for p in folder.rglob("*"))
    if out.exists() and out.stat().st_mtime >= newest:
        return out
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder))
