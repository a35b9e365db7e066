"""Trade contracts: vocabulary and errors (pure; no I/O imports, checked by import-linter).

The rules are modules beside this one: `allotment` (sharing weekly volume by capacity,
shortfalls down the list) and `weeks` (the ISO weeks volume is counted in).
"""

from __future__ import annotations

import enum

from marketplace.errors import Conflict, ValidationFailed

TRADE_CONTRACT_KIND = "trade_contract"
"""The order-leg kind that calls off a contract's volume."""


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"


class InvalidCounterparty(ValidationFailed):
    code = "procurement.invalid_counterparty"
    title = "The counterparty must be a city government or trade office"


class InvalidSupplier(ValidationFailed):
    code = "procurement.invalid_supplier"
    title = "Suppliers must be cooperatives"


class InvalidPeriod(ValidationFailed):
    code = "procurement.invalid_period"
    title = "The contract period or week is not valid"


class VolumeExhausted(Conflict):
    code = "procurement.volume_exhausted"
    title = "The allotment has no weekly volume left for this"


class ShortfallAlreadyCalledOff(Conflict):
    code = "procurement.shortfall_already_called_off"
    title = "More than the reduced allotment is already called off"


__all__ = [
    "TRADE_CONTRACT_KIND",
    "InvalidCounterparty",
    "InvalidPeriod",
    "InvalidSupplier",
    "ShortfallAlreadyCalledOff",
    "VolumeExhausted",
]
