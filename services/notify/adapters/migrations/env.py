from services.notify.adapters.models import Base
from shared.migrations import run_env

run_env("notify", Base.metadata)
