"""`ETag`, `If-Match` and `If-None-Match` on the objects people edit (products, listings,
organizations, consignment agreements): the headers as the controllers read and write them,
and their documentation in the contract. The rules are `marketplace.entity_tags`.

A write without `If-Match` stays unconditional, as it always was: partners who never send it
are not broken. One with it changes the object only if its tag is still the one sent, or
answers 412 `precondition_failed` and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter

from marketplace.entity_tags import IfMatch, entity_tag, none_match
from marketplace.http import problem_responses

T = TypeVar("T")

IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        description=(
            'The `ETag` you read (e.g. `"3"`), or `*`: the change is made only if the object '
            "still has it, else 412 `precondition_failed` and nothing changes. Without it "
            "the change is unconditional."
        ),
        required=False,
        max_length=1000,
    ),
]

IfNoneMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        description="The `ETag` you hold: 304 with no body while the object still has it.",
        required=False,
        max_length=1000,
    ),
]


def etag_header(what: str) -> list[ResponseHeader]:
    """The `ETag` of a success answer, for the contract (the handler sets it)."""
    return [
        ResponseHeader(
            name="ETag",
            description=(
                f"The strong entity tag of {what}: send it as `If-Match` to change the "
                "object only if nobody changed it meanwhile."
            ),
            # A value only so the contract types the header (a string); never sent as is.
            value='"1"',
            required=True,
            documentation_only=True,
        )
    ]


def conditional_write_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem answers of a write that reads `If-Match`: 412 besides `statuses`."""
    return problem_responses(*statuses, 412)


def conditional_read_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem answers of a GET that reads `If-None-Match`, and its 304."""
    return {
        **problem_responses(*statuses),
        304: ResponseSpec(
            data_container=None,
            description="Not modified: the object still has the `If-None-Match` tag",
            generate_examples=False,
        ),
    }


def if_match(header: str | None) -> IfMatch:
    """The precondition of a write (a malformed header is 400 `bad_request`)."""
    return IfMatch(header)


def tagged(body: T, version: int, status_code: int = 200) -> Response[T]:
    """`body` with the `ETag` of the object at `version`."""
    return Response(body, status_code=status_code, headers={"ETag": entity_tag(version)})


def fresh_or_tagged(body: T, version: int, if_none_match: str | None) -> Response[Any]:
    """304 (with the tag, no body) when the client already holds this version, else `body`
    tagged. Only for objects whose tag covers every field they answer."""
    if not none_match(if_none_match, version):
        return Response(None, status_code=304, headers={"ETag": entity_tag(version)})
    return tagged(body, version)
