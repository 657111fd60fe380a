"""The model catalog: the in-memory catalog the request path reads (models, routes, providers,
bots), who may see and call what, the rendered lists, and the writes behind the admin API, the
bots API and the TOML file."""
