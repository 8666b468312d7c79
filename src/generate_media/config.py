"""Settings, read from the environment once at the edge and passed down.

Nothing below the server or CLI reads ``os.environ``: backends get their key and base URL from
``Settings`` through the service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Limits", "Settings", "default_output_dir", "default_state_dir"]


def default_output_dir() -> Path:
    """A folder a person can find: ~/Pictures/generate-media if ~/Pictures exists, else ~/generate-media."""
    home = Path.home()
    pictures = home / "Pictures"
    return (pictures / "generate-media") if pictures.is_dir() else (home / "generate-media")


def default_state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("generate-media", appauthor=False))


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


def _budget(env: Mapping[str, str]) -> float | None:
    if not env.get("GENERATE_MEDIA_BUDGET_USD", "").strip():
        return None
    value = _float(env, "GENERATE_MEDIA_BUDGET_USD", 0.0)
    if value < 0:
        raise ValueError(f"GENERATE_MEDIA_BUDGET_USD must be 0 or more, got {value:g}")
    return value


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Limits:
    """Every limit is configurable by env and named in the error that enforces it."""

    max_prompt_chars: int = 32_000
    max_batch: int = 32
    max_concurrent: int = 16
    max_input_files: int = 16
    max_input_bytes: int = 50 * 1024 * 1024
    max_download_bytes: int = 2 * 1024 * 1024 * 1024
    max_jobs_per_client: int = 16
    preview_bytes: int = 48 * 1024
    preview_pixels: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        return cls(
            max_prompt_chars=_int(env, "GENERATE_MEDIA_MAX_PROMPT_CHARS", cls.max_prompt_chars),
            max_batch=_int(env, "GENERATE_MEDIA_MAX_BATCH", cls.max_batch),
            max_concurrent=_int(env, "GENERATE_MEDIA_MAX_CONCURRENT", cls.max_concurrent),
            max_input_files=_int(env, "GENERATE_MEDIA_MAX_INPUT_FILES", cls.max_input_files),
            max_input_bytes=_int(env, "GENERATE_MEDIA_MAX_INPUT_BYTES", cls.max_input_bytes),
            max_download_bytes=_int(env, "GENERATE_MEDIA_MAX_DOWNLOAD_BYTES", cls.max_download_bytes),
            max_jobs_per_client=_int(env, "GENERATE_MEDIA_MAX_JOBS_PER_CLIENT", cls.max_jobs_per_client),
            preview_bytes=_int(env, "GENERATE_MEDIA_PREVIEW_BYTES", cls.preview_bytes),
        )


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Build with :meth:`from_env` (or directly in tests)."""

    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    output_dir: Path = field(default_factory=default_output_dir)
    state_dir: Path = field(default_factory=default_state_dir)
    allowed_dirs: tuple[Path, ...] = ()
    preview: bool = True
    wait_budget_s: float | None = None  # None: chosen per client (clients.py)
    poll_interval_s: float = 5.0
    job_deadline_s: float = 3600.0
    request_timeout_s: float = 120.0
    call_deadline_s: float | None = None  # None: 3 x request_timeout_s (see provider_deadline_s)
    max_retries: int = 2
    allow_http_urls: bool = False
    allow_private_urls: bool = False
    limits: Limits = field(default_factory=Limits)
    #: Spend cap in USD per principal per UTC day (list-price estimates); None: no cap.
    budget_usd: float | None = None
    #: Offer the MCP Apps viewer (ui://generate-media/viewer.html) to clients that render apps.
    viewer: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        out = env.get("GENERATE_MEDIA_OUTPUT_DIR", "").strip()
        state = env.get("GENERATE_MEDIA_STATE_DIR", "").strip()
        return cls(
            env=env,
            output_dir=Path(out).expanduser() if out else default_output_dir(),
            state_dir=Path(state).expanduser() if state else default_state_dir(),
            allowed_dirs=_paths(env.get("GENERATE_MEDIA_ALLOWED_DIRS", "")),
            preview=_flag(env, "GENERATE_MEDIA_PREVIEW", True),
            wait_budget_s=_float(env, "GENERATE_MEDIA_WAIT_BUDGET_S", 0.0)
            if env.get("GENERATE_MEDIA_WAIT_BUDGET_S", "").strip()
            else None,
            poll_interval_s=_float(env, "GENERATE_MEDIA_POLL_INTERVAL_S", 5.0),
            job_deadline_s=_float(env, "GENERATE_MEDIA_JOB_DEADLINE_S", 3600.0),
            request_timeout_s=_float(env, "GENERATE_MEDIA_REQUEST_TIMEOUT_S", 120.0),
            call_deadline_s=_float(env, "GENERATE_MEDIA_CALL_DEADLINE_S", 0.0) or None,
            max_retries=_int(env, "GENERATE_MEDIA_MAX_RETRIES", 2),
            allow_http_urls=_flag(env, "GENERATE_MEDIA_ALLOW_HTTP_URLS", False),
            allow_private_urls=_flag(env, "GENERATE_MEDIA_ALLOW_PRIVATE_URLS", False),
            limits=Limits.from_env(env),
            budget_usd=_budget(env),
            viewer=_flag(env, "GENERATE_MEDIA_VIEWER", True),
        )

    @property
    def provider_deadline_s(self) -> float:
        """The most one attempt of a provider call may take, however the provider answers.

        ``request_timeout_s`` bounds each read; a response that drips a few bytes at a time would
        never trip it, so every call also has this overall deadline (default: three read timeouts).
        """
        return self.call_deadline_s if self.call_deadline_s else 3 * self.request_timeout_s

    def get(self, name: str) -> str:
        """An env value, stripped; '' when unset."""
        return self.env.get(name, "").strip()

    def api_key(self, env_keys: tuple[str, ...]) -> str:
        return next((v for k in env_keys if (v := self.get(k))), "")

    def key_name(self, env_keys: tuple[str, ...]) -> str | None:
        return next((k for k in env_keys if self.get(k)), None)

    def secrets(self) -> list[str]:
        """Every value that must never appear in output: API keys and tokens."""
        markers = ("_API_KEY", "_TOKEN", "_SECRET")
        found = []
        for name, value in self.env.items():
            if not any(m in name for m in markers):
                continue
            found.append(value)
            if "," in value or ":" in value:  # name:token,name:token lists: each token on its own too
                found.extend(part.partition(":")[2] or part for part in value.split(","))
        return [v.strip() for v in found if len(v.strip()) >= 6]
