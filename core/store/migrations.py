"""Schema migrations, applied once each in this order; never edit a shipped one.

Add a new step at the end to change the schema; its name is recorded in the
database so every workspace converges to the same schema.
"""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_models",
        """
        CREATE TABLE models (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('packaged', 'hub', 'folder', 'openai', 'adapter')),
            source TEXT NOT NULL,
            base_url TEXT,
            api_key_env TEXT,
            base_model TEXT,
            price_in_per_m REAL,
            price_out_per_m REAL,
            hourly_cost REAL,
            concurrency INTEGER NOT NULL DEFAULT 1,
            trust_remote_code INTEGER NOT NULL DEFAULT 0,
            builtin INTEGER NOT NULL DEFAULT 0,
            notes TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE model_usage (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model_id TEXT NOT NULL,
            at REAL NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            cost_usd REAL,
            purpose TEXT NOT NULL DEFAULT 'test'
        )
        """,
    ),
]
