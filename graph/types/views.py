"""What productViewTrack returns."""

import strawberry

from graph.types.user_error import UserError


@strawberry.type(description="The result of productViewTrack.")
class ViewTrackPayload:
    recorded: bool = strawberry.field(
        description="Whether the view was handed on to be counted: false when the input was "
        "refused, or when the workers could not be reached (the view is then lost)."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused; empty on success."
    )
