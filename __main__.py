"""Pulumi entry point: the whole program lives in components/program.py.

Under the engine, the registry's git sources are resolved online (and recorded in the lock file)."""
from components.program import run
from components.registry.git_sources import OnlineResolver

run(pins=OnlineResolver())
