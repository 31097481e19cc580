FROM python:3.11-slim
ENV OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml changes, not with every source edit.
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

# Then the source, installed without touching the dependencies.
COPY README.md ./
COPY service ./service
COPY workers ./workers
COPY collections ./collections
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 --user-group musicrec \
    && mkdir -p /data && chown musicrec:musicrec /data

# Never root at run time; the embedded store (when QDRANT_URL is unset) goes to /data.
USER musicrec
ENV MUSICREC_DATA_DIR=/data
EXPOSE 8000
CMD ["musicrec", "serve", "--host", "0.0.0.0", "--port", "8000"]
