"""HTTP edges: thin routers that parse, call services and render."""
