"""A real federation router around the gateway, for the federated bench and the tests: Apollo's
composition and Apollo Gateway from the npm registry, run with the machine's Node.js."""
