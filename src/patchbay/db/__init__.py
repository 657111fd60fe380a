"""Storage: SQLAlchemy 2 async engine, ORM tables and Alembic migrations."""
