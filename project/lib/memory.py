"""Give large allocations back to the system (glibc only).

Each login hashes with Argon2id at 19 MiB. glibc raises its mmap threshold
dynamically after the first such block is freed, so later 19 MiB blocks
come from per-thread heap arenas and stay with the process: 100 logins at
concurrency 8 took daphne from 107 MiB to 342 MiB. A fixed threshold of
1 MiB keeps every large block in its own mapping, returned on free
(114 MiB after the same logins). The same as MALLOC_MMAP_THRESHOLD_=1048576,
but it holds however the server is started.
"""

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
THRESHOLD = 1024 * 1024


def release_large_allocations() -> bool:
    """Set glibc's mmap threshold; False where there is no glibc mallopt."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError):
        return False
