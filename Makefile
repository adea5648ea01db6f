# The two commands that do everything on a fresh machine: `make run`, `make test`.
CARGO ?= cargo
# Where no registry is reachable the container backend uses an image built
# from Debian's packages (docker/postgres); elsewhere set postgres:15.
export TOMBSTONE_PG_IMAGE ?= tombstone-harness/postgres:15
# The main test suites use a local throwaway cluster (fast, no Docker); the
# backend tests start every backend explicitly.
TEST_PG ?= local
# How deep `make loom` explores; raise it for a deeper (slower) search.
LOOM_MAX_PREEMPTIONS ?= 4

.PHONY: run test setup pg-image loom lint bench clean

# Findings (exit 1) are the job's result, not a failure of `make run`.
run: setup
	$(CARGO) run --release --quiet -- run; code=$$?; \
	if [ $$code -eq 1 ]; then echo "make run: findings above (exit 1 from the harness)"; exit 0; fi; exit $$code

# Tests run twice: in threads (cargo test) and one process per test (nextest),
# which shows that tests sharing one server never see each other's rows.
TEST_ENV = TOMBSTONE_PG=$(TEST_PG) TOMBSTONE_REQUIRE_CONTAINER=$(REQUIRE_CONTAINER)

test: setup pg-image
	$(TEST_ENV) $(CARGO) test --lib --bins --tests
	$(TEST_ENV) $(CARGO) run --quiet --example own_recorder
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(TEST_ENV) $(CARGO) nextest run --lib --bins --tests --no-fail-fast; \
	else echo "test: cargo-nextest is not installed; skipping the per-process run" >&2; fi
	$(MAKE) --no-print-directory loom

setup:
	@bash scripts/setup.sh

# Builds the local image only where a Docker daemon answers; cheap when built.
pg-image:
	@if docker info >/dev/null 2>&1; then bash docker/postgres/build-image.sh; \
	else echo "pg-image: no Docker daemon; container tests will be skipped" >&2; fi

loom:
	LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) $(CARGO) test --release --features loom-model --test loom_model

# Ratios against PostgreSQL's isolation tester and pgbench, measured side by
# side; writes benches/results.{json,md} (see BENCHMARKS.md for the knobs).
bench: setup
	$(CARGO) bench --bench harness

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --features loom-model --all-targets -- -D warnings

clean:
	$(CARGO) clean
