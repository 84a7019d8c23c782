"""How a long-running service's garbage collector is set: the startup heap exempted, the young generation wider.

A full collection scans every tracked object. A service's startup builds a large heap that lives as long as
the process (modules, the app, clients), and CPython's defaults scan it again every few hundred thousand
allocations: pauses of 100-300 ms under load, during which nothing is answered. Freezing what startup built
takes it out of every later scan, and a wider young generation makes the scans of what requests build rarer
(one per ``YOUNG_GENERATION`` allocations rather than per 700), so full collections become rare and short.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_GENERATION = 10_000


@contextlib.contextmanager
def serving_heap() -> Iterator[None]:
    """For a service's lifetime, after its startup: the collector tuned for serving, restored afterwards."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
