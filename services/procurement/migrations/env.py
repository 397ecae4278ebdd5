from services.procurement.models import Base
from shared.migrations import run_env

run_env("procurement", Base.metadata)
