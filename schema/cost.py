"""A static query-cost limit: every selected field costs 1, times the page sizes above it."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

# Page-size arguments and what a variable or an omitted argument is assumed to ask for.
PAGE_ARGUMENTS = ("first",)
ASSUMED_PAGE = 100


def _page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value not in PAGE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, int(value.value))
        if isinstance(value, VariableNode):
            default = variables.get(value.name.value)
            return max(1, int(default)) if isinstance(default, int) else ASSUMED_PAGE
    return 1


def selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
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
            if fragment is not None and name not in seen:  # cycles are reported by another rule
                total += selection_cost(fragment.selection_set, fragments, variables, seen | {name})
    return total


def cost_limit_rule(max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose static cost exceeds max_cost."""

    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            defaults = {
                v.variable.name.value: int(v.default_value.value)
                for v in node.variable_definitions or ()
                if isinstance(v.default_value, IntValueNode)
            }
            cost = selection_cost(node.selection_set, self._fragments, defaults)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"Query cost {cost} exceeds the limit of {max_cost}: ask for smaller pages "
                        "or fewer nested lists.",
                        node,
                        extensions={"code": "INVALID_INPUT"},
                    )
                )

    return CostLimit
