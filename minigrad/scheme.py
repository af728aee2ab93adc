"""Kept for code that imports `minigrad.scheme`: the module is now `minigrad.see.scheme`."""
from .see.scheme import *  # noqa: F401,F403
