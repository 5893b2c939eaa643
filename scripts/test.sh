#!/usr/bin/env bash
# Sets up what the tests need and runs them all (the README's test command; CI runs it too).
set -euo pipefail
cd "$(dirname "$0")/.."

# yaml-language-server for the editor tests (tests/editor.rs); they are skipped only without node.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  mkdir -p target/yaml-lsp
  cp tests/editor/package.json tests/editor/package-lock.json target/yaml-lsp/
  if [ ! -x target/yaml-lsp/node_modules/.bin/yaml-language-server ]; then
    npm ci --prefix target/yaml-lsp --no-audit --no-fund --loglevel=error
  fi
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
