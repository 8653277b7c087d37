"""SpaceManager settings, read from the environment through one `environ.Env` (see README and .env.example)."""

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from spacemanager import embedded
from spacemanager.beat import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

ENVIRONMENT = env.str("ENVIRONMENT", default="development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"ENVIRONMENT must be development, test or production, not {ENVIRONMENT!r}.")
IS_PRODUCTION = ENVIRONMENT == "production"
# Under pytest the test settings apply whatever ENVIRONMENT says, so `pytest path::test` just works.
TESTING = ENVIRONMENT == "test" or "pytest" in sys.modules


def _required_in_production(name: str) -> str:
    value = env.str(name, default="")
    if IS_PRODUCTION and not value:
        raise ImproperlyConfigured(f"{name} must be set when ENVIRONMENT=production.")
    return value


DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"  # noqa: S105
# Keys that were ever published (this file, docker-compose.yml, the Dockerfile): anyone could sign tokens
# and sessions with them. Production refuses them, and Django's "django-insecure-" ones, however long.
PUBLISHED_SECRET_KEYS = {
    DEVELOPMENT_SECRET_KEY,
    "compose-local-trial-only-secret-key-set-your-own-in-dotenv",
    "build-time-placeholder-for-collectstatic-only-000000",
}
SECRET_KEY = _required_in_production("SECRET_KEY")
if IS_PRODUCTION and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long when ENVIRONMENT=production.")
if IS_PRODUCTION and (SECRET_KEY in PUBLISHED_SECRET_KEYS or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is a published example key; set your own random one in production.")
if not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

DEBUG = False if IS_PRODUCTION else env.bool("DEBUG", default=not TESTING)

BASE_DOMAIN = env.str("BASE_DOMAIN", default="localhost").lower()
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *env.list("EXTRA_ALLOWED_HOSTS", default=[])]
if not IS_PRODUCTION:
    ALLOWED_HOSTS += ["127.0.0.1", "testserver"]

# Databases and Redis: explicit URLs always win; outside production the embedded servers fill in.
_database_url = _required_in_production("DATABASE_URL")
if not _database_url:
    _database_url = embedded.postgres_url(BASE_DIR)
# `manage.py run_dev` hands the resolved URLs to the web, worker and beat processes it starts.
DATABASE_URL = _database_url
DATABASES = {"default": env.db_url_config(_database_url)}
# django-tenants' backend, without the per-request `SELECT 1` and repeated `SET search_path`
# (spacemanager/database/base.py): recovery after a PostgreSQL restart works as before.
DATABASES["default"]["ENGINE"] = "spacemanager.database"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Real server-side prepared statements: psycopg binds parameters on the server and prepares a statement
# from its first use, so PostgreSQL plans each of our few query shapes once per connection. They stay
# correct across schema switches: PostgreSQL re-plans a prepared statement when search_path changes.
DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 1})
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

