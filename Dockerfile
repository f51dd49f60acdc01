FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libzbar0 fonts-wqy-microhei curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
# editable install: the Alembic migrations are read from /app/migrations
RUN pip install --no-cache-dir -e .
ENV CT_ENVIRONMENT=production
EXPOSE 8000
CMD ["cylinder-trace", "serve", "--host", "0.0.0.0", "--port", "8000"]
