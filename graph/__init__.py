"""The GraphQL gateway: Strawberry types, loaders, the HTTP app and the command line."""
