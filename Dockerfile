# One image for the web and worker services of docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY . /app
# The tested versions, each file checked against its hash (requirements/production.txt, `make lock`);
# then the core and the plugins themselves, which cannot carry a hash, on top of them, and a check
# that nothing they require is missing.
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/production.txt \
 && pip install --no-cache-dir --no-deps --no-build-isolation . ./plugins/shopcore_* \
 && pip check \
 && useradd --system --home /app shop \
 && chown -R shop /app
USER shop
EXPOSE 8000
CMD ["pserve", "production.ini"]
