"""Teacher labels: a registered model labels a dataset's unlabelled rows as a new version.

`core.labelling.teacher.label_dataset` does the work (the CLI's `ladder data label` and the
Data page's background job call it); `core.labelling.store` keeps what each labelling cost,
which the comparison adds to the one-time cost of a model fine-tuned on those labels.
"""
