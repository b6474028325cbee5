package deploy

// The Knative release the cluster runs and the Go module version of
// knative.dev/serving whose CRD schema the checks validate against. Knative
// release 1.N is tagged v0.(N+27) in its Go modules; deploy/provision.sh
// installs the same release.
const (
	KnativeRelease        = "1.24.0"
	KnativeServingModule  = "knative.dev/serving"
	KnativeServingVersion = "v0.51.0"
)

// The Knative Eventing module whose EventPolicy CRD schema the checks use.
// The Go module proxy serves knative.dev/eventing v0.50.0 (release 1.23) but
// not v0.51.0; the EventPolicy CRD of v0.50.0 is the same, byte for byte, as
// that of knative/eventing's main branch after 1.24, so 1.24's is taken to be
// the same too.
const (
	KnativeEventingModule  = "knative.dev/eventing"
	KnativeEventingVersion = "v0.50.0"
)

// Namespace is where everything of UdaConnect runs.
const Namespace = "udaconnect"

// cert-manager: the release deploy/provision.sh installs (CERT_MANAGER_VERSION),
// whose Certificate and ClusterIssuer CRDs (deploy/crds/ of its Go module) the
// checks validate deploy/vm/issuers.yaml against.
const (
	CertManagerModule  = "github.com/cert-manager/cert-manager"
	CertManagerVersion = "v1.21.1"
)

// CertManagerKubernetes gives, for each cert-manager release still
// supported, the Kubernetes minor versions it supports (1.N to 1.M): the
// table "Currently supported releases" of cert-manager.io/docs/releases. The
// pinned release must support the Kubernetes of K3S_VERSION.
var CertManagerKubernetes = map[string][2]int{
	"1.20": {32, 35},
	"1.21": {33, 36},
}

// EventingTLSConfig are the folders of the knative.dev/eventing module whose
// Certificates make Eventing's release file eventing-tls-networking.yaml
// (hack/generate-yamls.sh).
var EventingTLSConfig = []string{
	"config/core-tls",
	"config/channels/in-memory-channel-tls",
	"config/brokers/mt-channel-broker-tls",
}

// KafkaTLSIssuers are the issuers that the Certificates of
// eventing-kafka-tls-networking.yaml name (Knative's Kafka broker, not a Go
// module the proxy serves: knative-extensions/eventing-kafka-broker,
// data-plane/config/{broker,sink,channel}-tls), by Certificate.
var KafkaTLSIssuers = map[string]string{
	"kafka-broker-ingress-server-tls":  "knative-eventing-ca-issuer",
	"kafka-sink-ingress-server-tls":    "knative-eventing-ca-issuer",
	"kafka-channel-ingress-server-tls": "knative-eventing-ca-issuer",
}

// BentoBuilds are the builds of the Vagrant box bento/ubuntu-24.04 by version,
// provider and architecture (chef/bento CHANGELOG.md, "Builds for version").
// The Vagrantfile's box version must have an amd64 and an arm64 build for
// every provider it configures.
var BentoBuilds = map[string]map[string][]string{
	"202510.26.0": {
		"virtualbox":     {"amd64", "arm64"},
		"vmware_desktop": {"amd64", "arm64"},
		"parallels":      {"amd64", "arm64"},
	},
}
