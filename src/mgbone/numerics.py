"""Floating-point settings every compiled model graph must share, so that a fit gives the same draws
whether its functions were compiled in this process or loaded from PyTensor's on-disk numba cache.

Root cause of cold-vs-warm differences (issue 13): PyTensor's numba backend compiles with
`fastmath=True` by default. Fast-math lets LLVM reassociate and contract floating-point arithmetic,
and how it does so depends on what is optimised together: code compiled fresh in this process
(callees inlined into one LLVM module) and the same functions loaded from the cache (linked as
separate objects) produce log densities that differ in the last bits (about 1e-14 relative here),
which NUTS amplifies into different draws. Strict IEEE semantics make both paths compute the same
numbers. Cost: measured in bench/README.md.
"""

import pytensor

STRICT_FLAGS = {"numba__fastmath": False}


def apply_strict_numerics() -> None:
    """Switch off fast-math in PyTensor's numba backend (idempotent; runs at import of mgbone.models)."""
    for name, value in STRICT_FLAGS.items():
        if getattr(pytensor.config, name) != value:
            setattr(pytensor.config, name, value)


apply_strict_numerics()
