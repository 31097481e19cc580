FROM python:3.11-slim
ENV OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY collections ./collections
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["musicrec", "serve", "--host", "0.0.0.0", "--port", "8000"]
