"""The `possibleTypes` map a client cache needs (Apollo Client's InMemoryCache, urql's
Graphcache): every interface and union with the object types it may be, sorted. Names that
start with `_` are GraphQL's own and Federation's (`_Entity`), which no client asks for."""

from graphql import GraphQLSchema, is_abstract_type


def possible_types_of(schema: GraphQLSchema) -> dict[str, list[str]]:
    return {
        name: sorted(possible.name for possible in schema.get_possible_types(graphql_type))
        for name, graphql_type in sorted(schema.type_map.items())
        if is_abstract_type(graphql_type) and not name.startswith("_")
    }
