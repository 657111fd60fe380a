"""Same-protocol wires: each native upstream kind's side of the passthrough (see
``providers.base.NativeWire``)."""
