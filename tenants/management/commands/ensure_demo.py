from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Organization

DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = f"owner@{DEMO_SLUG}.example.com"


class Command(BaseCommand):
    help = "Create and fill the demo organization once (development only) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("The demo organization is for development; ENVIRONMENT is production.")
        call_command("seed_demo", slug=DEMO_SLUG, stdout=self.stdout, stderr=self.stderr)
        organization = Organization.objects.get(slug=DEMO_SLUG)
        port = options["port"]
        self.stdout.write(
            f"\n  Public site:   http://{settings.BASE_DOMAIN}:{port}/\n"
            f"  Demo site:     {organization.url(port=port)}\n"
            f"  Demo owner:    {DEMO_OWNER_EMAIL} / {settings.DEMO_OWNER_PASSWORD}\n"
            f"  Demo admin:    admin@{DEMO_SLUG}.example.com / {settings.DEMO_OWNER_PASSWORD}\n"
        )
