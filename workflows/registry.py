"""The flows of a vnode's CorDapps, checked when they are registered.

A vnode runs the flows of the CorDapp modules the static network lists for
it. Loading them checks every definition and reports every problem in one
:class:`FlowRegistrationError`, each with its likely fix:

- a responder needs ``@initiated_by``, and only a ``ResponderFlow`` may carry it;
- protocols are non-empty strings, versions distinct positive integers;
- at most one initiating flow and one responder per (protocol, version);
- ``call`` is ``async``; startable and responder flows have a no-argument
  constructor (a subflow may take any arguments);
- a flow class is defined at the top level of its module, so Temporal's
  sandbox can re-import it by qualified name.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from workflows import flows
from workflows.errors import FlowRegistrationError
from workflows.external import operation_name
from workflows.host import qualified_name

_FLOW_BASES = (flows.ClientStartableFlow, flows.ResponderFlow, flows.SubFlow)


@dataclass
class FlowRegistry:
    """The startable flows and responders of one vnode, by name and by protocol."""

    modules: tuple[str, ...]
    startable: dict[str, type] = field(default_factory=dict)
    responders: dict[tuple[str, int], type] = field(default_factory=dict)
    initiators: dict[tuple[str, int], type] = field(default_factory=dict)
    subflows: dict[str, type] = field(default_factory=dict)
    operations: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, modules: Sequence[str]) -> FlowRegistry:
        """Import CorDapp modules (packages with their submodules) and register their flows.

        Raises:
            FlowRegistrationError: Listing every invalid definition found.
        """
        registry = cls(modules=tuple(modules))
        problems: list[str] = []
        flow_classes: list[type] = []
        for module in _import_all(modules, problems):
            flow_classes.extend(_flow_classes(module, problems))
            registry.operations.update(_operations(module))
        for flow_class in sorted(set(flow_classes), key=qualified_name):
            registry._add(flow_class, problems)
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise FlowRegistrationError(
                f"Invalid flow definitions in CorDapps {', '.join(modules)}:\n{listed}"
            )
        return registry

    def negotiate(self, protocol: str, versions: Iterable[int]) -> tuple[type, int] | None:
        """Pick the responder for the highest of the initiator's versions that has one."""
        for version in sorted(set(versions), reverse=True):
            responder = self.responders.get((protocol, version))
            if responder is not None:
                return responder, version
        return None

    def workflow_classes(self) -> list[type]:
        """Return the Temporal workflow classes of every registered flow."""
        classes = [*self.startable.values(), *self.responders.values(), *self.subflows.values()]
        unique = {qualified_name(cls): cls for cls in classes}
        return [cls.__accord_workflow__ for cls in unique.values()]  # type: ignore[attr-defined]

    def _add(self, flow_class: type, problems: list[str]) -> None:
        name = qualified_name(flow_class)
        initiating = flows.initiating_protocol(flow_class)
        responding = flows.responder_protocol(flow_class)
        _check_shape(flow_class, name, problems)
        if issubclass(flow_class, flows.ResponderFlow):
            if responding is None:
                problems.append(
                    f"{name} is a ResponderFlow without @initiated_by; add @initiated_by(protocol=...) "
                    "naming the protocol of the flow it answers"
                )
            if initiating is not None:
                problems.append(
                    f"{name} is a ResponderFlow marked @initiating_flow; a responder opens new sessions "
                    "through an initiating subflow, so remove @initiating_flow"
                )
        elif responding is not None:
            problems.append(
                f"{name} is marked @initiated_by but is not a ResponderFlow; subclass ResponderFlow"
            )
        if issubclass(flow_class, flows.ClientStartableFlow):
            self.startable[name] = flow_class
        if issubclass(flow_class, flows.SubFlow):
            self.subflows[name] = flow_class
        for declared, table, role in ((initiating, self.initiators, "initiating flow"), (responding, self.responders, "responder")):
            if declared is None or not _check_protocol(declared, name, problems):
                continue
            for version in declared.versions:
                existing = table.get((declared.protocol, version))
                if existing is not None and existing is not flow_class:
                    problems.append(
                        f"Protocol {declared.protocol!r} version {version} has two {role}s: "
                        f"{qualified_name(existing)} and {name}; keep one, or give them different versions"
                    )
                    continue
                table[(declared.protocol, version)] = flow_class


def _import_all(modules: Sequence[str], problems: list[str]) -> list[ModuleType]:
    imported: list[ModuleType] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # noqa: BLE001 - reported with every other problem
            problems.append(
                f"CorDapp module {module_name!r} cannot be imported: {type(error).__name__}: {error}; "
                "check the name in the network file and that the module is on the Python path"
            )
            continue
        imported.append(module)
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{module_name}."):
                try:
                    imported.append(importlib.import_module(info.name))
                except Exception as error:  # noqa: BLE001
                    problems.append(f"CorDapp module {info.name!r} cannot be imported: {type(error).__name__}: {error}")
    return imported


def _flow_classes(module: ModuleType, problems: list[str]) -> list[type]:
    found: list[type] = []
    for value in vars(module).values():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        if _is_concrete_flow(value):
            found.append(value)
        for nested in vars(value).values():
            is_nested = isinstance(nested, type) and nested.__qualname__.startswith(f"{value.__qualname__}.")
            if is_nested and _is_concrete_flow(nested):
                problems.append(
                    f"{module.__name__}.{nested.__qualname__} is defined inside another class; define flow "
                    "classes at the top level of a module so Temporal can re-import them by name"
                )
    return found


def _operations(module: ModuleType) -> dict[str, Callable[..., Any]]:
    found = {}
    for value in vars(module).values():
        name = operation_name(value) if callable(value) else None
        if name is not None and getattr(value, "__module__", None) == module.__name__:
            found[name] = value
    return found


def _is_concrete_flow(cls: type) -> bool:
    if cls in _FLOW_BASES or not issubclass(cls, _FLOW_BASES):
        return False
    return not any(cls.call is base.call for base in _FLOW_BASES)


def _check_shape(flow_class: type, name: str, problems: list[str]) -> None:
    if not inspect.iscoroutinefunction(flow_class.call):
        problems.append(f"{name}.call is not async; declare it as 'async def call(...)'")
    try:
        if not issubclass(flow_class, flows.SubFlow):
            inspect.signature(flow_class).bind()
    except TypeError:
        problems.append(
            f"{name} needs a constructor without arguments, because the flow host creates it; "
            "read inputs from the request body or the session instead"
        )
    if "__accord_workflow__" not in flow_class.__dict__:
        problems.append(
            f"{name} has no workflow definition; define it at the top level of an importable module"
        )


def _check_protocol(declared: flows.FlowProtocol, name: str, problems: list[str]) -> bool:
    valid = True
    if not isinstance(declared.protocol, str) or not declared.protocol.strip():
        problems.append(f"{name} declares protocol {declared.protocol!r}; a protocol is a non-empty string")
        valid = False
    versions = declared.versions
    if not versions or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in versions):
        problems.append(
            f"{name} declares versions {list(versions)!r} for {declared.protocol!r}; "
            "versions are one or more positive integers"
        )
        valid = False
    elif len(set(versions)) != len(versions):
        problems.append(f"{name} lists a version twice in {list(versions)!r}; list each version once")
        valid = False
    return valid
