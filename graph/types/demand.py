"""`@cost` and `@listSize`: the demand-control directives (IBM's GraphQL Cost Directives, as Apollo
Router reads them) that tell a client and the gateway what a field costs before it runs."""

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="cost",
    description="What the field costs beyond the default (objects 1, scalars and enums 0).",
)
class Cost:
    weight: int


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="listSize",
    description="How many items a list field returns, for cost analysis: the value of the first "
    "slicing argument given (or the length of a list argument), else `assumedSize`; with "
    "`sizedFields` the size applies to those fields of the returned object (a connection's "
    "`edges`).",
)
class ListSize:
    # UNSET, not None: an argument left out is left out of the printed schema too.
    assumed_size: int | None = strawberry.UNSET
    slicing_arguments: list[str] | None = strawberry.UNSET
    sized_fields: list[str] | None = strawberry.UNSET
    require_one_slicing_argument: bool | None = strawberry.UNSET


# A connection field's page: `first` or `last`, else the default page of 20, on its `edges`.
PAGED = ListSize(
    assumed_size=20,
    slicing_arguments=["first", "last"],
    sized_fields=["edges"],
    require_one_slicing_argument=False,
)
# A COUNT over the matching rows: dearer than reading a column.
COUNT = Cost(weight=10)
