"""Django settings for cippusers.

Everything comes from environment variables (see README's table) through the strict parsers in
``cippusers.env``. Unset, the project runs with embedded defaults: SQLite, a Celery broker on the file
system, the sandbox tenant enabled and DEBUG on, so a fresh clone runs with ``make run``. Setting
``DJANGO_ENV=production`` turns the defaults into production ones (DEBUG off, sandbox off, secrets
required).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from .dburl import parse_database_url
from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CIPPUSERS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

PRODUCTION = env_str("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env_str("SECRET_KEY") or (None if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "cippusers",
    "graph",
    "tenants",
    "users",
]

MIDDLEWARE = [
    # First: every response (redirects and errors of later middleware too) gets an id and an access log line.
    "cippusers.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # ?tenantFilter= (the reference product's name) is read as ?tenant= by every view.
    "cippusers.tenant_filter.TenantFilterAliasMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "cippusers.urls"
WSGI_APPLICATION = "cippusers.wsgi.application"

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
                "csp.context_processors.nonce",
                "tenants.context_processors.tenant_picker",
            ],
        },
    }
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": parse_database_url(_database_url, BASE_DIR)}
elif PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL must be set when DJANGO_ENV=production")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            # WAL + a generous busy timeout so web, worker and the embedded sandbox can share one file.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tenants:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The hashed, compressed manifest needs `collectstatic`; off, files are served under their own names.
STATICFILES_MANIFEST = env_bool("STATICFILES_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATICFILES_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Cache (token cache locks, sandbox throttling budget) -------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or ("" if PRODUCTION else "filesystem://")
if PRODUCTION and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CELERY_BROKER_URL or REDIS_URL must be set when DJANGO_ENV=production")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-broker"
    # kombu's filesystem transport does not create its folders.
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery-processed").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery-control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "store_processed": False,
        # kombu's default is ./control in the working directory (broadcast/exchange files).
        "control_folder": str(VAR_DIR / "celery-control"),
    }
else:
    # A task not acknowledged within this time is handed to another worker; longer than any task limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200)}
# The Job row in the database is the single source of truth for progress; task results are not kept.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=20)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT")
# Redis redelivers a message not acknowledged within the visibility timeout. With acks_late a task is
# acknowledged when it ends, so a timeout shorter than the longest allowed run would start a second copy of
# a task that is still running.
_visibility = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
if _visibility is not None and _visibility <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({_visibility}s) must exceed CELERY_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT}s), or running tasks are delivered a second time"
    )
# Three queues, each served by its own workers, so a 10,000-row import or a slow tenant sync never sits in
# front of a technician's click. README "Deployment" explains how to run them.
WORKER_QUEUES = ["interactive", "bulk", "sync"]
# Each queue bound to its own exchange and routing key: a bare Queue(name) would bind to the default
# exchange under the default queue's key, and one message would then reach every queue. A worker without
# -Q consumes all three.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in WORKER_QUEUES]
# A task nobody routed is assumed slow: it goes to bulk, never in front of a click.
CELERY_TASK_DEFAULT_QUEUE = "bulk"
CELERY_TASK_ROUTES = {
    # the technician is watching the research page of one user
    "users.research.run_research_job": {"queue": "interactive"},
    "users.research.run_remediation_job": {"queue": "interactive"},
    # action Jobs are the many-users (or long background) path; one-user actions run in the request
    "users.tasks.run_action_job": {"queue": "bulk"},
    "users.tasks.run_bulk_import": {"queue": "bulk"},
    # directory syncs and beat's housekeeping: periodic, tenant-sized, never a click
    "users.tasks.sync_tenant": {"queue": "sync"},
    "users.tasks.sync_due_tenants": {"queue": "sync"},
    "users.tasks.resume_stale_action_jobs": {"queue": "sync"},
    "users.tasks.resume_stale_bulk_imports": {"queue": "sync"},
}
# Workers write a heartbeat per queue this often; /healthz fails when a queue's newest is older than the max.
WORKER_HEARTBEAT_INTERVAL_SECONDS = 15
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env_int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", 90, minimum=30)
# Beat touches this file whenever it publishes (every minute); docker-compose's beat health check reads it.
BEAT_HEARTBEAT_FILE = str(VAR_DIR / "beat-heartbeat")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE: dict = {}
# How often each tenant's directory cache is refreshed; the users table calls a tenant stale after twice this.
USERS_SYNC_INTERVAL_MINUTES = env_int("USERS_SYNC_INTERVAL_MINUTES", 15, minimum=1)
# Every minute the beat queues a sync for each tenant not synced within USERS_SYNC_INTERVAL_MINUTES.
CELERY_BEAT_SCHEDULE["sync-due-tenants"] = {"task": "users.tasks.sync_due_tenants", "schedule": 60.0}
# --- User actions (users/actions) -----------------------------------------------------------------------
# A selection larger than this asks the technician to type the number of users before it runs.
ACTIONS_TYPE_COUNT_ABOVE = env_int("ACTIONS_TYPE_COUNT_ABOVE", 25, minimum=1)
# Up to this many users an action runs in the request; more (or a background action) becomes a Job.
ACTIONS_INLINE_MAX = env_int("ACTIONS_INLINE_MAX", 5, minimum=1, maximum=100)
# Actions that show a one-time secret always run in the request (never in a worker): at most this many.
ACTIONS_SECRET_MAX = env_int("ACTIONS_SECRET_MAX", 100, minimum=1, maximum=500)
# run= handlers (Exchange cmdlets, multi-step flows) per tenant at once; Exchange allows few concurrent calls.
ACTIONS_RUN_CONCURRENCY = env_int("ACTIONS_RUN_CONCURRENCY", 3, minimum=1, maximum=10)
# A running Job whose worker has not reported for this long is considered dead and is resumed.
ACTIONS_JOB_STALE_SECONDS = env_int("ACTIONS_JOB_STALE_SECONDS", 180, minimum=30)
CELERY_BEAT_SCHEDULE["resume-stale-action-jobs"] = {
    "task": "users.tasks.resume_stale_action_jobs",
    "schedule": 120.0,
}
# --- Research a user (users/research) --------------------------------------------------------------------
# Sources read at once for one user, and of those at most this many Exchange calls (Exchange allows few).
RESEARCH_CONCURRENCY = env_int("RESEARCH_CONCURRENCY", 4, minimum=1, maximum=16)
RESEARCH_EXCHANGE_CONCURRENCY = env_int("RESEARCH_EXCHANGE_CONCURRENCY", 2, minimum=1, maximum=8)
# --- Deleted users (users/deleted) ------------------------------------------------------------------------
# Tenants whose deleted items are read at once for the All tenants list.
DELETED_USERS_CONCURRENCY = env_int("DELETED_USERS_CONCURRENCY", 6, minimum=1, maximum=16)
# --- Bulk add users / invite guests (users/bulkadd) ------------------------------------------------------
# $batch calls in flight per import (halved on throttling, grown back when clean); rows per file.
BULKADD_CONCURRENCY = env_int("BULKADD_CONCURRENCY", 8, minimum=1, maximum=16)
BULKADD_MAX_ROWS = env_int("BULKADD_MAX_ROWS", 10_000, minimum=10_000, maximum=100_000)
# Hours the one-time password download stays possible (the key cookie's life); then everything is erased.
BULKADD_SECRET_TTL_HOURS = env_int("BULKADD_SECRET_TTL_HOURS", 24, minimum=1, maximum=168)
CELERY_BEAT_SCHEDULE["resume-stale-bulk-imports"] = {
    "task": "users.tasks.resume_stale_bulk_imports",
    "schedule": 120.0,
}

# --- Secrets at rest --------------------------------------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (prepend a new key to rotate, then run
# `manage.py rotate_field_key`). Development derives one from SECRET_KEY so `make run` needs nothing.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY", [])
if PRODUCTION and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DJANGO_ENV=production")

# --- Microsoft endpoints (public cloud defaults; a partner connection may carry its own) -----------------
MS_LOGIN_URL = env_str("MS_LOGIN_URL", "https://login.microsoftonline.com")
MS_GRAPH_URL = env_str("MS_GRAPH_URL", "https://graph.microsoft.com")
MS_EXCHANGE_URL = env_str("MS_EXCHANGE_URL", "https://outlook.office365.com")
GRAPH_TIMEOUT_SECONDS = env_int("GRAPH_TIMEOUT_SECONDS", 60, minimum=1)
GRAPH_MAX_ATTEMPTS = env_int("GRAPH_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
GRAPH_MAX_RETRY_AFTER_SECONDS = env_int("GRAPH_MAX_RETRY_AFTER_SECONDS", 120, minimum=1)
GRAPH_DRY_RUN = env_bool("GRAPH_DRY_RUN", False)
# Extra requests transport adapters by URL prefix (dotted path to a class); tests mount the in-process
# sandbox adapter here. Empty in production.
GRAPH_TRANSPORT_ADAPTERS: dict[str, str] = {}
# Partner connection endpoints outside Microsoft's public and national-cloud hosts (tenants/endpoints.py),
# e.g. "graph.corp.example" or "*.corp.example"; refused in production unless listed here. The enabled
# sandbox's own host is always allowed.
PARTNER_ENDPOINT_ALLOWED_HOSTS = env_list("PARTNER_ENDPOINT_ALLOWED_HOSTS", [])

# --- Sandbox tenant ----------------------------------------------------------------------------------------
# The Graph-compatible sandbox is a Django app of its own, installed only when enabled: without it there are
# no sandbox tables (migrate creates none), no /sandbox/ URLs and no fault-injecting WSGI wrapper. The app
# mounts its URLs and wraps WSGI itself (see cippusers/urls.py and wsgi.py).
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", not PRODUCTION)
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("graph.sandbox")
SANDBOX_CLIENT_ID = env_str("SANDBOX_CLIENT_ID", "5a1d0b0c-0000-4000-8000-00000000c1a5")
SANDBOX_CLIENT_SECRET = env_str("SANDBOX_CLIENT_SECRET", "sandbox-demo-secret")
# Where this process can reach its own sandbox (used to wire the demo partner connection).
SANDBOX_BASE_URL = env_str("SANDBOX_BASE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}/sandbox")
SANDBOX_TOKEN_LIFETIME_SECONDS = env_int("SANDBOX_TOKEN_LIFETIME_SECONDS", 3600, minimum=60)

# --- Security ----------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]  # container probes speak plain HTTP on the inside
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
X_FRAME_OPTIONS = "DENY"

# The client address for the audit log and sign-in throttling (cippusers/client_address.py): REMOTE_ADDR, or
# with N trusted reverse proxies in front, the X-Forwarded-For entry N places from the right (the address the
# outermost trusted proxy saw; entries left of it are whatever the client wrote). The older switch
# TRUST_X_FORWARDED_FOR=true means one proxy.
TRUSTED_PROXY_COUNT = env_int(
    "TRUSTED_PROXY_COUNT", 1 if env_bool("TRUST_X_FORWARDED_FOR", False) else 0, minimum=0, maximum=10
)
LOGIN_FAILURES_PER_USERNAME = env_int("LOGIN_FAILURES_PER_USERNAME", 5, minimum=1)
LOGIN_FAILURES_PER_IP = env_int("LOGIN_FAILURES_PER_IP", 20, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440)

# --- Technician sign-in with Microsoft Entra ID (tenants/oidc.py) ------------------------------------------
# Authorization code flow with PKCE against the MSP's own Entra tenant. Only technicians an Admin has
# registered may sign in (matched by Entra object id, else by username/email); nobody is created on the fly.
TECH_SSO_ENABLED = env_bool("TECH_SSO_ENABLED", False)
TECH_SSO_TENANT_ID = env_str("TECH_SSO_TENANT_ID", "") or ""
TECH_SSO_CLIENT_ID = env_str("TECH_SSO_CLIENT_ID", "") or ""
TECH_SSO_CLIENT_SECRET = env_str("TECH_SSO_CLIENT_SECRET", "") or ""  # or TECH_SSO_CLIENT_SECRET_FILE
TECH_SSO_AUTHORITY_URL = env_str("TECH_SSO_AUTHORITY_URL", "https://login.microsoftonline.com") or ""
if TECH_SSO_ENABLED and not (TECH_SSO_TENANT_ID and TECH_SSO_CLIENT_ID):
    raise ImproperlyConfigured("TECH_SSO_ENABLED needs TECH_SSO_TENANT_ID and TECH_SSO_CLIENT_ID")
# The login page's "Sign in with Microsoft" button reads this flag.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("tenants.oidc.sso_context")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# One JSON object per line in production (log shippers parse it); readable text with the request id in
# development. Both carry the request id and pass the redaction filter.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "cippusers.logging.RequestIdFilter"},
        "redact": {"()": "cippusers.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "cippusers.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # msal logs request bodies at DEBUG; keep it at WARNING so a refresh token can never reach a log.
        "msal": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
