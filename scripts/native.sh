#!/bin/sh
# Builds tsbuild's native addon (native/*.c → dist/native/tsbuild.node) with the system C compiler and
# Node's own N-API headers. Without a compiler or headers it says so and exits 0: core/sys.ts then
# uses koffi for those calls too. With --optional (npm's install step of a packed tarball, which ships
# the C source, not a binary built for another machine) a failed compile is a warning too.
# POSIX sh: an npm install runs it on hosts without bash.
set -eu
optional=false
[ "${1:-}" = "--optional" ] && optional=true
out=dist/native/tsbuild.node
headers="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
if ! command -v cc >/dev/null || [ ! -f "$headers/node_api.h" ]; then
  echo "native addon not built (no C compiler or no $headers/node_api.h): koffi is used instead" >&2
  exit 0
fi
mkdir -p dist/native
if ! cc -O2 -Wall -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME=tsbuild -I"$headers" -o "$out.tmp" native/*.c; then
  rm -f "$out.tmp"
  if [ "$optional" = true ]; then
    echo "native addon not built (the C compiler failed): koffi is used instead" >&2
    exit 0
  fi
  exit 1
fi
mv "$out.tmp" "$out"
