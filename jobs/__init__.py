"""Scheduled jobs: plain task functions (jobs.tasks) and the scheduler that runs them
(jobs.scheduler, the one module importing APScheduler)."""
