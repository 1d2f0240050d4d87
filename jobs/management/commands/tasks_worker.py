from django.core.management.base import BaseCommand

from jobs.worker import Worker


class Command(BaseCommand):
    help = "Run a background task worker (make run and make serve start them; docs/operations.md)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="seconds between polls of an empty queue")
        parser.add_argument("--max-tasks", type=int, default=None, help="stop after this many tasks")

    def handle(self, *args, interval=None, max_tasks=None, **options):
        Worker(interval=interval, max_tasks=max_tasks).run()