REDIS_URL = _required_in_production("REDIS_URL") or embedded.redis_url(BASE_DIR)

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "spacemanager.apps.PlatformAdminConfig",  # django.contrib.admin, superusers only
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_guid",
    "bootstrap",
    "django_htmx",
]
TENANT_APPS = [
    "spaces",
    "reservations",
    "equipment",
    "reports",
    "integrations",
    "billing",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# Send `SET search_path` once per schema switch instead of before every cursor: a round trip saved per query.
TENANT_LIMIT_SET_CALLS = True
# Each process remembers which organization a host serves for this long (tenants.middleware): a query saved
# per request. Deactivating an organization takes effect at once in the process that does it, and within
# this many seconds everywhere. Off under pytest, where rolled-back transactions would leave it stale.
TENANT_CACHE_SECONDS = env.float("TENANT_CACHE_SECONDS", default=0 if TESTING else 5)
# `migrate_schemas --executor=multiprocessing` migrates this many schemas at once (django-tenants' default: 2).
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)
# `migrate_schemas` migrates only the schemas missing a tenant migration, found in one query per 100
# schemas, and asks the catalog cheaply while it does (tenants/migrate.py): linear, not quadratic.
GET_EXECUTOR_FUNCTION = "tenants.migrate.get_executor"
# Sign-up renames a pre-built spare schema instead of building one (tenants/spare_schemas.py): this many are
# kept ready, refilled after each sign-up that takes one, every SPARE_SCHEMAS_REFILL_SECONDS and by every
# migrate_schemas. 0 turns the pool off (sign-up builds). Off under pytest unless a test turns it on.
SPARE_SCHEMAS = env.int("SPARE_SCHEMAS", default=0 if TESTING else 5)
SPARE_SCHEMAS_REFILL_SECONDS = env.int("SPARE_SCHEMAS_REFILL_SECONDS", default=60)
if SPARE_SCHEMAS < 0 or not 10 <= SPARE_SCHEMAS_REFILL_SECONDS <= 3600:
    raise ImproperlyConfigured("SPARE_SCHEMAS must be 0 or more, SPARE_SCHEMAS_REFILL_SECONDS 10 to 3600.")

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "spacemanager.health.HealthCheckMiddleware",
    "tenants.middleware.OrganizationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "spacemanager.content_security.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "spacemanager.logging.RequestContextMiddleware",
    # After routing and authentication (it keys by organization and person): Idempotency-Key and form tokens.
    "spacemanager.idempotent_requests.IdempotentRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "spacemanager.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "spacemanager.urls_public"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.membership",
            ],
            "libraries": {"ui": "spacemanager.templatetags.ui"},
        },
    },
]

WSGI_APPLICATION = "spacemanager.wsgi.application"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# argon2id with OWASP's parameters (accounts/hashers.py); PBKDF2 stays second so the hashes made before
# argon2 still verify, and Django re-hashes each with argon2id at that person's next login.
PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Hashing is deliberately slow; tests create hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (space photos, floor plans) go through the default storage: local files under MEDIA_ROOT,
# served by the organization's own host with signed, expiring URLs (spaces.images); or, when S3_BUCKET is
# set, S3-compatible object storage (AWS S3, DigitalOcean Spaces, MinIO) through django-storages, private,
# served by presigned URLs. Names always start with the organization's schema (docs/operations.md).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
MEDIA_URL_EXPIRY_SECONDS = env.int("MEDIA_URL_EXPIRY_SECONDS", default=3600)
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)
# Photos up to this size are cleaned (metadata removed) and get their thumbnail in the request; larger ones from
# a worker, through the outbox (re-encoding a 12-megapixel PNG or WebP takes seconds).
PHOTO_INLINE_MAX_BYTES = env.int("PHOTO_INLINE_MAX_BYTES", default=1024 * 1024)
S3_BUCKET = env.str("S3_BUCKET", default="")
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="")
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="")
S3_REGION = env.str("S3_REGION", default="")
# A public address for presigned URLs when browsers reach the storage elsewhere than the web containers do
# (Compose: http://localhost:9000 for MinIO, reached inside as http://minio:9000).
S3_PUBLIC_ENDPOINT_URL = env.str("S3_PUBLIC_ENDPOINT_URL", default="")


def s3_storage(**overrides) -> dict:
    """The default storage's STORAGES entry for S3 (tests start a loopback S3 server and pass its address)."""
    options = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": S3_ENDPOINT_URL or None,
        "access_key": S3_ACCESS_KEY_ID or None,
        "secret_key": S3_SECRET_ACCESS_KEY or None,
        "region_name": S3_REGION or None,
        "default_acl": None,  # the bucket's own (private) policy; never public-read
        "querystring_auth": True,  # every URL is presigned ...
        "querystring_expire": MEDIA_URL_EXPIRY_SECONDS,  # ... and expires
        "file_overwrite": False,
        "addressing_style": "path",  # MinIO and loopback servers have no per-bucket host names
        "signature_version": "s3v4",
        "custom_domain": None,
    }
    options.update(overrides)
    return {"BACKEND": "spaces.images.S3MediaStorage", "OPTIONS": options}


