"""Kept for code that imports `minigrad.viz`: the module is now `minigrad.see.draw`."""
from .see.draw import *  # noqa: F401,F403
