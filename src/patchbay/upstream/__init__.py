"""The only code that opens sockets to upstream providers."""