LOCAL_MEDIA_STORAGE = {"BACKEND": "spaces.images.SignedFileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
# Files browsers ask for at the site's root (/favicon.ico), served by whitenoise on every host.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": s3_storage() if S3_BUCKET else LOCAL_MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, failing open (spacemanager/cache.py): with Redis down, logins and pages keep working.
REDIS_CACHE = {"BACKEND": "spacemanager.cache.FailOpenRedisCache", "LOCATION": REDIS_URL}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"} if TESTING else REDIS_CACHE}

# Development writes every message as a file under .data/mail/; pytest swaps in the in-memory backend.
# Production needs a real one: confirmations and reminders would otherwise pile up in the container.
# (django-environ keeps an absolute file path only with four slashes: filemail:////abs/path.)
_email = env.email_url_config(_required_in_production("EMAIL_URL") or f"filemail:///{BASE_DIR / '.data' / 'mail'}")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = str(BASE_DIR / _email["EMAIL_FILE_PATH"]) if _email.get("EMAIL_FILE_PATH") else ""
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"SpaceManager <no-reply@{BASE_DOMAIN}>")

# Background work: Celery reads every CELERY_* setting (spacemanager/celery.py, docs/background.md).
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with one reused client per connection pool, not a new one per publish.
CELERY_BROKER_TRANSPORT = "spacemanager.broker:Transport"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# visibility_timeout: an unacknowledged message (acks_late, worker gone) is delivered again after it; it
# must outlast the longest countdown we use (retry backoff is capped at 600 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1}
# Queuing while Redis is down gives up after about half a second instead of hanging the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Two queues, both consumed by a worker started without -Q: "celery" for emails and other user-facing work,
# "sweeps" for the periodic batches over every organization (spacemanager/beat.py). Give "sweeps" its own
# worker at scale (`-Q sweeps`) so emails never wait behind a tick (docs/operations.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {}, "sweeps": {}}
CELERY_TASK_ROUTES = {
    "tenants.tasks.sweeps_fan_out": {"queue": "sweeps"},
    "tenants.tasks.sweep_batch": {"queue": "sweeps"},
    "tenants.tasks.public_tables_prune": {"queue": "sweeps"},
    "tenants.tasks.spare_schemas_refill": {"queue": "sweeps"},
}
# Celery closes the database connection around every task by default: a new connection (and a cold
# catalog cache) per task. Keep it for this many tasks instead; CONN_MAX_AGE still bounds its age.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "UTC"
REMINDER_LEAD_MINUTES = env.int("REMINDER_LEAD_MINUTES", default=60)
PENDING_EXPIRY_MINUTES = env.int("PENDING_EXPIRY_MINUTES", default=1440)
# Approvers are reminded of a request this long before it expires (if it was made before then).
APPROVAL_REMINDER_MINUTES = env.int("APPROVAL_REMINDER_MINUTES", default=120)
# The issue promises reminders at most 5 minutes late: the sweep runs at least that often.
REMINDER_SWEEP_SECONDS = env.int("REMINDER_SWEEP_SECONDS", default=300)
if not 10 <= REMINDER_SWEEP_SECONDS <= 300:
    raise ImproperlyConfigured("REMINDER_SWEEP_SECONDS must be between 10 and 300.")
if REMINDER_LEAD_MINUTES < 1 or PENDING_EXPIRY_MINUTES < 1:
    raise ImproperlyConfigured("REMINDER_LEAD_MINUTES and PENDING_EXPIRY_MINUTES must be positive.")
# How often the relay queues what committed changes wrote to the outbox (tenants/outbox.py).
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=2)
if not 0.5 <= OUTBOX_RELAY_SECONDS <= 60:
    raise ImproperlyConfigured("OUTBOX_RELAY_SECONDS must be between 0.5 and 60.")
