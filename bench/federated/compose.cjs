// Composes subgraphs into a supergraph with Apollo's composition library.
// stdin: [{"name", "url", "sdl"}]; stdout: {"errors": [...], "hints": [...], "supergraphSdl"}.
const { composeServices } = require("@apollo/composition");
const { parse } = require("graphql");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const subgraphs = JSON.parse(input).map(({ name, url, sdl }) => ({
    name,
    url,
    typeDefs: parse(sdl),
  }));
  const result = composeServices(subgraphs);
  process.stdout.write(
    JSON.stringify({
      errors: (result.errors ?? []).map((error) => error.message),
      hints: (result.hints ?? []).map((hint) => hint.message),
      supergraphSdl: result.supergraphSdl ?? null,
    }),
  );
});
