"""`python -m services.monitor`: run the monitor alone (REDIS_URL required)."""

from services.monitor.app import serve
from taskflow.service_process import run_service

if __name__ == "__main__":
    run_service("monitor", serve)
