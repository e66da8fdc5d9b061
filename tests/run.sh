#!/usr/bin/env bash
# Runs every test of sis, the real-engine ones included: first makes sure a Docker engine
# runs and the offline node image exists (tests/engine-up.sh), then `cargo test`.
# Usage: tests/run.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
tests/engine-up.sh
cargo test --workspace --locked "$@"