# The issue: a booking nobody checked in is released within a minute after its grace ends.
NO_SHOW_SWEEP_SECONDS = env.int("NO_SHOW_SWEEP_SECONDS", default=60)
if not 10 <= NO_SHOW_SWEEP_SECONDS <= 60:
    raise ImproperlyConfigured("NO_SHOW_SWEEP_SECONDS must be between 10 and 60.")
CELERY_BEAT_SCHEDULE = beat_schedule(
    sweep_seconds=REMINDER_SWEEP_SECONDS,
    relay_seconds=OUTBOX_RELAY_SECONDS,
    no_show_seconds=NO_SHOW_SWEEP_SECONDS,
    spare_schemas_seconds=SPARE_SCHEMAS_REFILL_SECONDS,
)

# Room displays (spaces.displays): how often a tablet asks for the room's state again.
DISPLAY_REFRESH_SECONDS = env.int("DISPLAY_REFRESH_SECONDS", default=15)
if not 1 <= DISPLAY_REFRESH_SECONDS <= 300:
    raise ImproperlyConfigured("DISPLAY_REFRESH_SECONDS must be between 1 and 300.")

# Webhooks (integrations/http.py): production refuses URLs that resolve to loopback, private, link-local or
# metadata addresses; development and tests allow them, so a receiver on this machine works after `make run`.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=not IS_PRODUCTION)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10)

CORS_ALLOWED_ORIGINS = env.list("BACKEND_CORS_ORIGINS", default=[])
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Before the JWT class: it would try to decode an `sm_…` key as a token.
        "accounts.api_key_authentication.ApiKeyAuthentication",
        "accounts.authentication.OrganizationJWTAuthentication",
        "accounts.authentication.OrganizationSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsOrganizationMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["spacemanager.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "spacemanager.pagination.DefaultPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "spacemanager.filtering.StrictDjangoFilterBackend",
        "spacemanager.strict.StrictOrderingFilter",  # an ordering the view does not offer is a 400
    ],
    "DEFAULT_SCHEMA_CLASS": "spacemanager.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "spacemanager.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Scoped throttles (login, register, password reset) count in the default cache: Redis outside tests,
    # shared by every web process. spacemanager.ratelimit applies the same scopes and rates to the pages.
    "DEFAULT_THROTTLE_RATES": {
        # Logins count failures only (accounts/login_limits.py): per address, whatever the account ...
        "login": env.str("THROTTLE_RATE_LOGIN", default="10/minute"),
        # ... and per account at one address, tightly ("<n>/<k><unit>", e.g. 5/15m, is accepted here).
        "login_account_address": env.str("THROTTLE_RATE_LOGIN_ACCOUNT_ADDRESS", default="5/15m"),
        "refresh": env.str("THROTTLE_RATE_REFRESH", default="60/minute"),
        "register": env.str("THROTTLE_RATE_REGISTER", default="10/hour"),
        "password_reset": env.str("THROTTLE_RATE_PASSWORD_RESET", default="5/hour"),
        # "Find my organization" by email, per client address (each address also gets one email an hour at most).
        "find_organization": env.str("THROTTLE_RATE_FIND_ORGANIZATION", default="5/hour"),
    },
    # Behind N proxies the client address is the Nth from the right of X-Forwarded-For; 0 (the default) means
    # REMOTE_ADDR. Never None: DRF would then trust the whole X-Forwarded-For header, which clients write.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

# Per account, whatever the address: after this many failures in a day each further one doubles the wait, up to
# the maximum; not at an address the account logged in from successfully in the last LOGIN_TRUSTED_ADDRESS_DAYS.
LOGIN_BACKOFF_AFTER_FAILURES = env.int("LOGIN_BACKOFF_AFTER_FAILURES", default=10)
LOGIN_BACKOFF_MAX_SECONDS = env.int("LOGIN_BACKOFF_MAX_SECONDS", default=900)
LOGIN_TRUSTED_ADDRESS_DAYS = env.int("LOGIN_TRUSTED_ADDRESS_DAYS", default=30)

