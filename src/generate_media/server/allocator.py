"""The C allocator of a server process, set for its work: megabytes allocated and freed by every call.

A call holds a few large buffers for a moment: the provider's answer (1.4 MB for a 1 MB image), the
decoded image, Pillow's pixels for the preview. glibc's malloc hands such memory back to the kernel
as soon as it is freed (a buffer above its mmap threshold is a mapping of its own, unmapped when
freed; the free top of a heap above 128 KiB is trimmed), so the next call's buffers land on pages the
kernel must find and clear again. On a virtual machine that costs far more than reuse: on this
project's 2-vCPU KVM machines, writing 1 MiB into fresh memory takes ~4 ms, into reused memory
~0.3 ms, and the per-call overhead of a 1 MB image fell from 10-15 ms to 7-8 ms with the settings
below (bench/README.md, "the allocator").

So once a client is in session (``ctypes`` costs ~4 ms to import: never on the startup path), the
server keeps up to :data:`KEEP_FREE` of freed memory per heap for reuse, takes buffers up to
:data:`FROM_HEAP` from its heaps rather than from mappings of their own, and uses at most
:data:`ARENAS` heaps (each thread would otherwise get one, up to 8 per core, each keeping its own
free memory). Not when the environment sets glibc's allocator already (``MALLOC_*`` variables,
``GLIBC_TUNABLES=glibc.malloc...``) or turns this off (``GENERATE_MEDIA_KEEP_FREED_MEMORY=0``, read
by the caller). Other C libraries (macOS, musl) are left alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["ARENAS", "FROM_HEAP", "KEEP_FREE", "glibc", "keep_freed_memory"]

log = logging.getLogger("generate_media.server")

KEEP_FREE = 16 << 20
FROM_HEAP = 8 << 20
ARENAS = 2
#: mallopt's parameter numbers (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


def glibc() -> bool:
    """Whether this process runs on glibc (whose allocator this module sets)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, OSError, ValueError):  # no confstr (Windows), or no such name (macOS, musl)
        return False


def keep_freed_memory(env: Mapping[str, str]) -> bool:
    """Set glibc's allocator as described above; False when left alone (another C library, or
    allocator settings in ``env``, the server's environment as ``Settings.env`` holds it)."""
    chosen = [
        name
        for name, value in env.items()
        if name.startswith("MALLOC_") or (name == "GLIBC_TUNABLES" and "glibc.malloc" in value)
    ]
    if chosen:
        log.debug("allocator: left as %s set it", ", ".join(sorted(chosen)))
        return False
    if not glibc():
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):  # no mallopt where glibc says it is (a stripped build)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    done = all(
        mallopt(param, value)
        for param, value in ((_M_ARENA_MAX, ARENAS), (_M_MMAP_THRESHOLD, FROM_HEAP), (_M_TRIM_THRESHOLD, KEEP_FREE))
    )
    log.debug("allocator: freed memory kept for reuse (up to %d MiB a heap): %s", KEEP_FREE >> 20, done)
    return done
