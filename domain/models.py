"""Imports every mapped class so the metadata is complete (Alembic and tests use it)."""

from aiqleads.domain.admin.models import AuditLogEntry
from aiqleads.domain.cart.models import Cart, LeadReturn
from aiqleads.domain.core.lead import Lead, LeadSourceRecord, PriceHistory, RawListing
from aiqleads.domain.core.seats import Hold, Purchase
from aiqleads.domain.core.user import User
from aiqleads.domain.credits.models import CreditLedgerEntry, IdempotencyRecord
from aiqleads.domain.db import Base
from aiqleads.domain.ingest.models import DeadLetter
from aiqleads.domain.ingest.scrape_runs import ScrapeRun
from aiqleads.domain.payments.models import Payment
from aiqleads.domain.recommendations.models import BuyerProfile, LeadEmbedding, LeadInteraction
from aiqleads.domain.users.models import ApiKey

__all__ = [
    "ApiKey",
    "AuditLogEntry",
    "Base",
    "BuyerProfile",
    "Cart",
    "CreditLedgerEntry",
    "DeadLetter",
    "Hold",
    "IdempotencyRecord",
    "Lead",
    "LeadEmbedding",
    "LeadInteraction",
    "LeadReturn",
    "LeadSourceRecord",
    "Payment",
    "PriceHistory",
    "Purchase",
    "RawListing",
    "ScrapeRun",
    "User",
]
