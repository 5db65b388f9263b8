"""Seeds that depend only on the config, never on process order or Python's salted hash()."""

import hashlib


def stable_seed(base_seed: int, *names: str) -> int:
    """A 31-bit seed from the config seed and names (analysis, purpose) via SHA-256."""
    text = ":".join([str(int(base_seed)), *names])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF
