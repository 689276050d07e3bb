#!/usr/bin/env bash
# Screenshots of the operators' console for docs/console/, taken by the browser test as it
# goes through the pages (needs chromium and chromium-driver).
set -euo pipefail
cd "$(dirname "$0")/.."
CONSOLE_SHOTS_DIR="$PWD/docs/console" cargo test -p rota-cli --test integration -- \
    console::browser::an_operator_uses_the_console_in_a_browser --exact
ls -l docs/console/*.png
