"""UserError and its one code enum, documented value by value in the schema."""

from enum import Enum
from typing import Any

import strawberry

from db.writes.errors import DESCRIPTIONS
from db.writes.errors import UserErrorCode as DbUserErrorCode

UserErrorCode: Any = strawberry.enum(
    Enum(  # type: ignore[call-overload]
        "UserErrorCode",
        {
            code.name: strawberry.enum_value(code.value, description=DESCRIPTIONS[code])
            for code in DbUserErrorCode
        },
    ),
    description="Why a mutation refused its input. Every UserError carries one.",
)


@strawberry.type(description="An expected failure of a mutation, tied to the input field at fault.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='The path to the input field at fault, such as ["input", "price"].'
    )
    message: str = strawberry.field(description="What is wrong, for a person to read.")
    code: UserErrorCode = strawberry.field(description="What is wrong, for a program to act on.")
