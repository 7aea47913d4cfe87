"""Mutation bodies: decode ids, call one db write function, shape the payload."""
