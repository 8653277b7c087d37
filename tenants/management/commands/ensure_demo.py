from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Organization
from tenants.services import organization_register

DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example.com"


class Command(BaseCommand):
    help = "Create the demo organization once (development only) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("The demo organization is for development; ENVIRONMENT is production.")
        password = settings.DEMO_OWNER_PASSWORD
        organization = Organization.objects.filter(slug=DEMO_SLUG).first()
        if organization is None:
            organization = organization_register(
                organization_name="Demo Coworking",
                organization_slug=DEMO_SLUG,
                owner_email=DEMO_OWNER_EMAIL,
                owner_password=password,
                owner_full_name="Demo Owner",
                timezone="Europe/Paris",
                allow_existing_owner=True,
            ).organization
            self.stdout.write(self.style.SUCCESS("Created the demo organization."))
        port = options["port"]
        self.stdout.write(
            f"\n  Public site:   http://{settings.BASE_DOMAIN}:{port}/\n"
            f"  Demo site:     {organization.url(port=port)}\n"
            f"  Demo owner:    {DEMO_OWNER_EMAIL} / {password}\n"
        )
