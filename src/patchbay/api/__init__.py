"""HTTP edges: the model-call edges (one per client protocol, around the pipeline) and the
admin, bots, catalog, usage and health routers."""
