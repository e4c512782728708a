"""The cost of an operation as it will execute: every field 1, times the page sizes above it.

Page sizes are read from the variables actually sent (a declared default only when the
variable is omitted), so ``query($n: Int = 1) { leads(first: $n) … }`` sent with ``{"n": 100}``
costs what it will fetch. The same function serves HTTP and websocket operations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

# Page-size arguments and what a variable that is not an integer is assumed to ask for.
PAGE_ARGUMENTS = ("first",)
ASSUMED_PAGE = 100
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _page_size(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value not in PAGE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, int(value.value))
        if isinstance(value, VariableNode):
            sent = variables.get(value.name.value)
            # outside GraphQL's Int range the variable is refused when it is coerced, before any work
            if isinstance(sent, int) and not isinstance(sent, bool) and INT_MIN <= sent <= INT_MAX:
                return max(1, sent)
            return ASSUMED_PAGE
    return 1


def selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    seen: frozenset[str] = frozenset(),
) -> int:
    """Cost of a selection set: each field 1 plus its children times its page size."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            children = selection_cost(selection.selection_set, fragments, variables, seen)
            total += 1 + _page_size(selection, variables) * children
        elif isinstance(selection, InlineFragmentNode):
            total += selection_cost(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # cycles are reported by validation
                total += selection_cost(fragment.selection_set, fragments, variables, seen | {name})
    return total


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def selected_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation that will run (None when the name matches none, or several are unnamed)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        return next((op for op in operations if op.name and op.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None


def _defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {
        v.variable.name.value: int(v.default_value.value)
        for v in operation.variable_definitions or ()
        if isinstance(v.default_value, IntValueNode)
    }


def operation_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The cost of the operation that will run, with the variables sent (declared defaults otherwise)."""
    operation = selected_operation(document, operation_name)
    if operation is None:
        return 1
    values = {**_defaults(operation), **dict(variables or {})}
    return selection_cost(operation.selection_set, _fragments(document), values)


def root_field_names(document: DocumentNode, operation_name: str | None) -> list[str]:
    """The root fields the operation selects (through fragments), in order."""
    operation = selected_operation(document, operation_name)
    if operation is None:
        return []
    return list(_root_fields(operation.selection_set, _fragments(document), frozenset()))


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: frozenset[str]
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                yield from _root_fields(fragment.selection_set, fragments, seen | {fragment.name.value})
