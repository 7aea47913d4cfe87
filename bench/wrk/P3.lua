-- P3 (bench/workloads/P3-menu.graphql) for wrk, on the endCursor of `categories(first: 50)` on the catalog `gateway seed` makes:
--   wrk -t2 -c32 -d10s -s bench/wrk/P3.lua http://127.0.0.1:8000/graphql
-- (the peers' figures in issue 17 were taken this way).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = "{\"query\": \"query Menu($after: String!) {\\n  categories(first: 20, after: $after) {\\n    edges {\\n      node {\\n        id\\n        name\\n        products(first: 10) { edges { node { name priceRange { min { amount currency } } } } }\\n      }\\n    }\\n  }\\n}\\n\", \"variables\": {\"after\": \"WyJDQVRFR09SWSIsMSwzLCJXYXRjaGVzIiwyMl0=\"}}"
