"""Flow class route: the flows a virtual node can start."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import VNodeDep
from app.api.errors import error_responses
from app.api.models import FlowClassNames

router = APIRouter(prefix="/flowclass", tags=["Flow classes"])


@router.get("/{holdingIdentityShortHash}", response_model=FlowClassNames, responses=error_responses(400, 404))
async def list_flow_classes(vnode: VNodeDep) -> FlowClassNames:
    """List the qualified class names of the flows a virtual node can start.

    These are the `ClientStartableFlow` classes of the vnode's CorDapps, the
    values `flowClassName` accepts when starting a flow. Responder flows are
    not listed: a counterparty's session starts them.
    """
    return FlowClassNames(flow_class_names=sorted(vnode.registry.startable))
