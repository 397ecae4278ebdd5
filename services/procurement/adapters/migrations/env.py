from services.procurement.adapters.models import Base
from shared.migrations import run_env

run_env("procurement", Base.metadata)