SIMPLE_JWT = {
    "ALGORITHM": env.str("ALGORITHM", default="HS256"),
    "SIGNING_KEY": SECRET_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_EXPIRE_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_EXPIRE_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

_ACCESS_MINUTES = int(SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() // 60)
SPECTACULAR_SETTINGS = {
    "TITLE": "SpaceManager API",
    "DESCRIPTION": f"""Multi-tenant space rental and room booking: spaces, their availability, reservations,
members and monthly reports.

## Hosts: one per organization
Every organization has its own host, `<slug>.{BASE_DOMAIN}` (for example `acme.{BASE_DOMAIN}`), and its API
lives there under `/api/v1/`. The public host, `{BASE_DOMAIN}`, serves only registration
(`POST /api/v1/auth/register`), which creates an organization, its host and its owner. A path asked of the
wrong kind of host answers 404. Locally, send the host in a `Host` header
(`curl -H 'Host: acme.{BASE_DOMAIN}:8000' http://127.0.0.1:8000/api/v1/...`).

## Tokens: bound to one organization
`POST /api/v1/auth/login` on an organization's host returns an access token and a refresh token for that
organization only. Send the access token as `Authorization: Bearer <access>`; it lasts
{_ACCESS_MINUTES} minutes. `POST /api/v1/auth/refresh` trades the refresh token for a new pair
(the old refresh token stops working), and `POST /api/v1/auth/logout` revokes it. A token used on
another organization's host answers 401 with code `token_wrong_organization`; one person who belongs to
several organizations logs in on each host.

## Answers
JSON; times are ISO 8601 with their UTC offset, shown in the organization's time zone (naive times are
refused). Lists are paginated (`page`, `page_size` up to 100) with `count`, `next` and `previous`. Errors
carry a stable `code` to branch on: `{{"detail": "...", "code": "..."}}`, or for invalid input each field
with its messages (`{{"ends_at": ["The end must be after the start."], "code": "ends_before_start"}}`).
Login, refresh and registration are rate limited: 429 with `Retry-After`.""",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: Swagger UI would send the schema to an outside validation service.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": True},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Two choice sets are called `kind` (spaces, calendar feeds): name them, or the schema gets a hash.
    "ENUM_NAME_OVERRIDES": {
        "SpaceKindEnum": "spaces.models.Space.Kind",
        "CalendarFeedKindEnum": "integrations.models.CalendarFeed.Kind",
        # Invitations and webhook deliveries have a `status` too: a stable name for the reservations' one.
        "ReservationStatusEnum": "reservations.models.Reservation.Status",
        "InvoiceStatusEnum": "billing.models.Invoice.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "spacemanager.openapi.describe_tags",
        "spacemanager.openapi.real_pagination_examples",
        "spacemanager.openapi.date_examples_from_now",
        "spacemanager.openapi.closed_request_bodies",
    ],
}

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"
# A stale or missing CSRF token gets a friendly page that says what to do, not Django's technical one.
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
# The one-time link that logs a new owner in on their organization's host right after sign-up.
SIGNUP_LOGIN_MAX_AGE = 120
# Encrypts stored secrets (single sign-on client secrets). Defaults to a key derived from SECRET_KEY; set it to
# rotate SECRET_KEY without losing them (any string; it is hashed into a Fernet key).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="") or SECRET_KEY
# How long an emailed invitation to join an organization works (resending starts the time again).
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)

# One line per record on stdout, JSON in production (LOG_FORMAT=json|plain), each with the request id
# (X-Request-ID), the tenant's schema and the user id (spacemanager.logging).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "spacemanager.logging.RequestContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s user=%(user_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant)s %(user_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
        # WeasyPrint logs every step of every invoice PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,  # an invalid incoming id is replaced, so clients cannot inject text into logs
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,  # CORS_EXPOSE_HEADERS exposes it; django-guid would overwrite corsheaders' list
    "IGNORE_URLS": ["health"],
}

