"""Load generator for the benchmark workloads (`make bench`)."""
