"""Typed tools, the process runner, the nettrace reader and the trace analyses."""
