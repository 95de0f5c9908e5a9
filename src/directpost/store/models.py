"""Imports every model module so `Base.metadata` describes the whole schema (Alembic, tests).

Each part that owns tables adds one line here, in the form `from directpost.store import x as x`.
"""

from __future__ import annotations

from directpost.store import accounts as accounts
from directpost.store import lockdown as lockdown
from directpost.store import measures as measures
from directpost.store import notifications as notifications
from directpost.store import posts as posts
from directpost.store import prepared as prepared
from directpost.store import sessions as sessions
from directpost.store import team as team
from directpost.store import uploads as uploads
from directpost.store.base import Base as Base
