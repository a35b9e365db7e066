"""HTTP shapes of the reports context."""

from __future__ import annotations

from typing import Annotated

import msgspec

from marketplace.reports.domain import MAX_TARGET_BPS, REGION_PREFIX
from marketplace.reports.domain.members import MAX_MEMBERS

RegionPrefix = Annotated[
    str,
    msgspec.Meta(
        pattern=REGION_PREFIX,
        max_length=13,
        examples=["35.76"],
        description="Kemendagri region code prefix: a province, city, district or village",
    ),
]
TargetBps = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=MAX_TARGET_BPS,
        description="Yearly growth target in basis points (3000 = +30 % a year)",
    ),
]


class OversightCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    region_prefix: RegionPrefix
    turnover_target_bps: TargetBps | None = None
    """Default: +30 % a year (Kota Mojokerto's programme target)."""
    members_target_bps: TargetBps | None = None
    """Default: +20 % a year (Kota Mojokerto's programme target)."""


class OversightUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    region_prefix: RegionPrefix | None = None
    turnover_target_bps: TargetBps | None = None
    members_target_bps: TargetBps | None = None


class MemberCountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    members: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=MAX_MEMBERS,
            examples=[412],
            description="Members in the cooperative's register in that month",
        ),
    ]
