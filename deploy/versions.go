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

// Namespace is where everything of UdaConnect runs.
const Namespace = "udaconnect"
