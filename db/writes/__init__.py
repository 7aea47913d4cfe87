"""The one write path: every change to the catalog goes through these functions.

Each runs inside a `WriteTransaction`, which records one `changes` row per changed entity and
commits them with the change itself, in commit order.
"""
