"""Upstream kinds: one adapter per kind (``base.Adapter``), pure translation over an injected
transport; the native wires of ``native/`` serve same-protocol calls; ``echo`` runs in-process."""
