"""The cache behind the loaders: Redis in production, an in-process map in the embedded default.

Keys live under a namespace with a schema version, so a deploy that changes a row's shape never
reads entries written by the previous one.
"""
