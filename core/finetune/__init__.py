"""Fine-tuning (rung 4): run settings, training worker, alarms, before/after results.

    cfg = build_config("smollm2-135m-instruct", "support-tickets", "quick", {"lr": 5e-4})
    started = service.start(ws, cfg)      # validates, estimates, queues a background job
    service.get_run(ws, started.run_id)   # status, pid, adapter_path, model_id, before, after

The worker (`python -m core.finetune.worker RUN_DIR`) is a `core.jobs` job.
"""

from core.finetune.config import (
    PRESETS,
    FinetuneConfig,
    FinetuneError,
    build_config,
    parse_sets,
)

__all__ = ["PRESETS", "FinetuneConfig", "FinetuneError", "build_config", "parse_sets"]
