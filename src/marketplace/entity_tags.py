"""Entity tags of the objects people edit, and the conditional requests on them (RFC 9110
§8.8.3, §13.1.1-2). Pure: no HTTP library; `marketplace.conditional_requests` reads the
headers, the services compare under the row lock.

An object's tag is its edit version, `"<version>"`: a strong validator that changes on every
write of what the tag covers (`version_id_col` of its model bumps it in the UPDATE itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marketplace.errors import BadRequest, DomainError


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = 412
    title = "The object changed since you read it"


class MalformedPrecondition(BadRequest):
    """A conditional header that is neither `*` nor a list of entity tags: refused rather
    than guessed at (a bare `3` is most likely a client that dropped the quotes)."""


MALFORMED = "If-Match and If-None-Match hold `*` or entity tags, each in double quotes."
CHANGED = "The object changed since you read it; read it again, then decide."


def entity_tag(version: int) -> str:
    """The strong tag of an object at `version`, as the `ETag` header carries it."""
    return f'"{version}"'


# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_SEPARATORS = " \t,"


@dataclass(frozen=True, slots=True)
class EntityTag:
    opaque: str  # with its quotes, as sent
    weak: bool


def parse_tag_list(header: str) -> tuple[EntityTag, ...] | None:
    """`*` as None, else the tags of `#entity-tag` (empty list elements allowed, as the
    `#` rule allows them). Raises `MalformedPrecondition` for anything else."""
    if header.strip(" \t") == "*":
        return None
    tags: list[EntityTag] = []
    at = 0
    while True:
        while at < len(header) and header[at] in _SEPARATORS:
            at += 1
        if at == len(header):
            break
        found = _TAG.match(header, at)
        if found is None:
            raise MalformedPrecondition(MALFORMED)
        tags.append(EntityTag(opaque=f'"{found.group(2)}"', weak=found.group(1) is not None))
        at = found.end()
        while at < len(header) and header[at] in " \t":
            at += 1
        if at < len(header) and header[at] != ",":
            raise MalformedPrecondition(MALFORMED)
    if not tags:
        raise MalformedPrecondition(MALFORMED)
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class IfMatch:
    """The `If-Match` of a write: none (unconditional), `*` or the tags the client holds."""

    header: str | None = None

    def __post_init__(self) -> None:
        if self.header is not None:
            parse_tag_list(self.header)  # a malformed header is refused before any read

    @classmethod
    def of_version(cls, version: int) -> IfMatch:
        """The precondition of a page form that carries the version it showed."""
        return cls(entity_tag(version))

    def holds(self, current_version: int) -> bool:
        """Strong comparison (§13.1.1): a weak tag never matches; `*` matches any
        existing object (the caller has found it)."""
        if self.header is None:
            return True
        tags = parse_tag_list(self.header)
        if tags is None:
            return True
        current = entity_tag(current_version)
        return any(not t.weak and t.opaque == current for t in tags)

    def ensure(self, current_version: int) -> None:
        """Call under the row lock (or with the version in the UPDATE's WHERE), so no
        other write can come between the comparison and this one."""
        if not self.holds(current_version):
            raise PreconditionFailed(CHANGED, current_etag=entity_tag(current_version))


UNCONDITIONAL = IfMatch()


def none_match(header: str | None, current_version: int) -> bool:
    """Whether `If-None-Match` holds (§13.1.2), so a GET answers 200 rather than 304.

    Weak comparison: `W/"3"` matches `"3"`. `*` matches any existing object."""
    if header is None:
        return True
    tags = parse_tag_list(header)
    if tags is None:
        return False
    current = entity_tag(current_version)
    return all(t.opaque != current for t in tags)
