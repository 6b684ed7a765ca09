# Two commands for a user: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv cacti demo test bench validate clean

venv: $(STAMP) cacti

# dev: tests and plots; crosscheck: AccelForge (validation/, tests/test_crosscheck*.py), see DEVELOPERS.md
$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"Python >= 3.12 needed, found {sys.version}"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,crosscheck]'
	touch $(STAMP)

# AccelForge's component models call the CACTI binary shipped inside hwcomponents_cacti, which is linked against
# a newer glibc than many systems have; rebuild it from the package's own sources when it does not run.
# Idempotent: nothing happens when the binary already runs (CACTI without arguments prints its usage).
cacti: $(STAMP)
	@dir="$$($(PY) -c 'import hwcomponents_cacti, os; print(os.path.join(os.path.dirname(hwcomponents_cacti.__file__), "cacti"))')"; \
	if (cd "$$dir" && ./cacti 2>&1 | grep -q "how to use CACTI"); then echo "CACTI runs: $$dir/cacti"; \
	else echo "rebuilding CACTI in $$dir"; $(MAKE) -C "$$dir" opt >/dev/null && (cd "$$dir" && ./cacti 2>&1 | grep -q "how to use CACTI"); fi

demo: venv
	$(PY) -m accelmodel.demo

test: venv
	$(PY) -m pytest -q

bench: venv
	$(PY) benchmarks/run_all.py

# the validation report: validation/REPORT.md and validation/figures/*.png
validate: venv
	$(PY) -m accelmodel.validation.report

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
