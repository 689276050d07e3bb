#!/usr/bin/env bash
# Fetches the 250,000 Library of Congress records (Books All 2016, part 01) once and caches
# them outside the repository. Prints the path of the cached file.
#
# The file travels inside the source distribution of the Python package pymarc 5.4.0,
# which any machine that reaches the Python package index can download.
set -euo pipefail
cache="${ROTA_DATA_CACHE:-$HOME/.cache/rota}"
file="$cache/BooksAll.2016.part01.utf8"
want=241731867
if [ -f "$file" ] && [ "$(stat -c %s "$file")" = "$want" ]; then
  echo "$file"
  exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetching pymarc 5.4.0 source distribution (76 MB) for the LoC records..." >&2
python3 -m pip download --quiet --no-deps --no-binary :all: pymarc==5.4.0 -d "$tmp" >&2
tar xzf "$tmp/pymarc-5.4.0.tar.gz" -C "$tmp" pymarc-5.4.0/BooksAll.2016.part01.utf8
got=$(stat -c %s "$tmp/pymarc-5.4.0/BooksAll.2016.part01.utf8")
if [ "$got" != "$want" ]; then
  echo "unexpected size $got (want $want)" >&2
  exit 1
fi
mv "$tmp/pymarc-5.4.0/BooksAll.2016.part01.utf8" "$file"
echo "$file"
