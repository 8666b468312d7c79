"""Every environment variable the server reads, declared once.

``config.Settings.from_env`` and the HTTP transport read these declarations (name and default come
from here), TOOL.md's settings tables are generated from them, and a test scans ``src/`` for every
variable name the code reads and fails on one not declared. A backend's own settings (its key, its
base URL override and anything else, e.g. Vertex mode) are declared by the backend on its
``BackendSpec``; ``BackendSpec.all_settings()`` lists them.

A name may be a pattern: ``<BACKEND>`` and ``<TYPE>`` stand for a backend name and a media type,
upper-cased (``GENERATE_MEDIA_<BACKEND>_<TYPE>_MODEL``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

__all__ = ["CORE_SETTINGS", "Kind", "Setting"]

T = TypeVar("T")

#: How a value is read: a number, a flag (1/true/yes/on), a path, paths (os.pathsep-separated),
#: a comma-separated list, free text, an API key or token (never shown), or a URL.
Kind = Literal["int", "float", "flag", "path", "paths", "list", "text", "secret", "url"]

_PLACEHOLDER = re.compile(r"<[A-Z]+>")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, how it is read, its default, what it does, who reads it."""

    name: str
    kind: Kind
    default: T
    what: str
    #: "core", or the name of the backend that reads it.
    owner: str = "core"
    #: The default as a person reads it, when the value alone says too little ("per client").
    default_text: str = ""

    @property
    def shown_default(self) -> str:
        if self.default_text:
            return self.default_text
        if self.default is None or self.default == "" or self.default == ():
            return "unset"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        if isinstance(self.default, int) and self.default >= 1024 and not self.default % 1024:
            power, unit = next((p, u) for p, u in ((3, "GiB"), (2, "MiB"), (1, "KiB")) if not self.default % 1024**p)
            return f"{self.default} ({self.default // 1024**power} {unit})"
        return str(self.default)

    @property
    def is_pattern(self) -> bool:
        return bool(_PLACEHOLDER.search(self.name))

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this variable (or, for a pattern, one of its instances)."""
        if not self.is_pattern:
            return name == self.name
        parts = _PLACEHOLDER.split(self.name)
        return re.fullmatch("[A-Z0-9]+".join(re.escape(p) for p in parts), name) is not None

    @property
    def template(self) -> str:
        """The name with each placeholder as ``{}``: how code builds it (``f"GENERATE_MEDIA_{b}_{t}_MODEL"``)."""
        return _PLACEHOLDER.sub("{}", self.name)


def _s(name: str, kind: Kind, default: T, what: str, default_text: str = "") -> Setting[T]:
    return Setting(f"GENERATE_MEDIA_{name}", kind, default, what, "core", default_text)


# --- files ---------------------------------------------------------------------------------------
OUTPUT_DIR = _s(
    "OUTPUT_DIR", "path", "", "where files go", default_text="~/Pictures/generate-media, else ~/generate-media"
)
ALLOWED_DIRS = _s(
    "ALLOWED_DIRS",
    "paths",
    "",
    "extra directories (os.pathsep-separated) inputs may be read from and outputs written to (over HTTP: read only)",
)
STATE_DIR = _s(
    "STATE_DIR",
    "path",
    "",
    "the state database (state.db: jobs, continuations), the spend ledger and the HTTP resource index",
    default_text="the user state directory",
)
DATABASE_URL = _s(
    "DATABASE_URL",
    "secret",
    "",
    "the state database shared by replicas: postgresql://user:password@host/db (the [postgres] extra)",
    default_text="a SQLite file in the state directory",
)
STORAGE_URL = _s(
    "STORAGE_URL",
    "url",
    "",
    "s3://bucket/prefix: outputs also go to this S3-compatible bucket, and HTTP clients get signed links",
    default_text="local folder only",
)
STORAGE_LINK_TTL_S = _s("STORAGE_LINK_TTL_S", "float", 3600.0, "seconds a signed download link stays valid")
# The S3 client's standard variables (read when STORAGE_URL is set).
AWS_ENDPOINT_URL = Setting("AWS_ENDPOINT_URL", "url", "", "endpoint of an S3-compatible store", default_text="AWS")
AWS_ACCESS_KEY_ID = Setting("AWS_ACCESS_KEY_ID", "text", "", "access key id for the bucket")
AWS_SECRET_ACCESS_KEY = Setting("AWS_SECRET_ACCESS_KEY", "secret", "", "secret access key for the bucket")
AWS_REGION = Setting("AWS_REGION", "text", "", "region of the bucket", default_text="us-east-1")
# Temporary credentials (STS, an instance role handed down as variables): S3 requires the session
# token inside every presigned link (X-Amz-Security-Token), so it is not redacted from results.
AWS_SESSION_TOKEN = Setting(
    "AWS_SESSION_TOKEN", "text", "", "session token of temporary bucket credentials (it travels in signed links)"
)
# --- choosing a backend and a model --------------------------------------------------------------
PRIORITY = _s(
    "PRIORITY_<TYPE>", "list", "", "backend order for backend='auto' per media type: backend names, comma-separated"
)
MODEL = _s(
    "<BACKEND>_<TYPE>_MODEL", "text", "", "default model of one backend for one media type (a model id it lists)"
)
# --- results -------------------------------------------------------------------------------------
PREVIEW = _s("PREVIEW", "flag", True, "inline image previews in results (0 turns them off)")
VIEWER = _s("VIEWER", "flag", True, "the in-chat viewer for MCP Apps clients (0 turns it off)")
WARM_UP = _s(
    "WARM_UP", "flag", True, "after tools/list, load the SDKs and clients of keyed backends in the background (0: off)"
)
KEEP_FREED_MEMORY = _s(
    "KEEP_FREED_MEMORY",
    "flag",
    True,
    "on Linux (glibc), keep up to 16 MiB of freed memory per heap for the next call; never when MALLOC_* or "
    "GLIBC_TUNABLES=glibc.malloc... set the allocator (0: glibc's defaults)",
)
BUDGET_USD: Setting[float | None] = _s(
    "BUDGET_USD",
    "float",
    None,
    "daily spend cap per client (per HTTP token; stdio is one client), USD at list price: a call whose "
    "estimate does not fit in what is left today (UTC) is refused before any paid request",
    default_text="no cap",
)
# --- time ----------------------------------------------------------------------------------------
WAIT_BUDGET_S: Setting[float | None] = _s(
    "WAIT_BUDGET_S",
    "float",
    None,
    "seconds a long job is waited for before a pending result with a job_id (0 waits to the end)",
    default_text="per client (45 for unknown clients)",
)
POLL_INTERVAL_S = _s("POLL_INTERVAL_S", "float", 5.0, "seconds between polls of a long provider job")
JOB_LEASE_S = _s(
    "JOB_LEASE_S", "float", 30.0, "seconds a server that stopped renewing its lease on a job keeps it from the others"
)
JOB_DEADLINE_S = _s("JOB_DEADLINE_S", "float", 3600.0, "seconds after which a long job is given up as failed")
REQUEST_TIMEOUT_S = _s("REQUEST_TIMEOUT_S", "float", 120.0, "seconds one read from a provider may take")
CALL_DEADLINE_S: Setting[float | None] = _s(
    "CALL_DEADLINE_S",
    "float",
    None,
    "the most one provider call may take in all, however slowly the provider answers",
    default_text="3 × REQUEST_TIMEOUT_S",
)
MAX_RETRIES = _s("MAX_RETRIES", "int", 2, "retries of a transient provider failure (rate limit, 5xx, timeout)")
# --- URLs given as inputs ------------------------------------------------------------------------
ALLOW_HTTP_URLS = _s("ALLOW_HTTP_URLS", "flag", False, "accept plain http:// input URLs (https only by default)")
ALLOW_PRIVATE_URLS = _s(
    "ALLOW_PRIVATE_URLS", "flag", False, "accept input URLs that resolve to private, loopback or link-local addresses"
)
# Standard variables httpx reads (downloads.py keys its cached TLS context on them): a company proxy's CA.
SSL_CERT_FILE = Setting(
    "SSL_CERT_FILE", "path", "", "CA bundle trusted for https (providers and URL inputs)", default_text="certifi's"
)
SSL_CERT_DIR = Setting("SSL_CERT_DIR", "path", "", "folder of CA certificates, when SSL_CERT_FILE is unset")
# --- limits (each named in the error that enforces it) -------------------------------------------
MAX_PROMPT_CHARS = _s("MAX_PROMPT_CHARS", "int", 32_000, "longest prompt, in characters")
MAX_BATCH = _s("MAX_BATCH", "int", 32, "most prompts in one batch call")
MAX_CONCURRENT = _s("MAX_CONCURRENT", "int", 16, "the highest max_concurrent a batch may ask for (never above 16)")
MAX_INPUT_FILES = _s("MAX_INPUT_FILES", "int", 16, "most input files in one call")
MAX_INPUT_BYTES = _s("MAX_INPUT_BYTES", "int", 50 * 1024 * 1024, "largest input file, in bytes")
MAX_DOWNLOAD_BYTES = _s("MAX_DOWNLOAD_BYTES", "int", 2 * 1024 * 1024 * 1024, "largest download, in bytes")
MAX_JOBS_PER_CLIENT = _s("MAX_JOBS_PER_CLIENT", "int", 16, "most unfinished long jobs one client may hold")
PREVIEW_BYTES = _s("PREVIEW_BYTES", "int", 48 * 1024, "largest inline preview, in bytes")
# --- the HTTP transport (--http) -----------------------------------------------------------------
HTTP_TOKEN = _s("HTTP_TOKEN", "secret", "", "bearer token for --http (at least 16 characters)")
HTTP_TOKENS = _s("HTTP_TOKENS", "secret", "", "bearer tokens for --http, one per client: name:token,name:token")
HTTP_ALLOWED_HOSTS = _s(
    "HTTP_ALLOWED_HOSTS", "list", "", "extra Host values (comma-separated) accepted when --http listens beyond loopback"
)
HTTP_MAX_SESSIONS_PER_TOKEN = _s(
    "HTTP_MAX_SESSIONS_PER_TOKEN",
    "int",
    16,
    "MCP sessions one token may hold open (stateless HTTP: its requests in flight on one replica)",
)
HTTP_SESSION_IDLE_S = _s("HTTP_SESSION_IDLE_S", "float", 300.0, "seconds an idle MCP session lives")
HTTP_STATELESS = _s(
    "HTTP_STATELESS",
    "flag",
    False,
    "no MCP sessions (replicas behind a balancer, no sticky sessions): any replica answers any request",
)

CORE_SETTINGS: tuple[Setting[Any], ...] = (
    OUTPUT_DIR,
    ALLOWED_DIRS,
    STATE_DIR,
    STORAGE_URL,
    STORAGE_LINK_TTL_S,
    AWS_ENDPOINT_URL,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AWS_REGION,
    AWS_SESSION_TOKEN,
    DATABASE_URL,
    PRIORITY,
    MODEL,
    PREVIEW,
    VIEWER,
    WARM_UP,
    KEEP_FREED_MEMORY,
    BUDGET_USD,
    WAIT_BUDGET_S,
    POLL_INTERVAL_S,
    JOB_DEADLINE_S,
    JOB_LEASE_S,
    REQUEST_TIMEOUT_S,
    CALL_DEADLINE_S,
    MAX_RETRIES,
    ALLOW_HTTP_URLS,
    ALLOW_PRIVATE_URLS,
    SSL_CERT_FILE,
    SSL_CERT_DIR,
    MAX_PROMPT_CHARS,
    MAX_BATCH,
    MAX_CONCURRENT,
    MAX_INPUT_FILES,
    MAX_INPUT_BYTES,
    MAX_DOWNLOAD_BYTES,
    MAX_JOBS_PER_CLIENT,
    PREVIEW_BYTES,
    HTTP_TOKEN,
    HTTP_TOKENS,
    HTTP_ALLOWED_HOSTS,
    HTTP_MAX_SESSIONS_PER_TOKEN,
    HTTP_SESSION_IDLE_S,
    HTTP_STATELESS,
)
