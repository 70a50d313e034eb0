#!/usr/bin/env bash
# Makes a minimal busybox root filesystem from Debian's busybox-static in DIR (default
# build/busybox-rootfs): /bin/busybox, one symlink per applet, /etc/passwd and /etc/group, the usual
# empty directories. Deterministic (fixed mtimes), so the imported image has the same digest every time.
set -euo pipefail
dir=${1:-build/busybox-rootfs}
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "busybox-static is not installed (apt-get install busybox-static)" >&2
  exit 1
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home,dev,proc,sys,run}
cp "$busybox" "$dir.tmp/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] && continue
  ln -sf busybox "$dir.tmp/bin/$applet"
done
cat > "$dir.tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$dir.tmp/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP
chmod 1777 "$dir.tmp/tmp" "$dir.tmp/var/tmp"
chmod 700 "$dir.tmp/root"
find "$dir.tmp" -exec touch -h -d @0 {} +
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
