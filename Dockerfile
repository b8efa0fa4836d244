# docqa app image: the Streamlit page on port 8501; also runs `python -m indexing` and `python -m docqa`.
# TORCH_INDEX_URL picks torch's build: CPU wheels by default; empty (GPU variant) installs the CUDA build from the
# default package index.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/models \
    DOCQA_UPLOAD_PATH=/uploads \
    TOKENIZERS_PARALLELISM=false

RUN useradd --create-home --uid 1000 docqa && mkdir -p /models /uploads /app \
    && chown docqa:docqa /models /uploads /app
WORKDIR /app

# The same pinned requirements as every other install; torch first, from the index of the chosen build.
COPY requirements.txt .
RUN if [ -n "${TORCH_INDEX_URL}" ]; then \
        pip install "torch==$(sed -n 's/^torch==//p' requirements.txt)" --index-url "${TORCH_INDEX_URL}"; \
    fi \
    && pip install -r requirements.txt

COPY --chown=docqa:docqa . .
USER docqa

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", \
     "--browser.gatherUsageStats=false"]
