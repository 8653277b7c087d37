"""Production settings, checked the way an operator meets them: `manage.py` in a fresh process."""

import json
import secrets

import pytest
from django.conf import settings

from spacemanager.testing import manage_py, subprocess_database_url

REQUIRED = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"]

SHOW_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
    "CORS_ALLOWED_ORIGINS": settings.CORS_ALLOWED_ORIGINS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "DEBUG": settings.DEBUG,
    "STATICFILES": settings.STORAGES["staticfiles"]["BACKEND"],
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "SITE_URL": settings.SITE_URL,
    "CSP": settings.CONTENT_SECURITY_POLICY,
    "CSP_REPORT_ONLY": settings.CONTENT_SECURITY_POLICY_REPORT_ONLY,
    "EMAIL": [settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS],
}))
"""


@pytest.fixture
def production_env(db) -> dict[str, str | None]:
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48)[:50],
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "BASE_DOMAIN": "example.com",
        "SENTRY_DSN": None,
        "USE_HTTPS": None,
        "DEBUG": None,
    }


def show_settings(env: dict) -> dict:
    result = manage_py("shell", "-c", SHOW_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_production_settings(production_env):
    result = manage_py("check", "--deploy", "--fail-level", "WARNING", env=production_env)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("variable", REQUIRED)
def test_each_missing_variable_is_named_in_one_line(production_env, variable):
    result = manage_py("check", env={**production_env, variable: None})

    assert result.returncode == 1
    assert result.stderr.strip() == f"ImproperlyConfigured: {variable} must be set when ENVIRONMENT=production."


def test_a_short_secret_key_is_refused_in_one_line(production_env):
    result = manage_py("check", env={**production_env, "SECRET_KEY": "too-short"})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "ImproperlyConfigured: SECRET_KEY must be at least 32 characters long when ENVIRONMENT=production."
    )


@pytest.mark.parametrize(
    "key",
    [
        "compose-local-trial-only-secret-key-set-your-own-in-dotenv",
        "build-time-placeholder-for-collectstatic-only-000000",
        "django-insecure-development-only-key-never-used-in-production",
        "django-insecure-" + "x" * 50,
    ],
)
def test_a_published_secret_key_is_refused_in_production_however_long(production_env, key):
    result = manage_py("check", env={**production_env, "SECRET_KEY": key})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ImproperlyConfigured: SECRET_KEY is a published example key; set your own random one in production."
    )


@pytest.mark.parametrize("site_url", ["https://evil.example.net", "ftp://example.com", "https://example.com/app"])
def test_a_site_url_off_the_base_domain_is_refused_in_one_line(production_env, site_url):
    result = manage_py("check", env={**production_env, "SITE_URL": site_url})

    assert result.returncode == 1
    assert result.stderr.strip().startswith("ImproperlyConfigured: SITE_URL must be http(s)://example.com")


def test_links_default_to_https_on_the_base_domain_in_production(production_env):
    assert show_settings(production_env)["SITE_URL"] == "https://example.com"


def test_production_enforces_the_content_security_policy(production_env):
    values = show_settings(production_env)

    assert values["CSP"]["DIRECTIVES"]["script-src"] == ["'self'"]
    assert values["CSP"]["DIRECTIVES"]["form-action"] == ["'self'", "https://example.com:*", "https://*.example.com:*"]
    assert values["CSP_REPORT_ONLY"] is None


def test_production_derives_hosts_origins_and_https_from_base_domain(production_env):
    values = show_settings({**production_env, "BACKEND_CORS_ORIGINS": "https://app.example.org,https://x.example.net"})

    assert values["ALLOWED_HOSTS"] == ["example.com", ".example.com"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://example.com", "https://*.example.com"]
    assert values["CORS_ALLOWED_ORIGINS"] == ["https://app.example.org", "https://x.example.net"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["DEBUG"] is False
    assert values["STATICFILES"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert values["CACHE"] == "spacemanager.cache.FailOpenRedisCache"
    assert values["EMAIL"] == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", 587, True]


def test_proxy_header_is_configurable_and_can_be_switched_off(production_env):
    assert show_settings({**production_env, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Protocol"})[
        "SECURE_PROXY_SSL_HEADER"
    ] == ["HTTP_X_FORWARDED_PROTOCOL", "https"]
    assert show_settings({**production_env, "SECURE_PROXY_SSL_HEADER": ""})["SECURE_PROXY_SSL_HEADER"] is None


def test_plain_http_trial_mode_drops_redirect_and_secure_cookies(production_env):
    values = show_settings({**production_env, "USE_HTTPS": "false", "BASE_DOMAIN": "localhost"})

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert "http://*.localhost" in values["CSRF_TRUSTED_ORIGINS"]


def test_production_logs_one_json_object_per_line_on_stdout(production_env):
    result = manage_py(
        "shell",
        "-c",
        "import logging; logging.getLogger('spacemanager.probe').warning('disk %s full', 'nearly')",
        env=production_env,
    )

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["message"] == "disk nearly full"
    assert (record["level"], record["logger"], record["tenant"]) == ("WARNING", "spacemanager.probe", "public")
    assert {"time", "request_id", "user_id"} <= set(record)


@pytest.mark.parametrize(("dsn", "active"), [("https://public@sentry.example.invalid/1", True), (None, False)])
def test_sentry_is_initialised_only_when_a_dsn_is_set(production_env, dsn, active):
    result = manage_py(
        "shell",
        "-c",
        "import sentry_sdk; print(sentry_sdk.get_client().is_active())",
        env={**production_env, "SENTRY_DSN": dsn},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(active)
