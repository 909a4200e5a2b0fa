# One image for the web and worker services of docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir . \
 && for plugin in plugins/shopcore_*; do pip install --no-cache-dir "./$plugin"; done \
 && useradd --system --home /app shop \
 && chown -R shop /app
USER shop
EXPOSE 8000
CMD ["pserve", "production.ini"]
