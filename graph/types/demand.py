"""`@cost` and `@listSize`: the demand-control directives (IBM's GraphQL Cost Directives, which
Apollo Federation adopted in v2.9) that tell a client and the gateway what a field costs before
it runs.

Fields carry Federation's own directives, so the subgraph SDL imports them with `@link` and a
router's demand control reads them; the public SDL (`schema.graphql`, graph.sdl) defines them
itself, as `PUBLIC_DEFINITIONS` says. Federation takes only integer slicing arguments, so a
list sized by a list argument (`nodes(ids:)`) says so in its field's metadata (`sized_by`), which
this gateway's cost model reads and no SDL shows; its `assumedSize` is the field's cap.
"""

import strawberry
from strawberry.federation.schema_directives import Cost, ListSize

# How the public SDL, which links no specification, defines the two directives (the text is
# parsed and printed again, so only the descriptions' wording matters here).
_LIST_SIZE = (
    "How many items a list field returns, for cost analysis: the value of the first slicing "
    "argument given, else `assumedSize`; with `sizedFields` the size applies to those fields "
    "of the returned object (a connection's `edges`)."
)
_COST = "What the field costs beyond the default (objects 1, scalars and enums 0)."
PUBLIC_DEFINITIONS = f"""
\"\"\"{_LIST_SIZE}\"\"\"
directive @listSize(
  assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean
) on FIELD_DEFINITION

\"\"\"{_COST}\"\"\"
directive @cost(weight: Int!) on FIELD_DEFINITION
"""


def cost(weight: int) -> Cost:
    return Cost(weight=weight)


def list_size(
    *,
    assumed_size: int | None = strawberry.UNSET,
    slicing_arguments: list[str] | None = strawberry.UNSET,
    sized_fields: list[str] | None = strawberry.UNSET,
    require_one_slicing_argument: bool | None = strawberry.UNSET,
) -> ListSize:
    """UNSET, not None or Federation's default: an argument left out is left out of the
    printed schema too."""
    return ListSize(
        assumed_size=assumed_size,
        slicing_arguments=slicing_arguments,
        sized_fields=sized_fields,
        require_one_slicing_argument=require_one_slicing_argument,
    )


SIZED_BY = "gateway.sized_by"


def sized_by(argument: str) -> dict[str, str]:
    """Field metadata: the list returns as many items as this list argument holds."""
    return {SIZED_BY: argument}


# A connection field's page: `first` or `last`, else the default page of 20, on its `edges`.
PAGED = list_size(
    assumed_size=20,
    slicing_arguments=["first", "last"],
    sized_fields=["edges"],
    require_one_slicing_argument=False,
)
# A COUNT over the matching rows: dearer than reading a column.
COUNT = cost(10)
