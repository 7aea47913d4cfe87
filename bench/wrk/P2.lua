-- P2 (bench/workloads/P2-category-listing.graphql) for wrk, on a leaf category `gateway seed` makes:
--   wrk -t2 -c32 -d10s -s bench/wrk/P2.lua http://127.0.0.1:8000/graphql
-- (the peers' figures in issue 17 were taken this way).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = "{\"query\": \"query CategoryListing($slug: String!) {\\n  category(slug: $slug) {\\n    products(first: 50, sortBy: {field: PRICE, direction: ASC}, includeSubcategories: false) {\\n      pageInfo { hasNextPage endCursor }\\n      edges { node { id name priceRange { min { amount currency } } } }\\n    }\\n  }\\n}\\n\", \"variables\": {\"slug\": \"everyday-laptops\"}}"
