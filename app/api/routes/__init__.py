"""One router per resource of the REST API: flows, flow classes, virtual nodes and members."""
