"""Services: orchestration between the HTTP edges, the caches and the repositories."""
