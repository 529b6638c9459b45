"""Model registry and backends (local transformers, OpenAI-compatible HTTP)."""
