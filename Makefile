# The two commands that do everything on a fresh machine: `make run`, `make test`.
CARGO ?= cargo
# Where no registry is reachable the container backend uses an image built
# from Debian's packages (docker/postgres); elsewhere set postgres:15.
export TOMBSTONE_PG_IMAGE ?= tombstone-harness/postgres:15
# The main test suites use a local throwaway cluster (fast, no Docker); the
# backend tests start every backend explicitly.
TEST_PG ?= local
# How deep `make loom` explores; raise it for a deeper (slower) search.
LOOM_MAX_PREEMPTIONS ?= 3

.PHONY: run test setup pg-image loom lint bench clean

run: setup
	$(CARGO) run --release --quiet -- run

test: setup pg-image
	TOMBSTONE_PG=$(TEST_PG) TOMBSTONE_REQUIRE_CONTAINER=$(REQUIRE_CONTAINER) $(CARGO) test --all-targets
	$(MAKE) --no-print-directory loom

setup:
	@bash scripts/setup.sh

# Builds the local image only where a Docker daemon answers; cheap when built.
pg-image:
	@if docker info >/dev/null 2>&1; then bash docker/postgres/build-image.sh; \
	else echo "pg-image: no Docker daemon; container tests will be skipped" >&2; fi

loom:
	LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) $(CARGO) test --release --features loom-model --test loom_model

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --features loom-model --all-targets -- -D warnings

clean:
	$(CARGO) clean
