FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY widget ./widget
RUN pip install --no-cache-dir .
ENV WEIR_HOST=0.0.0.0 WEIR_DATA_DIR=/data
EXPOSE 8000
CMD ["weir", "serve"]
