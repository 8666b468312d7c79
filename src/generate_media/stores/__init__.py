"""The state store (jobs, continuations, the resource index) and the spend ledger. State is plain
data (JSON-serialisable), never live SDK objects.

Public interface (what the service and the transports use)::

    store = StateStore(database_url(settings.database_url, settings.state_dir))
    await store.open()                      # migrations; also done on first use
    store.jobs          -> JobStore         # create/twin/get/list/save/take/release/orphans
    store.continuations -> ContinuationStore  # put/get (TTL, LRU per owner)
    store.resources     -> ResourceStore    # add/add_many/get (rows go in the call's own transaction)
    await store.close()
"""

from .continuations import ContinuationRecord, ContinuationStore
from .db import StateStore, database_url
from .jobs import JobRecord, JobStore
from .resources import ResourceRow, ResourceStore
from .spend import Reservation, SpendLedger

__all__ = [
    "ContinuationRecord",
    "ContinuationStore",
    "JobRecord",
    "JobStore",
    "Reservation",
    "ResourceRow",
    "ResourceStore",
    "SpendLedger",
    "StateStore",
    "database_url",
]
