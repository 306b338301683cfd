# Weir's image: the wheel (the server with the widget, connector logos and GraphiQL inside it) on
# dependencies pinned by hash in requirements.lock, run by an unprivileged user.
# docker-compose.yml is the documented deployment; .ci/wheel checks the same steps without Docker.

# Stage 1: build the wheel. Build isolation fetches setuptools ([build-system] in pyproject.toml)
# into this stage only; nothing of it reaches the image but the pure-Python wheel.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md weir_build.py ./
COPY server ./server
COPY widget ./widget
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: the image, on the Python CI tests (requirements.lock is universal: its markers and
# hashes cover any platform and Python >= 3.11; its first lines say how to regenerate it).
FROM python:3.11-slim
# Dependencies first, each file checked against its hash (their layer survives a code change).
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock
# Weir itself without resolving anything: every dependency is already installed from the lock.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# The user owns only its data directory: the embedded default's SQLite files and generated key
# live there, and Weir makes it 0700 at start (only its owner may). A named volume mounted on
# /data takes this ownership; a host directory must be chown'ed to 10001 first.
RUN groupadd --system --gid 10001 weir \
    && useradd --system --uid 10001 --gid weir --create-home --shell /usr/sbin/nologin weir \
    && mkdir /data && chown weir:weir /data
# Numeric, so that an orchestrator can verify "not root" (Kubernetes' runAsNonRoot).
USER 10001:10001
ENV WEIR_HOST=0.0.0.0 WEIR_DATA_DIR=/data
WORKDIR /data
EXPOSE 8000
CMD ["weir", "serve"]
