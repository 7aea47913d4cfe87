"""Money, always a Decimal amount with its ISO 4217 currency."""

from decimal import Decimal

import strawberry


@strawberry.federation.type(shareable=True, description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description='The exact amount, such as "19.99".')
    currency: str = strawberry.field(description="The ISO 4217 currency code, such as USD.")


@strawberry.type(description="The lowest and highest prices of a product's variants.")
class MoneyRange:
    min: Money = strawberry.field(description="The lowest variant price.")
    max: Money = strawberry.field(description="The highest variant price.")
