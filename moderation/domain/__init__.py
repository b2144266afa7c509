"""The domain floor: what a comment, a score, a policy and a decision are, with no storage and no web.

Nothing here imports SQLAlchemy, Flask or Redis (an architecture test checks it): storage, the workers and
the web pages build on these types and render them at their own edge.
"""
