"""Kept for code that imports `minigrad.explain`: the module is now `minigrad.see.explain`."""
from .see.explain import *  # noqa: F401,F403
