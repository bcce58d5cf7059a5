"""Generation jobs: from the designer's request to a new library version, resumable."""

from studio.jobs.gate import CreditGate, NoAccountGate
from studio.jobs.runner import JobPaused, Jobs, job_fraction

__all__ = ["CreditGate", "JobPaused", "Jobs", "NoAccountGate", "job_fraction"]
