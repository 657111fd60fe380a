"""What the gateway tells its operators: Prometheus metrics (``metrics``; several workers
share one directory, ``multiproc``), one log line per request in text or JSON (``logs``), and
each request's id and timings (``trace``), recorded by ``instrument``.

Nothing here imports the layers above; ``instrument`` wraps the running gateway's meter,
transport and settlement writer by their duck types.
"""
