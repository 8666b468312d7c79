"""Continuation and job stores. State is plain data (JSON-serialisable), never live SDK objects."""

from .continuations import ContinuationRecord, ContinuationStore
from .jobs import JobRecord, JobStore
from .spend import Reservation, SpendLedger

__all__ = ["ContinuationRecord", "ContinuationStore", "JobRecord", "JobStore", "Reservation", "SpendLedger"]
