"""The state database's tables and its numbered migrations (see :mod:`stores.db`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa

__all__ = ["MIGRATIONS", "continuations", "jobs", "metadata", "resources", "schema_version"]

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied", sa.Float, nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("session", sa.Text, nullable=False),
    sa.Column("remote", sa.Boolean, nullable=False),
    sa.Column("backend", sa.String(64), nullable=False),
    sa.Column("media_type", sa.String(16), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("handle", sa.JSON, nullable=False),
    sa.Column("percent", sa.Float),
    sa.Column("error", sa.JSON),
    sa.Column("result", sa.JSON),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    # The idempotency key while the job is unfinished (NULL after): one running job per request.
    sa.Column("request_key", sa.String(64)),
    sa.Column("lease_holder", sa.String(160)),
    sa.Column("lease_until", sa.Float),
    sa.UniqueConstraint("owner", "request_key", name="uq_jobs_owner_request_key"),
    sa.Index("ix_jobs_owner", "owner"),
    sa.Index("ix_jobs_state", "state"),
)

continuations = sa.Table(
    "continuations",
    metadata,
    sa.Column("id", sa.String(96), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("backend", sa.String(64), nullable=False),
    sa.Column("media_type", sa.String(16), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("touched", sa.Float, nullable=False),
    sa.Index("ix_continuations_owner_touched", "owner", "touched"),
    sa.Index("ix_continuations_touched", "touched"),
)

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("mime_type", sa.Text),
    sa.Column("created", sa.Float, nullable=False),
)


def _create(*tables: sa.Table) -> Callable[[sa.Connection], None]:
    def step(conn: sa.Connection) -> None:
        for table in tables:
            table.create(conn)

    return step


#: (version, what it does, the step). Append only: an applied step is never edited.
MIGRATIONS: Sequence[tuple[int, str, Callable[[sa.Connection], None]]] = (
    (1, "jobs, continuations and the resource index", _create(jobs, continuations, resources)),
)
