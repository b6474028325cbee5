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
