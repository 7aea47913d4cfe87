"""The Relay Node interface every addressable object implements."""

import strawberry


@strawberry.interface(description="An object with a global id, fetchable through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global id.")
