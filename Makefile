# The two commands a fresh Debian/Ubuntu machine needs (see README.md):
#   make run    set everything up, then start the desktop app
#   make test   set everything up, then run every check and test
# Both are safe to repeat: setup only does what is missing.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= always

.PHONY: run test setup ui check test-ui test-rust

setup:
	bash scripts/setup.sh

ui: setup
	npm --prefix ui run build

run: ui
	$(CARGO) run -p onyx-app

# The UI is built first: the app crate embeds ui/dist at compile time. Then static checks
# (they fail fast), the UI's tests, and the Rust suite last so that its summary closes the output.
test: ui check test-ui test-rust

check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	npm --prefix ui run lint
	npm --prefix ui run typecheck

test-ui:
	npm --prefix ui test

test-rust:
	$(CARGO) test --workspace --doc --locked
	$(CARGO) nextest run --workspace --locked --no-fail-fast
