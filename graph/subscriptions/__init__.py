"""Subscriptions: one reader of the event stream per process, fanned out to subscribers."""
