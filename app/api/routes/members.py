"""Member route: the members of a virtual node's membership group, with Corda 5.1's filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import NetworkDep, VNodeDep
from app.api.errors import ApiError, error_responses
from app.api.models import RestMemberInfo, RestMemberInfoList, shorten
from workflows.identity import MemberX500Name
from workflows.membership import NetworkMember, StaticNetwork

router = APIRouter(prefix="/members", tags=["Members"])

MEMBER_STATUSES = ("ACTIVE", "SUSPENDED", "PENDING")
"""Membership statuses in Corda; every member of a static network is ACTIVE."""


def _name_filter(attribute: str) -> object:
    return Query(description=f"Only members whose {attribute} equals this, ignoring case")


@router.get("/{holdingIdentityShortHash}", response_model=RestMemberInfoList, responses=error_responses(400, 404))
async def list_members(
    vnode: VNodeDep,
    network: NetworkDep,
    cn: Annotated[str | None, _name_filter("common name (CN)")] = None,
    ou: Annotated[str | None, _name_filter("organization unit (OU)")] = None,
    o: Annotated[str | None, _name_filter("organization (O)")] = None,
    l: Annotated[str | None, _name_filter("locality (L)")] = None,  # noqa: E741 - Corda's parameter name
    st: Annotated[str | None, _name_filter("state (ST)")] = None,
    c: Annotated[str | None, _name_filter("country code (C)")] = None,
    statuses: Annotated[
        list[str] | None,
        Query(description="Only members in these statuses; ACTIVE when omitted. Repeat the parameter for several"),
    ] = None,
) -> RestMemberInfoList:
    """List the members of the virtual node's membership group, the notary's vnode included.

    The X.500 attribute filters combine with AND. The group is the static
    network, whose members are all ACTIVE.
    """
    requested_statuses = _check_statuses(statuses or ["ACTIVE"])
    filters = {"common_name": cn, "organization_unit": ou, "organization": o, "locality": l, "state": st, "country": c}
    members = [
        _member_info(network, member)
        for member in network.members
        if "ACTIVE" in requested_statuses and _matches(member.name, filters)
    ]
    return RestMemberInfoList(members=members)


def _check_statuses(statuses: list[str]) -> set[str]:
    unknown = [status for status in statuses if status.upper() not in MEMBER_STATUSES]
    if unknown:
        raise ApiError(
            400,
            f"Invalid member status {shorten(unknown[0])!r} in statuses: use {', '.join(MEMBER_STATUSES)}",
            {"statuses": shorten(", ".join(statuses))},
        )
    return {status.upper() for status in statuses}


def _matches(name: MemberX500Name, filters: dict[str, str | None]) -> bool:
    for attribute, expected in filters.items():
        if expected is None:
            continue
        value = getattr(name, attribute)
        if value is None or value.casefold() != expected.strip().casefold():
            return False
    return True


def _member_info(network: StaticNetwork, member: NetworkMember) -> RestMemberInfo:
    member_context = {"corda.name": str(member.name), "corda.groupId": network.group_id}
    notary = network.notary
    if notary is not None and notary.vnode == member.name:
        member_context.update(
            {
                "corda.roles.0": "notary",
                "corda.notary.service.name": str(notary.service_name),
                "corda.notary.service.flow.protocol.name": notary.protocol,
                "corda.notary.service.backchain.required": str(notary.backchain_required).lower(),
            }
        )
    return RestMemberInfo(member_context=member_context, mgm_context={"corda.status": "ACTIVE"})
