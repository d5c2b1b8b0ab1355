# The verbs a reader needs. Both `book` and `test` set everything up on a fresh machine first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= workshop
STAMP  := $(VENV)/.setup-done

.PHONY: setup book timings test bench clean fetch

# (Re)install when requirements.txt, pyproject.toml or the set-up itself change. lib/setup.py is the one
# description of the set-up (venv, pins, editable lib, the named kernel); without make: python -m lib.setup.
$(STAMP): requirements.txt pyproject.toml lib/setup.py
	$(PYTHON) -m lib.setup --venv $(VENV)

setup: $(STAMP)

# Execute the chapters with papermill (profile $(PROFILE)) and render the static book into _build/html.
# A chapter is executed again only when its notebook, lib/, its parameters or the records it reads changed.
# A subset for every chapter that takes it: make book PROFILE=paper DATASETS=cifar10,dtd BACKBONES=resnet50 SEEDS=0
# Under PROFILE=paper the datasets and weights are fetched (and verified) first: one command from a fresh clone.
book: setup
	$(if $(filter paper,$(PROFILE)),$(PY) -m lib.fetch $(or $(DATASETS),all) --weights $(BACKBONES))
	$(PY) -m book --profile $(PROFILE) $(if $(DATASETS),--datasets $(DATASETS)) \
		$(if $(BACKBONES),--backbones $(BACKBONES)) $(if $(SEEDS),--seeds $(SEEDS))

# Execute every chapter and store the measured times in results/book/timings.csv, the "Time to run" figures of
# the chapters and the workshop page. ONLY=08_performance,... times just those chapters (nothing rendered).
timings: setup
	$(PY) -m book --profile $(PROFILE) --record-timings $(if $(ONLY),--only $(ONLY))

# Download, verify and unpack datasets into $WB_DATA (default data/), and with WEIGHTS=1 the ImageNet weights into
# $TORCH_HOME: make fetch DATASETS=cifar10,flowers102,dtd WEIGHTS=1 (python -m lib.fetch --help; WB_MIRROR=URL).
fetch: setup
	$(PY) -m lib.fetch $(DATASETS) $(if $(WEIGHTS),--weights)

test: setup
	$(PY) -m pytest

# Measured benchmarks (input pipeline, trainer overhead, step cost, grid cost) into results/bench/; not part of test.
bench: setup
	$(PY) -m bench

clean:
	rm -rf _build
