#!/usr/bin/env bash
# Provisions the UdaConnect development VM (run by the Vagrantfile as root):
# K3s without Traefik, a local image registry K3s trusts, Knative Serving with
# Kourier and the sslip.io default domain, cert-manager with the VM's two
# certificate authorities (deploy/vm/issuers.yaml), https for the public door
# (external-domain TLS, http redirected), Knative Eventing with the in-memory
# channel and the multi-tenant channel-based broker, sender identity (OIDC),
# EventPolicies denying by default and strict transport encryption, and the
# udaconnect namespace. With UDACONNECT_BROKER=kafka it also installs
# Knative's Kafka broker with its TLS certificates (the prod overlay's Broker
# class; the Kafka cluster itself is not made here). It writes the kubeconfig,
# the ingress CA's certificate and the secrets for the host into
# deploy/.secrets/ (gitignored). Every version is pinned here; running it
# again converges to the same state.
set -euo pipefail

# Pinned versions. KNATIVE_VERSION is the release whose Serving CRD schema the
# offline checks validate against (knative.dev/serving Go module v0.51.0,
# deploy/versions.go): Knative release 1.N is module v0.(N+27).
K3S_VERSION="v1.36.3+k3s1"
KNATIVE_VERSION="1.24.0"
KOURIER_VERSION="1.24.0"
KAFKA_BROKER_VERSION="1.24.0"
# cert-manager issues the certificates of Eventing's transport encryption and
# of the door's https address. A release that supports K3S_VERSION's
# Kubernetes (deploy/versions.go, CertManagerReleases).
CERT_MANAGER_VERSION="v1.21.1"

VM_IP="${VM_IP:-192.168.56.10}"
REPO="${REPO:-/vagrant}"
# inmemory (the dev overlay's Broker) or kafka (the prod overlay's).
UDACONNECT_BROKER="${UDACONNECT_BROKER:-inmemory}"
REGISTRY="localhost:5001"

SERVING_URL="https://github.com/knative/serving/releases/download/knative-v${KNATIVE_VERSION}"
KOURIER_URL="https://github.com/knative-extensions/net-kourier/releases/download/knative-v${KOURIER_VERSION}"
EVENTING_URL="https://github.com/knative/eventing/releases/download/knative-v${KNATIVE_VERSION}"
KAFKA_BROKER_URL="https://github.com/knative-extensions/eventing-kafka-broker/releases/download/knative-v${KAFKA_BROKER_VERSION}"
CERT_MANAGER_URL="https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
K3S_INSTALL_URL="https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION//+/%2B}/install.sh"

export KUBECONFIG=/etc/rancher/k3s/k3s.yaml

log() {
  printf '\n==> %s\n' "$*"
}

# retry N CMD...: runs CMD up to N times, RETRY_DELAY (10) seconds apart
# (CRDs take a moment to be served, release downloads can hiccup).
retry() {
  local tries="$1"
  shift
  local i
  for ((i = 1; i <= tries; i++)); do
    if "$@"; then
      return 0
    fi
    echo "attempt ${i}/${tries} failed: $*" >&2
    sleep "${RETRY_DELAY:-10}"
  done
  return 1
}

# node_ready succeeds once a node has registered and every registered node is
# Ready. An empty node list is not ready: K3s's API answers before its node
# registers, and `kubectl wait --all` fails on nothing to wait for.
node_ready() {
  local nodes
  nodes="$(kubectl get nodes -o name)" || return 1
  if [[ -z "${nodes}" ]]; then
    echo "no node has registered yet" >&2
    return 1
  fi
  kubectl wait --for=condition=Ready node --all --timeout=10s
}

# wait_for_node waits up to ten minutes for a registered, Ready node.
wait_for_node() {
  retry 60 node_ready
}

# The interface that holds VM_IP: K3s must advertise the private network, not
# the NAT interface every Vagrant VM has.
private_iface() {
  ip -o -4 addr show | awk -v ip="${VM_IP}" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }'
}

install_k3s() {
  local iface
  iface="$(private_iface)"
  if [[ -z "${iface}" ]]; then
    echo "provision.sh: no interface holds ${VM_IP}; check the private network in the Vagrantfile" >&2
    exit 1
  fi

  install -d -m 0755 /etc/rancher/k3s
  cat >/etc/rancher/k3s/config.yaml <<EOF
# Written by deploy/provision.sh
disable:
  - traefik
node-ip: ${VM_IP}
node-external-ip: ${VM_IP}
flannel-iface: ${iface}
tls-san:
  - ${VM_IP}
  - 127.0.0.1
write-kubeconfig-mode: "0644"
EOF
  install -m 0644 "${REPO}/deploy/vm/registries.yaml" /etc/rancher/k3s/registries.yaml

  if command -v k3s >/dev/null && k3s --version | grep -qF "${K3S_VERSION}"; then
    log "K3s ${K3S_VERSION} already installed; restarting to pick up its config"
    systemctl restart k3s
  else
    log "Installing K3s ${K3S_VERSION}"
    curl -sfL "${K3S_INSTALL_URL}" | INSTALL_K3S_VERSION="${K3S_VERSION}" sh -s - server
  fi

  wait_for_node
}

