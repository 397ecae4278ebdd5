from services.intake.adapters.models import Base
from shared.migrations import run_env

run_env("intake", Base.metadata)
