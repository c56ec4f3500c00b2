# service-catalogue: PostgreSQL and Elasticsearch are configured by environment:
#   CATALOGUE_DATABASE_URL=postgresql://user:pass@db:5432/catalogue
#   CATALOGUE_SEARCH_URL=http://elasticsearch:9200
# Behind a reverse proxy, its address or network (it alone may name the client and scheme
# in X-Forwarded-For/-Proto; `catalogue serve` gives uvicorn the same; FORWARDED_ALLOW_IPS
# is not read):
#   CATALOGUE_TRUSTED_PROXIES=172.30.240.0/24
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CATALOGUE_DATABASE_URL=sqlite:////data/catalogue.db \
    CATALOGUE_SEARCH_URL="" \
    CATALOGUE_TRUSTED_PROXIES=""

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
COPY schemas ./schemas
RUN pip install -e . && useradd --system --uid 10001 --home /app catalogue \
    && mkdir -p /data && chown catalogue /data

USER catalogue
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
# Run `catalogue migrate` (and `catalogue seed --reference-only`) as a release step.
CMD ["catalogue", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
