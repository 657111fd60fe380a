"""The request pipeline: authorize, limit, admit, route with failover, call, settle."""
