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
    (
        "0002_datasets",
        """
        CREATE TABLE datasets (
            name TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE dataset_versions (
            dataset TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            hash TEXT NOT NULL,
            parent_hash TEXT,
            source TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            rows INTEGER NOT NULL,
            columns TEXT NOT NULL,
            input_col TEXT NOT NULL,
            target_col TEXT NOT NULL,
            context_col TEXT,
            task TEXT NOT NULL CHECK (task IN ('classification', 'scale', 'free_text')),
            created_at REAL NOT NULL,
            PRIMARY KEY (dataset, hash),
            UNIQUE (dataset, number)
        );
        CREATE TABLE dataset_splits (
            dataset TEXT NOT NULL,
            hash TEXT NOT NULL,
            val_ratio REAL NOT NULL,
            test_ratio REAL NOT NULL,
            seed INTEGER NOT NULL,
            stratified INTEGER NOT NULL,
            assignment BLOB NOT NULL,
            counts TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (dataset, hash),
            FOREIGN KEY (dataset, hash) REFERENCES dataset_versions(dataset, hash) ON DELETE CASCADE
        );
        CREATE TABLE dataset_reports (
            dataset TEXT NOT NULL,
            hash TEXT NOT NULL,
            params TEXT NOT NULL,
            report TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (dataset, hash),
            FOREIGN KEY (dataset, hash) REFERENCES dataset_versions(dataset, hash) ON DELETE CASCADE
        )
        """,
    ),
    (
        "0003_evals",
        """
        CREATE TABLE prompt_sets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            dataset TEXT,
            created_at REAL NOT NULL
        );
        CREATE TABLE prompt_versions (
            set_id INTEGER NOT NULL REFERENCES prompt_sets(id) ON DELETE CASCADE,
            variant TEXT NOT NULL,
            version INTEGER NOT NULL,
            body TEXT,
            created_at REAL NOT NULL,
            PRIMARY KEY (set_id, variant, version)
        );
        CREATE TABLE eval_cache (
            key TEXT PRIMARY KEY,
            model_id TEXT NOT NULL,
            output TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            compute_s REAL,
            cost_usd REAL,
            created_at REAL NOT NULL
        );
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            dataset TEXT NOT NULL,
            version_hash TEXT NOT NULL,
            split TEXT NOT NULL,
            model_id TEXT NOT NULL,
            config TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            total_cells INTEGER NOT NULL DEFAULT 0,
            done_cells INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE eval_cells (
            run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            model_id TEXT NOT NULL,
            variant TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            sample INTEGER NOT NULL,
            cache_key TEXT NOT NULL,
            output TEXT NOT NULL,
            parsed TEXT,
            score REAL NOT NULL,
            passed INTEGER NOT NULL,
            error_kind TEXT,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            cost_usd REAL,
            cached INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, model_id, variant, row_id, sample)
        )
        """,
    ),
    (
        "0004_jobs",
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            run_dir TEXT NOT NULL,
            command TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed',
                                                 'cancelled', 'stopped_early')),
            pid INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            result TEXT,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX jobs_kind_state ON jobs (kind, state, created_at)
        """,
    ),
    (
        "0005_knowledge_bases",
        """
        CREATE TABLE knowledge_bases (
            name TEXT PRIMARY KEY,
            collection TEXT NOT NULL,
            chunk_mode TEXT NOT NULL,
            chunk_size INTEGER NOT NULL,
            chunk_overlap INTEGER NOT NULL,
            ef_search INTEGER NOT NULL,
            revision INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE kb_documents (
            kb TEXT NOT NULL REFERENCES knowledge_bases(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            units TEXT NOT NULL,
            chunk_mode TEXT NOT NULL,
            chunk_size INTEGER NOT NULL,
            chunk_overlap INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (kb, name)
        )
        """,
    ),
    (
        "0006_dataset_given_splits",
        """
        ALTER TABLE dataset_versions ADD COLUMN given_splits TEXT NOT NULL DEFAULT '';
        ALTER TABLE dataset_versions ADD COLUMN given_assignment BLOB
        """,
    ),
    (
        "0007_classifier_models",
        # SQLite cannot change a CHECK constraint: rebuild the table with the new kind.
        """
        CREATE TABLE models_new (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('packaged', 'hub', 'folder', 'openai', 'adapter',
                                               'classifier')),
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
        INSERT INTO models_new SELECT id, kind, source, base_url, api_key_env, base_model,
            price_in_per_m, price_out_per_m, hourly_cost, concurrency, trust_remote_code, builtin,
            notes, created_at, updated_at FROM models;
        DROP TABLE models;
        ALTER TABLE models_new RENAME TO models
        """,
    ),
    (
        "0008_model_kinds_open",
        # Model kinds are registered in code (core.models.kinds), plugins included, and
        # validated there: the table keeps no list of them. SQLite cannot drop a CHECK
        # constraint, so the table is rebuilt without it.
        """
        CREATE TABLE models_new (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
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
        INSERT INTO models_new SELECT id, kind, source, base_url, api_key_env, base_model,
            price_in_per_m, price_out_per_m, hourly_cost, concurrency, trust_remote_code, builtin,
            notes, created_at, updated_at FROM models;
        DROP TABLE models;
        ALTER TABLE models_new RENAME TO models
        """,
    ),
    (
        "0009_eval_purpose",
        # Why each run was made (core/evals/purpose.py). Runs stored before this column get
        # theirs by the rules new runs follow: (model, variant) pairs make a comparison, a
        # knowledge base or a similar-examples variant a dynamic run, fine-tuned models only
        # (adapters, fully fine-tuned models, and models a fine-tune registered as a folder
        # before 0008: notes "fine-tuned from ...") a held-out check, anything else a Prompt
        # Lab run. Later UPDATEs take precedence.
        """
        ALTER TABLE eval_runs ADD COLUMN purpose TEXT NOT NULL DEFAULT 'prompt_lab';
        UPDATE eval_runs SET purpose = 'heldout_check' WHERE NOT EXISTS (
            SELECT 1 FROM json_each(eval_runs.config, '$.models') m
            WHERE m.value NOT IN (SELECT id FROM models WHERE kind IN ('adapter', 'finetuned')
                                  OR notes LIKE 'fine-tuned from %'));
        UPDATE eval_runs SET purpose = 'dynamic'
            WHERE COALESCE(json_extract(config, '$.kb'), '') != ''
            OR EXISTS (SELECT 1 FROM json_each(eval_runs.config, '$.variants') v
                       WHERE json_extract(v.value, '$.few_shot_mode') = 'similar');
        UPDATE eval_runs SET purpose = 'comparison' WHERE json_type(config, '$.pairs') = 'array';
        CREATE INDEX eval_runs_dataset_purpose ON eval_runs (dataset, purpose)
        """,
    ),
    (
        "0010_label_runs",
        # A teacher model's labelling of a dataset version's unlabelled rows
        # (core/labelling): which version it read and which it wrote, what it cost and how
        # long the model worked, the rows whose answer named no label, and how often the
        # teacher agreed with the hand labels it was checked on.
        """
        CREATE TABLE label_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset TEXT NOT NULL,
            parent_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            model_id TEXT NOT NULL,
            variant TEXT NOT NULL,
            asked INTEGER NOT NULL,
            labelled INTEGER NOT NULL,
            unparsed TEXT NOT NULL DEFAULT '[]',
            resumed INTEGER NOT NULL DEFAULT 0,
            gold INTEGER NOT NULL DEFAULT 0,
            check_rows INTEGER NOT NULL DEFAULT 0,
            check_agreement REAL,
            cost_usd REAL NOT NULL DEFAULT 0,
            model_s REAL NOT NULL DEFAULT 0,
            wall_s REAL NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE INDEX label_runs_hash ON label_runs (dataset, hash)
        """,
    ),
    (
        "0011_eval_truncated",
        # The rows whose input an evaluation cut to fit the model's context (--truncate,
        # core/evals/fit.py), as a JSON list of row ids: the run is marked, not silent.
        """
        ALTER TABLE eval_runs ADD COLUMN truncated TEXT NOT NULL DEFAULT '[]'
        """,
    ),
]
