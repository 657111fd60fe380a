"""Runtime wiring: the long-lived resources of a running gateway, and start-up work."""
