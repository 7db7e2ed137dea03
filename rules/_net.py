"""OPS5xx knowledge: network clients, their timeout parameters, URL classification."""