# Development only: the password `make run` gives the demo organization's owner (printed at start).
DEMO_OWNER_PASSWORD = env.str("DEMO_OWNER_PASSWORD", default="spacemanager-demo")

# Production: HTTPS everywhere (check --deploy --fail-level WARNING passes), see docs/operations.md.
# USE_HTTPS=false exists only to try the production image on http://localhost (docker-compose.yml).
USE_HTTPS = IS_PRODUCTION and env.bool("USE_HTTPS", default=True)
if USE_HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # every organization is a subdomain
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Absolute links in emails (password reset, booking notices, reports) come from SITE_URL and the organization's
# host, never from a request's Host header, which the client writes (tenants.models.Organization.url).
# The public site's address with its scheme and, if not the default, port: https://rooms.example.com.
SITE_URL = env.str("SITE_URL", default=f"{'https' if USE_HTTPS else 'http'}://{BASE_DOMAIN}").rstrip("/")
try:
    _site = urlsplit(SITE_URL)
    _site_ok = _site.scheme in {"http", "https"} and _site.hostname == BASE_DOMAIN and not _site.path
    _site_ok = _site_ok and not (_site.query or _site.fragment or _site.username) and (_site.port or 1) > 0
except ValueError:  # e.g. a port that is not a number
    _site_ok = False
if not _site_ok:
    raise ImproperlyConfigured(f"SITE_URL must be http(s)://{BASE_DOMAIN} with an optional :port, not {SITE_URL!r}.")

# Content-Security-Policy (django-csp): scripts and styles only from our static files, no inline code at all.
# Enforced in production; development sends it report-only (the browser console lists violations), as DRF's
# browsable API there has inline script. Forms may post to the public site and every organization's site
# (sign-up and "find my organization" redirect there). The API docs relax styles (spacemanager.api_urls).
_site_scheme = urlsplit(SITE_URL).scheme
CONTENT_SECURITY_POLICY_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # Bootstrap's form controls draw their icons from data: SVGs; photos may come from object storage.
    "img-src": ["'self'", "data:", *(url for url in [S3_PUBLIC_ENDPOINT_URL or S3_ENDPOINT_URL] if url and S3_BUCKET)],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'", f"{_site_scheme}://{BASE_DOMAIN}:*", f"{_site_scheme}://*.{BASE_DOMAIN}:*"],
}
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CONTENT_SECURITY_POLICY_DIRECTIVES} if IS_PRODUCTION else None
CONTENT_SECURITY_POLICY_REPORT_ONLY = (
    None if IS_PRODUCTION or TESTING else {"DIRECTIVES": CONTENT_SECURITY_POLICY_DIRECTIVES}
)

# TLS usually ends at a proxy (load balancer, PaaS router) that forwards plain HTTP and says so in a header.
# Trust it only when that proxy always sets (or strips) the header; empty disables it.
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="X-Forwarded-Proto" if IS_PRODUCTION else "")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
_origin_schemes = ["https"] if USE_HTTPS else ["https", "http"]
CSRF_TRUSTED_ORIGINS = [
    *(f"{scheme}://{host}" for scheme in _origin_schemes for host in (BASE_DOMAIN, f"*.{BASE_DOMAIN}")),
    *env.list("EXTRA_CSRF_TRUSTED_ORIGINS", default=[]),
]

# Errors and traces to Sentry, only when SENTRY_DSN is set (its Django and Celery integrations switch on
# by themselves). No personal data is sent unless SENTRY_SEND_PII=true.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=ENVIRONMENT),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=env.bool("SENTRY_SEND_PII", default=False),
    )
