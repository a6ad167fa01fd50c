#!/bin/bash
# Build (or reuse) the kernel-lab guest image: Debian's own kernel, its modules
# for IPVS / bonding / 802.1Q / DRBD, busybox, ipvsadm, drbd-utils (8.4 tools)
# and iproute2 in an initramfs.
#
# Usage: lab/build.sh [CACHE_DIR]
#   CACHE_DIR defaults to $DSAS_LAB_CACHE, else lab/cache next to this script.
# On success prints the image directory (CACHE_DIR/<kernel version>) on stdout;
# the directory holds vmlinuz, vmlinux (uncompressed, faster to boot), initrd
# (gzip'd newc cpio, padded to 4 bytes so more archives can be appended),
# kernel-version and base-files.txt. Idempotent: a finished image (READY file)
# is reused; downloads already in CACHE_DIR/debs are not fetched again.
# Callers that may run concurrently serialise on CACHE_DIR/.lock (the Rust
# `testkit::lab::Lab::ensure_built` does; this script takes it too).
set -euo pipefail

die() { echo "dsas-lab build: $*" >&2; exit 1; }
log() { echo "dsas-lab build: $*" >&2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" 2>/dev/null && pwd || echo .)
CACHE=${1:-${DSAS_LAB_CACHE:-$HERE/cache}}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# Serialise with other builders unless our caller already holds the lock.
if [ -z "${DSAS_LAB_LOCKED:-}" ]; then
    exec 9>"$CACHE/.lock"
    flock 9
fi

for tool in apt-get apt-cache dpkg depmod modprobe cpio gzip xz ldd flock; do
    command -v "$tool" >/dev/null || die "$tool not found on the host (apt-get install apt dpkg kmod cpio gzip xz-utils libc-bin util-linux)"
done

# Kernel ABI name: what linux-image-amd64 depends on (linux-image-6.1.0-N-amd64).
KPKG=${DSAS_LAB_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)}
if [ -z "$KPKG" ]; then
    # Offline: reuse the newest finished image.
    LAST=$(ls -d "$CACHE"/*/READY 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$LAST" ] && { dirname "$LAST"; exit 0; }
    die "cannot resolve the kernel package: 'apt-cache depends linux-image-amd64' gave no linux-image-6.x dependency (run apt-get update?)"
fi
KVER=${KPKG#linux-image-}
OUT="$CACHE/$KVER"
# A change to this script or to init rebuilds the image.
STAMP=$(cat "$HERE/build.sh" "$HERE/init" 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$OUT/READY" ] && [ "$(cat "$OUT/READY")" = "$STAMP" ]; then
    echo "$OUT"
    exit 0
fi

log "building image for kernel $KVER in $OUT"
DEBS="$CACHE/debs"
mkdir -p "$DEBS"
PKGS=("$KPKG" busybox-static kmod ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0
      drbd-utils libstdc++6 libgcc-s1 libc6 iproute2 libbpf1 libbsd0 libcap2 libdb5.3
      libelf1 libmnl0 libselinux1 libtirpc3 libxtables12 libmd0 zlib1g libpcre2-8-0
      libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1 libssl3)
MISSING=()
for p in "${PKGS[@]}"; do
    ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || MISSING+=("$p")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
    log "apt-get download ${MISSING[*]}"
    ERR=$( cd "$DEBS" && apt-get -q -o APT::Sandbox::User=root download "${MISSING[@]}" 2>&1 >/dev/null ) \
        || die "download failed: apt-get download ${MISSING[*]}: $ERR"
fi

WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
X="$WORK/extract"
R="$WORK/root"
mkdir -p "$X" "$R"
for p in "${PKGS[@]}"; do
    deb=$(ls "$DEBS/${p}_"*.deb | sort -V | tail -n1)
    dpkg -x "$deb" "$X" || die "dpkg -x $deb failed"
done
[ -f "$X/boot/vmlinuz-$KVER" ] || die "no /boot/vmlinuz-$KVER in $KPKG"

# Full module dependency data, then the closure of what the guest loads.
depmod -b "$X" "$KVER" || die "depmod -b $X $KVER failed"
MODS=(crc32c_generic virtio_pci virtio_net virtio_blk virtio_console
      ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
      ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh
      bonding 8021q drbd bridge veth tun dummy macvlan sch_netem)
MD="lib/modules/$KVER"
mkdir -p "$R/$MD"
for m in "${MODS[@]}"; do
    deps=$(modprobe -d "$X" -S "$KVER" --show-depends "$m" 2>&1) || die "module $m: $deps"
    while read -r kind path _; do
        [ "$kind" = insmod ] || continue
        rel=${path#"$X"/}
        mkdir -p "$R/$(dirname "$rel")"
        cp -n "$path" "$R/$rel"
    done <<<"$deps"
done
cp "$X/$MD/modules.order" "$X/$MD/modules.builtin" "$X/$MD/modules.builtin.modinfo" "$R/$MD/" 2>/dev/null || true
depmod -b "$R" "$KVER" || die "depmod on the initramfs tree failed"
printf '%s\n' "${MODS[@]}" >"$R/etc-modules.tmp"

# Userland: busybox applets as symlinks, then the real tools.
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,var/lib/drbd,lib/drbd,lib64}
mv "$R/etc-modules.tmp" "$R/etc/dsas-lab-modules"
ln -s /run "$R/var/run"
ln -s /run/lock "$R/var/lock"
cp "$X/bin/busybox" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list-full); do
    [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
TOOLS=(sbin/ipvsadm lib/drbd/drbdsetup-84 lib/drbd/drbdadm-84 sbin/drbdmeta bin/ip sbin/bridge sbin/tc bin/ss)
for t in "${TOOLS[@]}"; do
    [ -f "$X/$t" ] || die "$t missing from the downloaded packages"
    rm -f "$R/$t"
    mkdir -p "$R/$(dirname "$t")"
    cp "$X/$t" "$R/$t"
done
# iproute2's ip also as /sbin/ip; busybox sh prefers its own applet for a bare `ip`,
# so scripts that need iproute2 features call /sbin/ip (or /bin/ip) by path.
ln -sf /bin/ip "$R/sbin/ip"
# drbdadm-84 looks for drbdsetup-84 next to itself; make drbdsetup/drbdadm names work.
ln -sf /lib/drbd/drbdsetup-84 "$R/sbin/drbdsetup"
ln -sf /lib/drbd/drbdadm-84 "$R/sbin/drbdadm"

# Shared libraries from the downloaded packages (host ones as a fallback).
LIBPATH="$X/lib/x86_64-linux-gnu:$X/usr/lib/x86_64-linux-gnu"
copy_lib() { # $1 = resolved path, maybe under $X
    local src=$1 rel
    case "$src" in "$X"/*) rel=${src#"$X"/} ;; *) rel=${src#/} ;; esac
    [ -e "$R/$rel" ] && return 0
    mkdir -p "$R/$(dirname "$rel")"
    cp -L "$src" "$R/$rel"
}
for t in "${TOOLS[@]}"; do
    out=$(LD_LIBRARY_PATH="$LIBPATH" ldd "$X/$t" 2>&1) || die "ldd $t: $out"
    if grep -q 'not found' <<<"$out"; then die "ldd $t: $(grep 'not found' <<<"$out")"; fi
    while read -r a b c _; do
        if [ "$b" = "=>" ] && [ -n "$c" ] && [ "${c#/}" != "$c" ]; then copy_lib "$c"; fi
    done <<<"$out"
done
copy_lib "$X/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"

cp "$HERE/init" "$R/init" 2>/dev/null || die "lab/init missing next to build.sh ($HERE)"
chmod 755 "$R/init"
# Sourced by every command the host runs (and by login shells): busybox sh
# prefers its own applets, so route these names to iproute2.
cat >"$R/etc/dsas-lab.sh" <<'PRELUDE'
ip() { /bin/ip "$@"; }
bridge() { /sbin/bridge "$@"; }
tc() { /sbin/tc "$@"; }
PRELUDE
printf '. /etc/dsas-lab.sh\n' >"$R/etc/profile"
echo dsas-lab >"$R/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
echo "$KVER" >"$R/etc/dsas-lab-kernel"

mkdir -p "$WORK/out"
( cd "$R" && find . | sort | cpio -o -H newc --quiet | gzip -1 ) >"$WORK/out/initrd"
# Pad to a multiple of 4 so an appended uncompressed newc archive starts aligned.
size=$(stat -c %s "$WORK/out/initrd")
pad=$(( (4 - size % 4) % 4 ))
head -c "$pad" /dev/zero >>"$WORK/out/initrd"
( cd "$R" && find . -mindepth 1 | sed 's/^\.//' | sort ) >"$WORK/out/base-files.txt"

cp "$X/boot/vmlinuz-$KVER" "$WORK/out/vmlinuz"
cp "$X/boot/config-$KVER" "$WORK/out/config"
# The uncompressed kernel (ELF, booted through PVH) skips the in-guest xz
# decompression, which is slow under TCG.
off=$(LC_ALL=C grep -obUaP '\xfd\x37\x7a\x58\x5a\x00' "$WORK/out/vmlinuz" | head -n1 | cut -d: -f1 || true)
if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$WORK/out/vmlinuz" | xz -dc 2>/dev/null >"$WORK/out/vmlinux" || true
    if [ "$(head -c 4 "$WORK/out/vmlinux" | od -An -c | tr -d ' ')" != '177ELF' ]; then
        log "could not extract vmlinux; booting vmlinuz"
        rm -f "$WORK/out/vmlinux"
    fi
fi
echo "$KVER" >"$WORK/out/kernel-version"
echo "$STAMP" >"$WORK/out/READY"

rm -rf "$OUT"
mv "$WORK/out" "$OUT"
log "done: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
