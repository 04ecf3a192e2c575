"""Member lookup against the static network, run as a local activity inside the flow's worker."""

from __future__ import annotations

from temporalio import activity

from workflows import naming
from workflows.envelopes import LookupMemberInput, LookupMemberResult, MemberSummary
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork


class MembershipActivities:
    """Member lookups against the static network that every worker loads at start."""

    def __init__(self, network: StaticNetwork) -> None:
        self._network = network

    @activity.defn(name=naming.LOOKUP_MEMBER_ACTIVITY)
    async def lookup_member(self, request: LookupMemberInput) -> LookupMemberResult:
        """Return a member's name and short hash, or no member when the name is not in the network."""
        try:
            name = MemberX500Name.parse(request.name)
        except ValueError:
            return LookupMemberResult()
        member = self._network.member(name)
        if member is None:
            return LookupMemberResult()
        return LookupMemberResult(
            member=MemberSummary(name=str(member.name), short_hash=self._network.short_hash(member.name))
        )
