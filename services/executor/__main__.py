"""`python -m services.executor`: run an executor alone (REDIS_URL required)."""

from services.executor.app import serve
from taskflow.service_process import run_service

if __name__ == "__main__":
    run_service("executor", serve)
