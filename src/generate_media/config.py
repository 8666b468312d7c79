"""Settings, read from the environment once at the edge and passed down.

Nothing below the server or CLI reads ``os.environ``: backends get their key and base URL from
``Settings`` through the service. Every variable's name and default is declared once in
``settings.py`` (a backend's own on its ``BackendSpec``); TOOL.md's settings tables come from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import settings as declared
from .settings import Setting

__all__ = ["Limits", "Settings", "default_output_dir", "default_state_dir"]


def default_output_dir() -> Path:
    """A folder a person can find: ~/Pictures/generate-media if ~/Pictures exists, else ~/generate-media."""
    home = Path.home()
    pictures = home / "Pictures"
    return (pictures / "generate-media") if pictures.is_dir() else (home / "generate-media")


def default_state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("generate-media", appauthor=False))


def _number(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    try:
        return float(raw) if raw else None
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _float(env: Mapping[str, str], setting: Setting[float]) -> float:
    value = _number(env, setting.name)
    return setting.default if value is None else value


def _optional_float(env: Mapping[str, str], setting: Setting[float | None]) -> float | None:
    value = _number(env, setting.name)
    return setting.default if value is None else value


def _int(env: Mapping[str, str], setting: Setting[int]) -> int:
    value = _number(env, setting.name)
    return setting.default if value is None else int(value)


def _flag(env: Mapping[str, str], setting: Setting[bool]) -> bool:
    raw = env.get(setting.name, "").strip().lower()
    if not raw:
        return setting.default
    return raw in ("1", "true", "yes", "on")


def _budget(env: Mapping[str, str]) -> float | None:
    value = _optional_float(env, declared.BUDGET_USD)
    if value is not None and value < 0:
        raise ValueError(f"{declared.BUDGET_USD.name} must be 0 or more, got {value:g}")
    return value


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class Limits:
    """Every limit is configurable by env and named in the error that enforces it."""

    max_prompt_chars: int = declared.MAX_PROMPT_CHARS.default
    max_batch: int = declared.MAX_BATCH.default
    max_concurrent: int = declared.MAX_CONCURRENT.default
    max_input_files: int = declared.MAX_INPUT_FILES.default
    max_input_bytes: int = declared.MAX_INPUT_BYTES.default
    max_download_bytes: int = declared.MAX_DOWNLOAD_BYTES.default
    max_jobs_per_client: int = declared.MAX_JOBS_PER_CLIENT.default
    preview_bytes: int = declared.PREVIEW_BYTES.default
    preview_pixels: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        return cls(
            max_prompt_chars=_int(env, declared.MAX_PROMPT_CHARS),
            max_batch=_int(env, declared.MAX_BATCH),
            max_concurrent=_int(env, declared.MAX_CONCURRENT),
            max_input_files=_int(env, declared.MAX_INPUT_FILES),
            max_input_bytes=_int(env, declared.MAX_INPUT_BYTES),
            max_download_bytes=_int(env, declared.MAX_DOWNLOAD_BYTES),
            max_jobs_per_client=_int(env, declared.MAX_JOBS_PER_CLIENT),
            preview_bytes=_int(env, declared.PREVIEW_BYTES),
        )


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Build with :meth:`from_env` (or directly in tests)."""

    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    output_dir: Path = field(default_factory=default_output_dir)
    state_dir: Path = field(default_factory=default_state_dir)
    allowed_dirs: tuple[Path, ...] = ()
    preview: bool = declared.PREVIEW.default
    wait_budget_s: float | None = None  # None: chosen per client (clients.py)
    poll_interval_s: float = declared.POLL_INTERVAL_S.default
    job_deadline_s: float = declared.JOB_DEADLINE_S.default
    job_lease_s: float = declared.JOB_LEASE_S.default
    #: The state database URL (``GENERATE_MEDIA_DATABASE_URL``); empty: SQLite in ``state_dir``.
    database_url: str = ""
    request_timeout_s: float = declared.REQUEST_TIMEOUT_S.default
    call_deadline_s: float | None = None  # None: 3 x request_timeout_s (see provider_deadline_s)
    max_retries: int = declared.MAX_RETRIES.default
    allow_http_urls: bool = declared.ALLOW_HTTP_URLS.default
    allow_private_urls: bool = declared.ALLOW_PRIVATE_URLS.default
    limits: Limits = field(default_factory=Limits)
    #: Spend cap in USD per principal per UTC day (list-price estimates); None: no cap.
    budget_usd: float | None = None
    #: Offer the MCP Apps viewer (ui://generate-media/viewer.html) to clients that render apps.
    viewer: bool = declared.VIEWER.default
    #: Build the keyed backends' clients in the background once a client has listed the tools.
    warm_up: bool = declared.WARM_UP.default
    keep_freed_memory: bool = declared.KEEP_FREED_MEMORY.default

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        out = env.get(declared.OUTPUT_DIR.name, "").strip()
        state = env.get(declared.STATE_DIR.name, "").strip()
        return cls(
            env=env,
            output_dir=Path(out).expanduser() if out else default_output_dir(),
            state_dir=Path(state).expanduser() if state else default_state_dir(),
            allowed_dirs=_paths(env.get(declared.ALLOWED_DIRS.name, "")),
            preview=_flag(env, declared.PREVIEW),
            wait_budget_s=_optional_float(env, declared.WAIT_BUDGET_S),
            poll_interval_s=_float(env, declared.POLL_INTERVAL_S),
            job_deadline_s=_float(env, declared.JOB_DEADLINE_S),
            job_lease_s=_float(env, declared.JOB_LEASE_S),
            database_url=env.get(declared.DATABASE_URL.name, "").strip(),
            request_timeout_s=_float(env, declared.REQUEST_TIMEOUT_S),
            call_deadline_s=_optional_float(env, declared.CALL_DEADLINE_S) or None,
            max_retries=_int(env, declared.MAX_RETRIES),
            allow_http_urls=_flag(env, declared.ALLOW_HTTP_URLS),
            allow_private_urls=_flag(env, declared.ALLOW_PRIVATE_URLS),
            limits=Limits.from_env(env),
            budget_usd=_budget(env),
            viewer=_flag(env, declared.VIEWER),
            warm_up=_flag(env, declared.WARM_UP),
            keep_freed_memory=_flag(env, declared.KEEP_FREED_MEMORY),
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

    def secrets(self, names: Iterable[str] = ()) -> list[str]:
        """Every value that must never appear in output: API keys and tokens.

        ``names`` are the variables declared secret (``Registry.secret_names``: every backend's keys,
        whatever they are called); names shaped like a key or token are secret too."""
        markers = ("_API_KEY", "_TOKEN", "_SECRET")
        names = set(names)
        found = []
        for name, value in self.env.items():
            if name not in names and not any(m in name for m in markers):
                continue
            if name == declared.AWS_SESSION_TOKEN.name:
                continue  # part of every presigned link by S3's design; redacting it would break the links
            found.append(value)
            if "," in value or ":" in value:  # name:token,name:token lists: each token on its own too
                found.extend(part.partition(":")[2] or part for part in value.split(","))
        return [v.strip() for v in found if len(v.strip()) >= 6]
