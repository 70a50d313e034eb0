#!/bin/bash
# Builds tsbuild's native addon (native/*.c → dist/native/tsbuild.node) with the system C compiler and
# Node's own N-API headers. Without a compiler or headers it says so and exits 0: core/sys.ts then
# uses koffi for those calls too.
set -euo pipefail
out=dist/native/tsbuild.node
headers="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
if ! command -v cc >/dev/null || [ ! -f "$headers/node_api.h" ]; then
  echo "native addon not built (no C compiler or no $headers/node_api.h): koffi is used instead" >&2
  exit 0
fi
mkdir -p dist/native
cc -O2 -Wall -Werror -shared -fPIC -DNODE_GYP_MODULE_NAME=tsbuild -I"$headers" -o "$out.tmp" native/*.c
mv "$out.tmp" "$out"
