FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cippusers cippusers
COPY tenants tenants
COPY graph graph
COPY users users
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && SECRET_KEY=build FIELD_ENCRYPTION_KEY=Zm9yLWJ1aWxkLW9ubHktbm90LWEtcmVhbC1rZXktMDA9 \
    DATABASE_URL=sqlite:////tmp/build.db CELERY_BROKER_URL=memory:// python manage.py collectstatic --no-input
RUN useradd --system --uid 10001 app && mkdir -p /app/var && chown app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "cippusers.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120"]
