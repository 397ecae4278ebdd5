from services.assignment.adapters.models import Base
from shared.migrations import run_env

run_env("assignment", Base.metadata)