install_registry() {
  log "Starting the image registry at ${REGISTRY}"
  kubectl apply -f "${REPO}/deploy/vm/registry.yaml"
  kubectl -n registry rollout status deployment/registry --timeout=300s
}

install_serving() {
  log "Installing Knative Serving ${KNATIVE_VERSION} with Kourier ${KOURIER_VERSION}"
  retry 5 kubectl apply -f "${SERVING_URL}/serving-crds.yaml"
  kubectl wait --for=condition=Established crd --all --timeout=120s
  retry 5 kubectl apply -f "${SERVING_URL}/serving-core.yaml"
  retry 5 kubectl apply -f "${KOURIER_URL}/kourier.yaml"

  kubectl -n knative-serving patch configmap/config-network --type merge \
    --patch '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
  # Images in the VM's registry are pulled by containerd through
  # registries.yaml; Knative's controller cannot reach localhost:5001 from its
  # pod, so it must not try to resolve their tags to digests.
  kubectl -n knative-serving patch configmap/config-deployment --type merge \
    --patch "{\"data\":{\"registries-skipping-tag-resolving\":\"${REGISTRY},kind.local,ko.local,dev.local\"}}"

  kubectl wait --for=condition=Available deployment --all -n knative-serving --timeout=600s
  kubectl wait --for=condition=Available deployment --all -n kourier-system --timeout=600s

  log "Configuring the sslip.io default domain"
  retry 5 kubectl apply -f "${SERVING_URL}/serving-default-domain.yaml"
  kubectl -n knative-serving wait --for=condition=Complete job/default-domain --timeout=600s
}

install_eventing() {
  log "Installing Knative Eventing ${KNATIVE_VERSION}: in-memory channel, MT channel-based broker"
  retry 5 kubectl apply -f "${EVENTING_URL}/eventing-crds.yaml"
  kubectl wait --for=condition=Established crd --all --timeout=120s
  retry 5 kubectl apply -f "${EVENTING_URL}/eventing-core.yaml"
  retry 5 kubectl apply -f "${EVENTING_URL}/in-memory-channel.yaml"
  retry 5 kubectl apply -f "${EVENTING_URL}/mt-channel-broker.yaml"
  kubectl wait --for=condition=Available deployment --all -n knative-eventing --timeout=600s

  log "Turning on sender identity, EventPolicies (deny by default) and transport encryption"
  # Certificates for Eventing's https endpoints, signed by
  # knative-eventing-ca-issuer (create_issuers): the Broker becomes Ready only
  # once its ingress's certificate is.
  retry 5 kubectl apply -f "${EVENTING_URL}/eventing-tls-networking.yaml"
  wait_for_certificates knative-eventing
  # authentication-oidc: every Broker and Trigger gets an OIDC identity and
  # checks the tokens it receives; default-authorization-mode deny-all: a
  # resource without an EventPolicy takes events from no one; strict transport
  # encryption: the tokens travel over TLS only.
  kubectl -n knative-eventing patch configmap/config-features --type merge \
    --patch '{"data":{"authentication-oidc":"enabled","default-authorization-mode":"deny-all","transport-encryption":"strict"}}'
  kubectl wait --for=condition=Available deployment --all -n knative-eventing --timeout=600s
}

install_cert_manager() {
  log "Installing cert-manager ${CERT_MANAGER_VERSION}"
  retry 5 kubectl apply -f "${CERT_MANAGER_URL}"
  kubectl wait --for=condition=Available deployment --all -n cert-manager --timeout=600s
}

# wait_for_certificates NAMESPACE waits until every cert-manager Certificate
# in NAMESPACE is Ready (its Secret issued). The full resource name, since
# Knative Serving has a kind Certificate too.
wait_for_certificates() {
  kubectl -n "$1" wait --for=condition=Ready certificates.cert-manager.io --all --timeout=300s
}

# create_issuers makes the VM's certificate authorities (deploy/vm/issuers.yaml):
# knative-eventing-ca-issuer, which Eventing's TLS files name, and
# udaconnect-ingress-ca-issuer for the door's https address. The apply is
# retried: cert-manager's webhook answers a little after its Deployment is
# Available.
create_issuers() {
  log "Creating the certificate authorities (Eventing's and the ingress's)"
  retry 10 kubectl apply -f "${REPO}/deploy/vm/issuers.yaml"
  wait_for_certificates cert-manager
  kubectl wait --for=condition=Ready clusterissuers.cert-manager.io --all --timeout=300s
}

