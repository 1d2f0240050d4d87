"""Give large allocations back to the system (glibc only).

Each login hashes with Argon2id at 19 MiB. glibc raises its mmap threshold
dynamically after the first such block is freed, so later 19 MiB blocks
come from per-thread heap arenas and stay with the process: 100 logins at
concurrency 8 took daphne from 107 MiB to 342 MiB. A fixed threshold of
1 MiB keeps every large block in its own mapping, returned on free
(114 MiB after the same logins). The same as MALLOC_MMAP_THRESHOLD_=1048576,
but it holds however the server is started.

The price: every hash maps and faults in fresh pages, so logins are ~24 %
slower (51 -> 39 per second on 2 cores). Logins are not a hot path and a
quarter of a gigabyte matters on the small machines Pan runs on;
MALLOC_ARENA_MAX=2 was the middle way (44 per second, 189 MiB).
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
