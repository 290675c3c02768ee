"""`python -m services.scheduler`: run the scheduler alone (REDIS_URL required)."""

from services.scheduler.app import serve
from taskflow.service_process import run_service

if __name__ == "__main__":
    run_service("scheduler", serve)
