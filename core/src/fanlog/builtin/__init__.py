"""Backends that ship with core, registered through the same entry-point group as any plugin."""
