"""The static network: members, notary and REST users of one membership group.

Like Corda's static network for local development, the membership of the
group is fixed in a file instead of being registered with an MGM. Each member
runs one vnode, identified by the short hash of its holding identity (the
member's X.500 name and the group ID).

The JSON form uses camelCase keys (``groupId``, ``sessionTimeoutSeconds``,
``restUsers``) and rejects unknown keys, so a misspelt key is reported instead
of ignored. Python code may use the snake_case field names as well.

These models run inside Temporal's workflow sandbox, so this module uses only
the standard library, pydantic and :mod:`workflows.identity`, and reads no
files. ``app.network.load_network`` reads the network file.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from workflows.identity import (
    MemberX500Name,
    holding_identity_full_hash,
    holding_identity_short_hash,
)

__all__ = [
    "DEFAULT_NOTARY_PROTOCOL",
    "InvalidNetworkError",
    "NetworkMember",
    "NotaryService",
    "RestUser",
    "StaticNetwork",
    "VNodeIdentity",
]

DEFAULT_NOTARY_PROTOCOL = "com.r3.corda.notary.plugin.nonvalidating"
"""Notary protocol of Corda's non-validating notary plugin."""


class InvalidNetworkError(ValueError):
    """A static network whose members, notary or users contradict each other.

    Pydantic wraps it in a ``ValidationError``, whose error context keeps this
    instance under ``"error"``.

    Attributes:
        problems: Every problem found, each naming the value at fault and the fix.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


class _NetworkModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
    )


class NetworkMember(_NetworkModel):
    """A member of the group and the vnode that runs for it.

    Attributes:
        name: The member's X.500 name.
        cordapps: Importable Python module or package names, such as
            ``cordapps.quotes``, whose flows the member's vnode runs.
        notary: Whether this vnode runs the network's notary service.
    """

    name: MemberX500Name
    cordapps: list[str] = Field(default_factory=list)
    notary: bool = False

    @field_validator("cordapps")
    @classmethod
    def _check_module_names(cls, cordapps: list[str]) -> list[str]:
        invalid = [name for name in cordapps if not _is_module_name(name)]
        if len(invalid) == 1:
            raise ValueError(
                f"{invalid[0]!r} is not a valid Python module name, "
                "so use dotted identifiers such as 'cordapps.quotes'"
            )
        if invalid:
            raise ValueError(
                f"{', '.join(repr(name) for name in invalid)} are not valid Python module "
                "names, so use dotted identifiers such as 'cordapps.quotes'"
            )
        return cordapps


class NotaryService(_NetworkModel):
    """The network's notary service and the vnode that runs it.

    Attributes:
        service_name: X.500 name of the notary service, which transactions
            name as their notary. It differs from every member name.
        vnode: Name of the member whose vnode runs the service.
        protocol: Notary protocol name.
        backchain_required: Whether parties resolve and verify the backchain
            of a transaction's inputs before notarisation.
    """

    service_name: MemberX500Name
    vnode: MemberX500Name
    protocol: str = Field(DEFAULT_NOTARY_PROTOCOL, min_length=1)
    backchain_required: bool = True


class RestUser(_NetworkModel):
    """A user of the REST API and the permissions granted to it.

    Attributes:
        username: Login name for HTTP Basic authentication.
        password: Password in plain text. It is left out of ``repr()``.
        permissions: Permission strings such as ``StartFlow:.*``, which lets
            the user start any flow.
    """

    username: str = Field(min_length=1)
    password: str = Field(repr=False)
    permissions: list[str] = Field(default_factory=list)


class VNodeIdentity(_NetworkModel):
    """Holding identity of one vnode: a member's name in the group, with its hashes."""

    model_config = ConfigDict(frozen=True)

    name: MemberX500Name
    short_hash: str
    full_hash: str
    group_id: str


