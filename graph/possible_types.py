"""The `possibleTypes` map a client cache needs (Apollo Client's InMemoryCache, urql's
Graphcache): every interface and union with the object types it may be, sorted."""

from graphql import GraphQLSchema, is_abstract_type


def possible_types_of(schema: GraphQLSchema) -> dict[str, list[str]]:
    return {
        name: sorted(possible.name for possible in schema.get_possible_types(graphql_type))
        for name, graphql_type in sorted(schema.type_map.items())
        if is_abstract_type(graphql_type) and not name.startswith("__")
    }
