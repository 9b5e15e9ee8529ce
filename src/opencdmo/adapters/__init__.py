"""Adapters: storage (SQLAlchemy), scenario files. They depend on the domain, never the other way round."""
