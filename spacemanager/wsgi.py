import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")

try:
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # Say what to fix in one line instead of a traceback in the server's log.
    sys.stderr.write(f"ImproperlyConfigured: {exc}\n")
    raise SystemExit(1) from None
