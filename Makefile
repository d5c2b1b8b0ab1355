# The verbs a reader needs. Both `book` and `test` set everything up on a fresh machine first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := which-backbone
PROFILE ?= workshop
STAMP  := $(VENV)/.setup-done

.PHONY: setup book timings test bench clean

# (Re)install when requirements.txt or pyproject.toml change; register the named kernel inside the venv.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Which Backbone? (.venv)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# Execute the chapters with papermill (profile $(PROFILE)) and render the static book into _build/html.
# A chapter is executed again only when its notebook, lib/, its parameters or the records it reads changed.
book: setup
	$(PY) -m lib.book --profile $(PROFILE)

# Execute every chapter and store the measured times in results/book/timings.csv, the "Time to run" figures of
# the chapters and the workshop page. ONLY=08_performance,... times just those chapters (nothing rendered).
timings: setup
	$(PY) -m lib.book --profile $(PROFILE) --record-timings $(if $(ONLY),--only $(ONLY))

test: setup
	$(PY) -m pytest

# Measured benchmarks (input pipeline, trainer overhead, step cost, grid cost) into results/bench/; not part of test.
bench: setup
	$(PY) -m bench

clean:
	rm -rf _build
