-- P1 (bench/workloads/P1-product-card.graphql) for wrk, on a product `gateway seed` makes:
--   wrk -t2 -c32 -d10s -s bench/wrk/P1.lua http://127.0.0.1:8000/graphql
-- (the peers' figures in issue 17 were taken this way). A warm gateway answers it from its
-- response cache after the first request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = "{\"query\": \"query ProductCard($slug: String!) {\\n  product(slug: $slug) {\\n    id\\n    name\\n    slug\\n    priceRange { min { amount currency } }\\n    category { id name }\\n  }\\n}\\n\", \"variables\": {\"slug\": \"sleek-aluminium-laptop-1\"}}"
