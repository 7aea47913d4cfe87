// Apollo Gateway on 127.0.0.1:<port> over a supergraph file. Each subgraph request carries the
// caller's Authorization header, as a router must be told to do; prints its URL once listening.
// Usage: node gateway.cjs SUPERGRAPH_FILE PORT
const { readFileSync } = require("node:fs");
const { ApolloServer } = require("@apollo/server");
const { startStandaloneServer } = require("@apollo/server/standalone");
const { ApolloGateway, RemoteGraphQLDataSource } = require("@apollo/gateway");

class Forwarding extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) {
      request.http.headers.set("authorization", context.authorization);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.argv[2], "utf8"),
  buildService: ({ url }) => new Forwarding({ url }),
});
const server = new ApolloServer({ gateway });
startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.argv[3]) },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
}).then(
  ({ url }) => console.log(url),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.stop().finally(() => process.exit(0)));
}
