"""The cost of an operation as it will execute: every field 1, times the page sizes above it.

Page sizes are read from the variables actually sent (a declared default only when the
variable is omitted), so ``query($n: Int = 1) { leads(first: $n) … }`` sent with ``{"n": 100}``
costs what it will fetch. The same function serves HTTP and websocket operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
DEFAULT_PAGE = 20
INTROSPECTION_COST = 500  # the whole schema: charged like a large page
# list fields and what they return when `first` is omitted (the schema's defaults), or at most
LIST_FIELD_SIZES = {
    "leads": DEFAULT_PAGE,
    "searchLeads": DEFAULT_PAGE,
    "purchases": DEFAULT_PAGE,
    "returnsToReview": DEFAULT_PAGE,
    "deadLetters": DEFAULT_PAGE,
    "auditLog": DEFAULT_PAGE,
    "priceHistory": DEFAULT_PAGE,
    "creditTransactions": DEFAULT_PAGE,
    "items": 50,  # cart items: at most the largest tier's cart
    "similarLeads": 10,
    "recommendedLeads": 10,
}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _field_weight(field: FieldNode) -> int:
    return INTROSPECTION_COST if field.name.value == "__schema" else 1


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
    # an omitted `first` is the field's default page, not one item
    return LIST_FIELD_SIZES.get(field.name.value, 1)


@dataclass
class _Walk:
    """One walk over an operation: each fragment is measured once, however often it is spread
    (a chain of fragments that each spread the next twice would otherwise cost 2^n steps)."""

    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    costs: dict[str, int] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    alias_counts: dict[str, int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)

    def cost(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                children = self.cost(selection.selection_set)
                total += _field_weight(selection) + _page_size(selection, self.variables) * children
            elif isinstance(selection, InlineFragmentNode):
                total += self.cost(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, self.costs, self.cost)
        return total

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.depth(selection.selection_set)
                # __Type.ofType is a chain, not a fan-out (each level has one child and ends at a
                # named type), so it adds no depth: GraphiQL's and every tool's standard schema
                # introspection (ofType nested 9 levels) stays within the limit
                step = 0 if selection.name.value == "ofType" else 1
                deepest = max(deepest, step + inner if selection.selection_set is not None else 0)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(selection.name.value, self.depths, self.depth))
        return deepest

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += (1 if selection.alias is not None else 0) + self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, self.alias_counts, self.aliases)
        return total

    def _fragment(self, name: str, memo: dict[str, int], measure: Any) -> int:
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:  # unknown or cyclic: validation reports it
            return 0
        self.active.add(name)
        try:
            value = int(measure(fragment.selection_set))
        finally:
            self.active.discard(name)
        memo[name] = value
        return value


def selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """Cost of a selection set: each field its weight plus its children times its page size."""
    return _Walk(fragments, variables).cost(selection_set)


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


@dataclass(frozen=True)
class OperationShape:
    """What admission needs to know of the operation that will run: cost, depth and aliases."""

    cost: int
    depth: int
    aliases: int = 0


def operation_shape(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> OperationShape:
    """Cost (with the variables sent, declared defaults otherwise), depth and aliases as if every
    fragment were expanded, computed in linear time (each fragment measured once)."""
    operation = selected_operation(document, operation_name)
    if operation is None:
        return OperationShape(1, 0)
    values = {**_defaults(operation), **dict(variables or {})}
    walk = _Walk(_fragments(document), values)
    selections = operation.selection_set
    return OperationShape(walk.cost(selections), walk.depth(selections), walk.aliases(selections))


def operation_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The cost of the operation that will run, with the variables sent (declared defaults otherwise)."""
    return operation_shape(document, operation_name, variables).cost


def page_variables(document: DocumentNode, operation_name: str | None) -> tuple[str, ...]:
    """The variables the operation's shape depends on: those given as a page size (``first: $n``)
    anywhere in the operation or the document's fragments. Nothing else of the shape reads them."""
    operation = selected_operation(document, operation_name)
    if operation is None:
        return ()
    names: dict[str, None] = {}
    selections = [operation.selection_set, *(f.selection_set for f in _fragments(document).values())]
    while selections:
        selection_set = selections.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value in PAGE_ARGUMENTS and isinstance(argument.value, VariableNode):
                        names[argument.value.name.value] = None
            inner = getattr(selection, "selection_set", None)  # fields and inline fragments
            if inner is not None:
                selections.append(inner)
    return tuple(names)


def page_key(variables: Mapping[str, Any] | None, names: tuple[str, ...]) -> tuple[Any, ...]:
    """What the shape reads of these variables: each page variable as ``_page_size`` reads it
    (an integer in range; any other value, which counts as ASSUMED_PAGE; or not sent, for its
    declared default)."""
    sent = variables or {}
    return tuple(_page_value(sent[name]) if name in sent else _NOT_SENT for name in names)


_NOT_SENT, _OTHER = "not sent", "other"


def _page_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX:
        return value
    return _OTHER


def root_field_names(document: DocumentNode, operation_name: str | None) -> list[str]:
    """The root fields the operation selects (through fragments, each visited once), in order."""
    operation = selected_operation(document, operation_name)
    if operation is None:
        return []
    names: list[str] = []
    _root_fields(operation.selection_set, _fragments(document), set(), names)
    return names


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    visited: set[str],
    names: list[str],
) -> None:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _root_fields(selection.selection_set, fragments, visited, names)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in visited:
                visited.add(fragment.name.value)
                _root_fields(fragment.selection_set, fragments, visited, names)