# configure_ingress_tls gives every public Knative Service an https address
# with a certificate of udaconnect-ingress-ca-issuer and redirects http to
# it. Serving's controller decides at start whether it runs its cert-manager
# integration, so it is restarted.
configure_ingress_tls() {
  log "Serving the public door over https (external-domain TLS, http redirected)"
  kubectl -n knative-serving patch configmap/config-certmanager --type merge \
    --patch '{"data":{"issuerRef":"kind: ClusterIssuer\nname: udaconnect-ingress-ca-issuer\n"}}'
  kubectl -n knative-serving patch configmap/config-network --type merge \
    --patch '{"data":{"external-domain-tls":"Enabled","http-protocol":"Redirected"}}'
  kubectl -n knative-serving rollout restart deployment/controller
  kubectl -n knative-serving rollout status deployment/controller --timeout=600s
}

# install_kafka_broker installs Knative's Kafka broker (the prod overlay's
# Broker class) with the certificates of its https endpoints, signed by
# knative-eventing-ca-issuer like Eventing's own.
install_kafka_broker() {
  log "Installing Knative's Kafka broker ${KAFKA_BROKER_VERSION} with transport encryption"
  retry 5 kubectl apply -f "${KAFKA_BROKER_URL}/eventing-kafka-controller.yaml"
  retry 5 kubectl apply -f "${KAFKA_BROKER_URL}/eventing-kafka-broker.yaml"
  retry 5 kubectl apply -f "${KAFKA_BROKER_URL}/eventing-kafka-tls-networking.yaml"
  wait_for_certificates knative-eventing
  kubectl wait --for=condition=Available deployment --all -n knative-eventing --timeout=600s
}

# The namespace is made here, not by skaffold: what skaffold applies it
# deletes again on Ctrl-C, and a deleted namespace takes the database's volume
# claim with it.
create_namespace() {
  log "Creating the udaconnect namespace"
  kubectl apply -f "${REPO}/deploy/vm/namespace.yaml"
}

export_kubeconfig() {
  log "Writing the host's kubeconfig to deploy/.secrets/kubeconfig"
  install -d -m 0700 "${REPO}/deploy/.secrets"
  sed -e "s#https://127.0.0.1:6443#https://${VM_IP}:6443#" \
    -e 's#: default$#: udaconnect#' \
    /etc/rancher/k3s/k3s.yaml >"${REPO}/deploy/.secrets/kubeconfig"
  chmod 0600 "${REPO}/deploy/.secrets/kubeconfig"
}

# export_ingress_ca writes the certificate of the CA that signs the door's
# https address for the host to trust (curl --cacert, a browser's
# certificate store). It is public: no key leaves the cluster.
export_ingress_ca() {
  log "Writing the ingress CA's certificate to deploy/.secrets/ingress-ca.crt"
  kubectl -n cert-manager get secret udaconnect-ingress-ca -o jsonpath='{.data.tls\.crt}' |
    base64 -d >"${REPO}/deploy/.secrets/ingress-ca.crt"
}

main() {
  install_k3s
  install_registry
  install_serving
  install_cert_manager
  create_issuers
  configure_ingress_tls
  install_eventing
  if [[ "${UDACONNECT_BROKER}" == "kafka" ]]; then
    install_kafka_broker
  fi
  create_namespace
  export_kubeconfig
  export_ingress_ca
  bash "${REPO}/deploy/secrets.sh"

  local domain
  domain="$(kubectl -n knative-serving get configmap config-domain -o jsonpath='{.data}' | grep -o '[0-9.]*sslip\.io' | head -n 1 || true)"
  local ca_fingerprint
  ca_fingerprint="$(openssl x509 -noout -fingerprint -sha256 -in "${REPO}/deploy/.secrets/ingress-ca.crt")"
  log "Ready"
  cat <<EOF
On the host, from the repository root:
  export KUBECONFIG="\$PWD/deploy/.secrets/kubeconfig"
  export SKAFFOLD_DEFAULT_REPO=${REGISTRY}
  skaffold dev
The door: http://localhost:8080 (skaffold's port-forward)
      and https://frontend.udaconnect.${domain:-${VM_IP}.sslip.io}
      (its certificate is signed by the CA in deploy/.secrets/ingress-ca.crt:
      curl --cacert deploy/.secrets/ingress-ca.crt, or trust it in the browser;
      ${ca_fingerprint})
The organizer's token: deploy/.secrets/auth.env (organizer-token=...)
EOF
}

# Sourced (by the checks in deploy/), it only defines its functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
