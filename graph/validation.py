"""Argument checks shared by resolvers; failures are BAD_USER_INPUT."""

from graph.errors import BadUserInput


def check_count(name: str, value: int | None, cap: int, default: int) -> int:
    if value is None:
        return default
    if not 0 <= value <= cap:
        raise BadUserInput(f"`{name}` must be between 0 and {cap}; got {value}.")
    return value


def check_text(name: str, value: str, max_length: int = 255) -> str:
    if "\x00" in value:
        raise BadUserInput(f"`{name}` must not contain NUL characters.")
    if len(value) > max_length:
        raise BadUserInput(f"`{name}` is longer than {max_length} characters.")
    return value
