"""Virtual node routes: the vnodes of the static network, in Corda's ``VirtualNodeInfo`` shape."""

from __future__ import annotations

from importlib import metadata

from fastapi import APIRouter

from app.api.deps import ContextDep, VNode, VNodeDep
from app.api.errors import error_responses
from app.api.models import CpiIdentifier, HoldingIdentity, VirtualNodeInfo, VirtualNodes

router = APIRouter(prefix="/virtualnode", tags=["Virtual nodes"])


@router.get("", response_model=VirtualNodes, responses=error_responses())
async def list_virtual_nodes(context: ContextDep) -> VirtualNodes:
    """List every virtual node of the network, the notary's included.

    Each vnode's `holdingIdentity.shortHash` is the `holdingIdentityShortHash`
    of the flow and member routes. The vnodes come from the static network
    file, so they are always ACTIVE; `cpiIdentifier.cpiName` lists the
    CorDapp modules the vnode runs.
    """
    return VirtualNodes(virtual_nodes=[_virtual_node_info(vnode) for vnode in context.vnodes.values()])


@router.get("/{holdingIdentityShortHash}", response_model=VirtualNodeInfo, responses=error_responses(400, 404))
async def read_virtual_node(vnode: VNodeDep) -> VirtualNodeInfo:
    """Read one virtual node by its holding identity short hash."""
    return _virtual_node_info(vnode)


def _virtual_node_info(vnode: VNode) -> VirtualNodeInfo:
    return VirtualNodeInfo(
        holding_identity=HoldingIdentity(
            x500_name=str(vnode.name),
            group_id=vnode.identity.group_id,
            short_hash=vnode.short_hash,
            full_hash=vnode.identity.full_hash,
        ),
        cpi_identifier=CpiIdentifier(cpi_name=", ".join(vnode.member.cordapps), cpi_version=_accord_version()),
    )


def _accord_version() -> str:
    try:
        return metadata.version("accord")
    except metadata.PackageNotFoundError:
        # Running from a source checkout that was never installed.
        return "unknown"
