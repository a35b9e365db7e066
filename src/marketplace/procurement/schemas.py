"""The one procurement shape that keeps this module's path: a trade contract's shortfall.

Its OpenAPI component is named after the module (`procurement_schemas_ShortfallOut`, beside
orders' `ShortfallOut`) and partners' generated clients know it by that name, so it stays
here while every other shape lives in its room's `schemas.py`.
"""

from __future__ import annotations

import msgspec

from marketplace.procurement.contracts.schemas import TradeContractOut


class ShortfallOut(msgspec.Struct, kw_only=True):
    contract: TradeContractOut
    unplaced: int
    """Units of this shortfall no other supplier had the capacity to take."""