class StaticNetwork(_NetworkModel):
    """A membership group whose members are fixed in a network file.

    Validation checks that member names and their short hashes are unique,
    that the notary service runs on a member marked ``notary: true``, and that
    every member marked so runs it. The error lists every problem found.

    Attributes:
        group_id: ID of the membership group. It is part of every holding
            identity hash, so changing it changes every vnode's short hash.
        session_timeout_seconds: Time in seconds that an open session may go
            without an inbound message before the flow fails.
        members: The members, each running one vnode.
        notary: The notary service, or None for a network without one.
        rest_users: Users of the REST API.
    """

    group_id: str = Field(min_length=1)
    session_timeout_seconds: float = Field(1800, gt=0, allow_inf_nan=False)
    members: list[NetworkMember] = Field(min_length=1)
    notary: NotaryService | None = None
    rest_users: list[RestUser] = Field(default_factory=list)

    @field_validator("group_id")
    @classmethod
    def _check_group_id(cls, group_id: str) -> str:
        if not group_id.strip():
            raise ValueError(
                "the group ID is blank, so give the group a name such as 'accord-dev-group'"
            )
        return group_id

    @model_validator(mode="after")
    def _check_consistency(self) -> StaticNetwork:
        problems = [
            *self._duplicate_member_problems(),
            *self._notary_problems(),
            *self._short_hash_problems(),
            *self._duplicate_user_problems(),
        ]
        if problems:
            # A duplicated member would otherwise repeat its notary problems.
            raise InvalidNetworkError(list(dict.fromkeys(problems)))
        return self

    def _duplicate_member_problems(self) -> list[str]:
        counts = Counter(member.name for member in self.members)
        return [
            f"member {str(name)!r} appears {count} times in members, "
            "so remove the duplicates or give each vnode its own name"
            for name, count in counts.items()
            if count > 1
        ]

    def _notary_problems(self) -> list[str]:
        problems = []
        notary_vnode = self.notary.vnode if self.notary is not None else None
        if self.notary is not None:
            problems.extend(self._notary_service_problems(self.notary))

        for member in self.members:
            if member.notary and member.name != notary_vnode:
                where = (
                    "the network has no notary service"
                    if notary_vnode is None
                    else f"the notary service runs on {str(notary_vnode)!r}"
                )
                problems.append(
                    f"member {str(member.name)!r} has \"notary\": true, but {where}, "
                    "so set it to false or name this member as the notary's vnode"
                )
        return problems

    def _notary_service_problems(self, notary: NotaryService) -> list[str]:
        problems = []
        vnode_member = self.member(notary.vnode)
        if vnode_member is None:
            problems.append(
                f"the notary's vnode {str(notary.vnode)!r} is not in members, "
                "so add a member with that name and \"notary\": true"
            )
        elif not vnode_member.notary:
            problems.append(
                f"the notary's vnode {str(notary.vnode)!r} has \"notary\": false, so set it to true"
            )

        if self.member(notary.service_name) is not None:
            problems.append(
                f"the notary service name {str(notary.service_name)!r} is also a member name, "
                "so give the service a name of its own, "
                "such as 'CN=NotaryService, O=R3, L=London, C=GB'"
            )
        return problems

    def _short_hash_problems(self) -> list[str]:
        names_by_hash: dict[str, set[MemberX500Name]] = {}
        for member in self.members:
            names_by_hash.setdefault(self.short_hash(member.name), set()).add(member.name)
        return [
            f"members {' and '.join(repr(str(name)) for name in sorted(names))} have the same "
            f"short hash {short_hash}, so rename one of them"
            for short_hash, names in names_by_hash.items()
            if len(names) > 1
        ]

    def _duplicate_user_problems(self) -> list[str]:
        counts = Counter(user.username for user in self.rest_users)
        return [
            f"REST user {username!r} appears {count} times in restUsers, so keep one entry per user"
            for username, count in counts.items()
            if count > 1
        ]

    def short_hash(self, name: MemberX500Name | str) -> str:
        """Compute the short hash of a name's holding identity in this group.

        The name need not belong to a member.

        Raises:
            InvalidX500NameError: If ``name`` is a string that is not a valid member name.
        """
        return holding_identity_short_hash(_as_name(name), self.group_id)

    def member(self, name: MemberX500Name | str) -> NetworkMember | None:
        """Find the member with this name.

        Args:
            name: The name, or a string to parse as one. Attribute order and
                spacing in the string do not matter.

        Returns:
            The member, or None if no member has that name.

        Raises:
            InvalidX500NameError: If ``name`` is a string that is not a valid member name.
        """
        requested = _as_name(name)
        return next((member for member in self.members if member.name == requested), None)

    def member_by_short_hash(self, short_hash: str) -> NetworkMember | None:
        """Find the member whose vnode has this short hash.

        The lookup is case-insensitive, as in Corda: lower-case hex is upper-cased first.

        Returns:
            The member, or None if no member's vnode has that short hash.
        """
        requested = short_hash.upper()
        return next(
            (member for member in self.members if self.short_hash(member.name) == requested),
            None,
        )

    def vnodes(self) -> list[VNodeIdentity]:
        """List the holding identity of every member's vnode, in the order of ``members``."""
        return [
            VNodeIdentity(
                name=member.name,
                short_hash=self.short_hash(member.name),
                full_hash=holding_identity_full_hash(member.name, self.group_id),
                group_id=self.group_id,
            )
            for member in self.members
        ]


def _as_name(name: MemberX500Name | str) -> MemberX500Name:
    return name if isinstance(name, MemberX500Name) else MemberX500Name.parse(name)


def _is_module_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))
