# The two commands a fresh Debian/Ubuntu machine needs (see README.md):
#   make run    set everything up, then start the desktop app
#   make test   set everything up, then run every check and test
# Both are safe to repeat: setup only does what is missing.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= always

.PHONY: run test setup ui check test-ui test-rust e2e ipc-types

setup:
	bash scripts/setup.sh

ui: setup
	npm --prefix ui run build

run: ui
	$(CARGO) run -p onyx-app

# The UI is built first: the app crate embeds ui/dist at compile time. Then static checks
# (they fail fast), the UI's tests, the Rust suite, and the end-to-end tests last: they need the
# app binary, and their summary closes the output.
test: ui check test-ui test-rust e2e

check:
	python3 scripts/check_module_cycles.py crates/*/src src-tauri/src
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	npm --prefix ui run lint
	npm --prefix ui run typecheck

test-ui:
	npm --prefix ui test

test-rust:
	$(CARGO) test --workspace --doc --locked
	$(CARGO) nextest run --workspace --locked --no-fail-fast

# The real app (target/debug/onyx-app embedding ui/dist, as `make run` runs it) driven through
# tauri-driver and WebKitWebDriver under Xvfb, each test in a temporary XDG_DATA_HOME. Screenshots
# and logs go to test-output/e2e/. `node tests/e2e/run.mjs import` runs the specs whose file names
# contain "import". The binary is built with the test targets selected, so its dependencies are
# the ones nextest built (`-p onyx-app` alone resolves some features differently and would build
# the Tauri stack a second time).
e2e: ui
	$(CARGO) build --workspace --bins --tests --locked
	node tests/e2e/run.mjs

# Writes ui/src/ipc/generated.ts, the TypeScript side of the IPC, from the Rust types
# (src-tauri/src/ipc_types.rs). The test `ipc_types_are_current` fails while the file is stale.
ipc-types:
	ONYX_WRITE_IPC_TYPES=1 $(CARGO) test -p onyx-app --lib ipc_types
