"""All tables, for Alembic and the migration-drift check. Imports every context's models."""

from __future__ import annotations

from marketplace import idempotency, outbox
from marketplace.accounts import models as accounts_models
from marketplace.consignment import models as consignment_models
from marketplace.db import Base
from marketplace.documents import models as documents_models
from marketplace.ledger import models as ledger_models
from marketplace.listings import models as listings_models
from marketplace.orders import models as orders_models
from marketplace.payments import models as payments_models  # noqa: F401
from marketplace.procurement.contracts import models as contract_models
from marketplace.procurement.lots import models as lot_models
from marketplace.procurement.sourcing import models as sourcing_models
from marketplace.reports import models as reports_models
from marketplace.webhooks import models as webhooks_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "consignment_models",
    "contract_models",
    "documents_models",
    "idempotency",
    "ledger_models",
    "listings_models",
    "lot_models",
    "metadata",
    "orders_models",
    "outbox",
    "reports_models",
    "sourcing_models",
    "webhooks_models",
]
