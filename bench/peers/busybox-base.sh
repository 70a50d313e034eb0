#!/usr/bin/env bash
# Makes the busybox base image for the peer benchmarks and the compatibility check, and pushes it to a
# local registry:  busybox-base.sh <scratch dir> <registry port> [full|empty]
#   full  (default): config Env PATH=… and Cmd sh, like the Docker Hub image
#   empty          : an empty config, like `tsbuild image import` of the same directory
# The rootfs comes from scripts/busybox-rootfs.sh (deterministic); the OCI layout is made with umoci and
# copied with skopeo to 127.0.0.1:<port>/busybox:latest over plain http. Prints the rootfs directory.
set -euo pipefail
scratch=$1
port=$2
mode=${3:-full}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ -f "$repo/scripts/busybox-rootfs.sh" ] || repo=$(cd "$here/../../.." && pwd) # run from dist/bench/peers
base="$scratch/busybox"
rm -rf "$base"
mkdir -p "$base"
bash "$repo/scripts/busybox-rootfs.sh" "$base/rootfs" >/dev/null
(
  cd "$base"
  umoci init --layout oci >/dev/null
  umoci new --image oci:latest >/dev/null
  umoci unpack --image oci:latest bundle >/dev/null
  rm -rf bundle/rootfs
  cp -a rootfs bundle/rootfs
  umoci repack --image oci:latest bundle >/dev/null
  if [ "$mode" = full ]; then
    umoci config --image oci:latest --os linux --architecture amd64 \
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd sh >/dev/null
  else
    umoci config --image oci:latest --os linux --architecture amd64 >/dev/null
  fi
  rm -rf bundle
)
skopeo copy -q --dest-tls-verify=false "oci:$base/oci:latest" "docker://127.0.0.1:$port/busybox:latest" >/dev/null
echo "$base/rootfs"
