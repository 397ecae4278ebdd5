# The one sopdesk image of the production shape (docker-compose.yml): every web service, worker,
# beat and the migration job run from it, each with its own command. It installs the project
# itself (no test extras), and runs as an unprivileged user.
#
#   docker build -t sopdesk .
#   docker run --env-file prod.env sopdesk                    # gunicorn serving intake on :8000
#   docker run --env-file prod.env sopdesk gunicorn --bind 0.0.0.0:8000 'sopdesk.gateway:service_app("notify")'
#   docker run --env-file prod.env sopdesk sopdesk worker --queues notify
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libthai: the yearly report's PDF breaks Thai lines between words by its dictionary
# (services/assignment/adapters/yearly_pdf.py; without it, by syllable rules that may split a word)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libthai0 \
 && rm -rf /var/lib/apt/lists/*

# Build from a throw-away copy of the sources: the installed package is what runs, never a
# source tree in the working directory (gunicorn puts its working directory on sys.path).
COPY pyproject.toml /tmp/sopdesk/
COPY shared /tmp/sopdesk/shared
COPY services /tmp/sopdesk/services
COPY sopdesk /tmp/sopdesk/sopdesk
RUN pip install /tmp/sopdesk \
 && rm -rf /tmp/sopdesk

# uploaded files (requesters' attachments, procurement documents) live on a volume mounted here;
# the folder exists in the image so that a new named volume is the sopdesk user's
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin sopdesk \
 && mkdir -p /srv/sopdesk/files \
 && chown sopdesk:sopdesk /srv/sopdesk/files
USER 10001:10001
WORKDIR /home/sopdesk

# The image is the production shape: settings come from the environment, and the product refuses
# to start without DATABASE_URL, REDIS_URL and SECRET_KEY (see shared/config.py).
ENV SOPDESK_ENV=production

EXPOSE 8000
# One service per container; which one is the last argument (intake unless the command says
# otherwise, as docker-compose.yml does for each of the four).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*", \
     "sopdesk.gateway:service_app(\"intake\")"]
