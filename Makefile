# Pan: `make run` starts the service, `make test` runs the whole suite,
# `make serve WORKERS=N TASK_WORKERS=M` is the production server (uvicorn, N processes, M task workers).
# Both set themselves up first on a fresh machine (Python and pip only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne (the default) or uvicorn (faster here; see docs/performance.md). uvicorn's own access
# log is off: it prints query strings (share codes travel there); Pan's logs paths only.
SERVER ?= daphne
# make serve: server processes; more than one needs REDIS_URL (the start is refused otherwise).
WORKERS ?= 1
# Background task workers started and stopped with the server (make run and make serve;
# docs/operations.md, "Background tasks"). 0: run `manage.py tasks_worker` yourself.
TASK_WORKERS ?= 1

.PHONY: run serve setup setup-dev lock lock-check test lint format messages browser oidc vendor bench clean

run: setup
	$(BIN)/python -m project.envfile
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python -m project.serve --server $(SERVER) --host $(HOST) --port $(PORT) --task-workers $(TASK_WORKERS)

# Production: settings from the environment or .env (no secrets generated
# here), then uvicorn with WORKERS processes on one socket (project/serve.py).
serve: setup
	$(BIN)/python -m project.serve --workers $(WORKERS) --check
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python -m project.serve --host $(HOST) --port $(PORT) --workers $(WORKERS) --task-workers $(TASK_WORKERS)

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

$(VENV)/.runtime-installed: requirements.txt
	@# PyICU (look-alike usernames) builds against the system's ICU.
	@pkg-config --exists icu-i18n 2>/dev/null || { command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libicu-dev pkg-config g++; } || \
		echo "PyICU needs ICU's development files: install libicu-dev, pkg-config and g++ (Debian), or icu4c (Homebrew)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt
	touch $@

# The `pan` command-line client (cli/, docs/cli.md) comes second: --require-hashes refuses a local
# folder, and its dependencies are already in (hashed) from requirements-dev.txt. A change under
# cli/ reinstalls it.
CLI_FILES := cli/pyproject.toml $(wildcard cli/pan_cli/*.py cli/pan_cli/*.json)
$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed $(CLI_FILES)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps ./cli
	$(BIN)/python -m project.envfile
	touch $@

# The lock (docs/decisions.md, "Locked installs"): requirements.in and requirements-dev.in name
# what Pan uses; uv compiles them with every package they pull in, pinned and hashed, for any
# platform on Python 3.11+ (--universal), the dev lock under the runtime one (-c requirements.txt).
# The existing pins are kept unless an .in file asks otherwise; `make lock UPGRADE="name ..."` moves those.
# `make lock-check` (CI) compiles into a temporary folder and fails on any difference.
LOCK_COMPILE = $(abspath $(BIN))/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(foreach name,$(UPGRADE),--upgrade-package $(name))
lock: setup-dev
	$(LOCK_COMPILE) requirements.in -o requirements.txt
	$(LOCK_COMPILE) requirements-dev.in -o requirements-dev.txt

lock-check: setup-dev
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp requirements.in requirements-dev.in requirements.txt requirements-dev.txt "$$tmp" && \
	(cd "$$tmp" && $(LOCK_COMPILE) requirements.in -o requirements.txt && \
		$(LOCK_COMPILE) requirements-dev.in -o requirements-dev.txt) || \
		{ echo "lock-check: could not compile the lock (is the package index reachable?)"; exit 1; }; \
	diff -u requirements.txt "$$tmp/requirements.txt" && diff -u requirements-dev.txt "$$tmp/requirements-dev.txt" || \
		{ echo "lock-check: requirements*.txt are stale against requirements*.in: run make lock and commit both"; exit 1; }

# Browser tests use Debian's Chromium (never Playwright's own download).
# axe-core (accessibility checks in the browser tests) comes from npm into var/axe (git-ignored).
AXE_VERSION := 4.14.1
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg; }
	@fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; }
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	@test -f var/axe/node_modules/axe-core/axe.min.js || npm install --no-audit --no-fund --silent --prefix var/axe axe-core@$(AXE_VERSION)

# A real OpenID provider for the single sign-on tests (accounts/tests/oidc_provider.mjs, docs/sign-in.md):
# node's oidc-provider from npm into var/oidc (git-ignored).
OIDC_PROVIDER_VERSION := 9.13.3
oidc:
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	@test -f var/oidc/node_modules/oidc-provider/package.json || npm install --no-audit --no-fund --silent --prefix var/oidc oidc-provider@$(OIDC_PROVIDER_VERSION)

# tus-js-client (the pages' resumable uploads) is vendored under static/vendor/ and
# committed, so `make run` needs no npm; `make vendor` refreshes it from npm.
TUS_JS_CLIENT_VERSION := 4.3.1
vendor:
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	rm -rf var/vendor && mkdir -p var/vendor
	cd var/vendor && npm pack --silent tus-js-client@$(TUS_JS_CLIENT_VERSION) >/dev/null && tar xzf tus-js-client-$(TUS_JS_CLIENT_VERSION).tgz
	cp var/vendor/package/dist/tus.min.js var/vendor/package/dist/tus.min.js.map var/vendor/package/LICENSE static/vendor/tus-js-client/
	sed -i 's/tus-js-client@[0-9][0-9.a-z-]*/tus-js-client@$(TUS_JS_CLIENT_VERSION)/g; s/^# tus-js-client [0-9][0-9.a-z-]* /# tus-js-client $(TUS_JS_CLIENT_VERSION) /' static/vendor/tus-js-client/README.md

# Tests that need collected static files collect them (conftest.py `collected_static`).
# TEST_WORKERS processes (pytest-xdist) share the files between them, a file's tests in one
# process (its module's server and Chromium are started once); TEST_WORKERS=0: one process.
# The suite starts some 300 Python processes (servers, workers, commands): Pan's own
# modules are compiled once first, for a machine that sets PYTHONDONTWRITEBYTECODE
# (each process would compile them again, about 0.15 s of CPU each).
TEST_WORKERS ?= 2
test: setup-dev browser oidc
	$(BIN)/python -m compileall -q -j 0 manage.py $(shell $(BIN)/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["importlinter"]["root_packages"]))') cli bench
	$(BIN)/pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# Starts Pan on daphne (make run) and on uvicorn (make serve), each on a free
# port (embedded default, rate limits off), and the FastAPI tutorial app;
# prints the figures and SPEC §9's ratios. nginx (its sendfile is a ceiling)
# comes from apt when missing. BENCH_ARGS=--quick: the smoke run CI makes.
bench: setup-dev
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; } || echo "no nginx: its ceiling is skipped"
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs gettext (msgfmt). The compiled .mo files are committed, so a fresh
# machine needs this only after the translations change.
messages: setup-dev
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py fill_translations --check

clean:
	rm -rf $(VENV) staticfiles
