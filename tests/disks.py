"""Servers that meet real disk failures: a file size limit (any user) and, where unprivileged user
and mount namespaces work, a small tmpfs or a read-only bind mount. Shared by tests/test_storage.py
and bench/hostile.py."""

from __future__ import annotations

import shutil
import subprocess
import sys

from mcp import StdioServerParameters

__all__ = ["namespaces_work", "with_file_size_limit"]


def with_file_size_limit(env: dict[str, str], limit: int) -> StdioServerParameters:
    """``python -m generate_media`` whose writes past ``limit`` bytes fail with EFBIG (``RLIMIT_FSIZE``)."""
    start = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "os.execv(sys.executable, [sys.executable, '-m', 'generate_media'])"
    )
    # No bytecode writes: a write cut short at the limit would leave a truncated .pyc behind.
    return StdioServerParameters(
        command=sys.executable, args=["-c", start], env={**env, "PYTHONDONTWRITEBYTECODE": "1"}
    )


def namespaces_work() -> bool:
    """Whether ``unshare`` can give an unprivileged process its own user and mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]
    return subprocess.run(probe, capture_output=True, timeout=20, check=False).returncode == 0
