package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/udaconnect/udaconnect/deploy/knative"
	"github.com/udaconnect/udaconnect/deploy/manifest"
	"github.com/udaconnect/udaconnect/deploy/openapi"
)

// certObject is what the checks read of a cert-manager Certificate or
// ClusterIssuer; the CRD schemas check the rest.
type certObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		// Certificate
		IsCA       bool      `json:"isCA"`
		SecretName string    `json:"secretName"`
		IssuerRef  issuerRef `json:"issuerRef"`
		// ClusterIssuer
		SelfSigned *struct{} `json:"selfSigned"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca"`
	} `json:"spec"`
}

type issuerRef struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Group string `json:"group"`
}

// readCertObjects decodes the cert-manager objects of a YAML stream; raw
// holds each document as JSON for the schema checks.
func readCertObjects(t *testing.T, source string, data []byte) (objs []certObject, raw [][]byte) {
	t.Helper()
	for i, doc := range manifest.Split(data) {
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("%s#%d: %v", source, i+1, err)
		}
		var o certObject
		if err := json.Unmarshal(j, &o); err != nil {
			t.Fatalf("%s#%d: %v", source, i+1, err)
		}
		objs = append(objs, o)
		raw = append(raw, j)
	}
	return objs, raw
}

// provisionRun runs provision.sh's functions against a kubectl that only
// records its arguments, one call a line, and returns the calls.
func provisionRun(t *testing.T, script string) []string {
	t.Helper()
	dir := t.TempDir()
	fake := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>\"$KUBECTL_LOG\"\n"
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "calls")
	cmd := exec.Command("bash", "-c", `source "$1" && `+script, "provision", filepath.Join(repoRoot(t), "deploy", "provision.sh"))
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECTL_LOG="+log, "RETRY_DELAY=0", "REPO=/repo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// callIndex returns the index of the first call at or after from that
// contains every one of parts, or -1.
func callIndex(calls []string, from int, parts ...string) int {
	for i := max(from, 0); i < len(calls); i++ {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(calls[i], p)
		}
		if all {
			return i
		}
	}
	return -1
}

const (
	waitEventingCerts = "-n knative-eventing wait --for=condition=Ready certificates.cert-manager.io --all"
	waitCACerts       = "-n cert-manager wait --for=condition=Ready certificates.cert-manager.io --all"
)

// Provisioning makes the certificate authorities before anything asks them
// for a certificate, and waits for Eventing's certificates (the Kafka
// broker's too) after applying the release files that request them: the
// Broker is Ready only once its ingress's certificate is.
func TestProvisionIssuesCertificatesInOrder(t *testing.T) {
	calls := provisionRun(t, "create_issuers && configure_ingress_tls && install_eventing && install_kafka_broker")
	issuers := callIndex(calls, 0, "apply -f /repo/deploy/vm/issuers.yaml")
	caReady := callIndex(calls, issuers, waitCACerts)
	tls := callIndex(calls, 0, "apply -f", "/eventing-tls-networking.yaml")
	tlsReady := callIndex(calls, tls, waitEventingCerts)
	kafka := callIndex(calls, 0, "apply -f", "/eventing-kafka-tls-networking.yaml")
	kafkaReady := callIndex(calls, kafka, waitEventingCerts)
	for name, i := range map[string]int{
		"the CAs applied": issuers, "the CAs waited for": caReady,
		"eventing-tls-networking.yaml applied": tls, "Eventing's certificates waited for": tlsReady,
		"eventing-kafka-tls-networking.yaml applied": kafka, "the Kafka broker's certificates waited for": kafkaReady,
	} {
		if i < 0 {
			t.Errorf("%s: no such kubectl call in\n%s", name, strings.Join(calls, "\n"))
		}
	}
	if !(issuers < caReady && caReady < tls) {
		t.Errorf("the CAs (call %d, ready %d) must be made before eventing-tls-networking.yaml (call %d)", issuers, caReady, tls)
	}
	if c := callIndex(calls, 0, "-n knative-eventing patch configmap/config-features"); c < tlsReady {
		t.Errorf("strict transport encryption is turned on (call %d) before Eventing's certificates are Ready (call %d)", c, tlsReady)
	}

	// main calls them in that order, after cert-manager and before the
	// namespace (which skaffold then fills).
	main := regexp.MustCompile(`(?s)\nmain\(\) \{(.*?)\n\}`).FindStringSubmatch(readRepoFile(t, "deploy/provision.sh"))
	if main == nil {
		t.Fatal("provision.sh has no main")
	}
	order := []string{"install_serving", "install_cert_manager", "create_issuers", "configure_ingress_tls", "install_eventing", "install_kafka_broker", "create_namespace", "export_ingress_ca"}
	last := -1
	for _, f := range order {
		i := strings.Index(main[1], " "+f+"\n")
		if i <= last {
			t.Errorf("main calls %s out of order (want %v)", f, order)
		}
		last = i
	}
	if !strings.Contains(main[1], `if [[ "${UDACONNECT_BROKER}" == "kafka" ]]; then`) {
		t.Error("main does not install the Kafka broker for UDACONNECT_BROKER=kafka")
	}
}

// Every issuerRef of what provisioning applies names a ClusterIssuer that
// provisioning creates: the Certificates of Eventing's TLS file (read from
// the knative.dev/eventing module), of the Kafka broker's, the CAs' own and
// Serving's config-certmanager. Each CA issuer's Secret is that of a CA
// Certificate in cert-manager's namespace, and the objects validate against
// cert-manager's CRDs.
func TestEveryIssuerRefIsCreated(t *testing.T) {
	data := []byte(readRepoFile(t, "deploy/vm/issuers.yaml"))
	own, raw := readCertObjects(t, "deploy/vm/issuers.yaml", data)

	schemas := map[string]*openapi.Schema{}
	for _, kind := range []string{"Certificate", "ClusterIssuer"} {
		schemas[kind] = crdSchema(t, CertManagerModule, CertManagerVersion,
			"deploy/crds/cert-manager.io_"+strings.ToLower(kind)+"s.yaml", "cert-manager.io", "v1", kind)
	}
	created := map[string]certObject{}
	caCerts := map[string]certObject{} // by Secret
	var refs []struct{ from, name, kind string }
	for i, o := range own {
		s, ok := schemas[o.Kind]
		if !ok || o.APIVersion != "cert-manager.io/v1" {
			t.Errorf("issuers.yaml#%d: %s %s; want cert-manager.io/v1 Certificates and ClusterIssuers", i+1, o.APIVersion, o.Kind)
			continue
		}
		v, err := openapi.DecodeJSON(raw[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range s.Validate(v) {
			t.Errorf("issuers.yaml %s %s: %v", o.Kind, o.Metadata.Name, err)
		}
		switch o.Kind {
		case "ClusterIssuer":
			created[o.Metadata.Name] = o
		case "Certificate":
			refs = append(refs, struct{ from, name, kind string }{"issuers.yaml " + o.Metadata.Name, o.Spec.IssuerRef.Name, o.Spec.IssuerRef.Kind})
			if o.Spec.IsCA && o.Metadata.Namespace == "cert-manager" {
				caCerts[o.Spec.SecretName] = o
			}
		}
	}
	for _, name := range []string{"knative-eventing-ca-issuer", "udaconnect-ingress-ca-issuer"} {
		if _, ok := created[name]; !ok {
			t.Errorf("issuers.yaml does not create the ClusterIssuer %s", name)
		}
	}
	for name, o := range created {
		if o.Spec.CA == nil {
			continue
		}
		ca, ok := caCerts[o.Spec.CA.SecretName]
		if !ok {
			t.Errorf("ClusterIssuer %s: its Secret %s is not that of a CA Certificate in cert-manager's namespace", name, o.Spec.CA.SecretName)
			continue
		}
		if root := created[ca.Spec.IssuerRef.Name]; root.Spec.SelfSigned == nil {
			t.Errorf("CA Certificate %s is not issued by a self-signed ClusterIssuer", ca.Metadata.Name)
		}
	}

	// Eventing's release file, from the folders it is made of.
	dir := moduleDir(t, KnativeEventingModule, KnativeEventingVersion)
	n := 0
	for _, folder := range EventingTLSConfig {
		files, _ := filepath.Glob(filepath.Join(dir, folder, "*.yaml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, _ := readCertObjects(t, f, data)
			for _, o := range objs {
				if o.Kind == "Certificate" {
					n++
					refs = append(refs, struct{ from, name, kind string }{"eventing-tls-networking.yaml " + o.Metadata.Name, o.Spec.IssuerRef.Name, o.Spec.IssuerRef.Kind})
				}
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d Certificates of eventing-tls-networking.yaml; want the broker's, the channel's and the job sink's", n)
	}
	for cert, issuer := range KafkaTLSIssuers {
		refs = append(refs, struct{ from, name, kind string }{"eventing-kafka-tls-networking.yaml " + cert, issuer, "ClusterIssuer"})
	}

	// Serving's external-domain certificates.
	calls := provisionRun(t, "configure_ingress_tls")
	i := callIndex(calls, 0, "-n knative-serving patch configmap/config-certmanager")
	if i < 0 {
		t.Fatal("provisioning does not configure Serving's cert-manager issuer")
	}
	var patch struct {
		Data struct {
			IssuerRef string `json:"issuerRef"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(calls[i][strings.Index(calls[i], "{"):]), &patch); err != nil {
		t.Fatalf("config-certmanager patch: %v", err)
	}
	var serving issuerRef
	if err := yaml.UnmarshalStrict([]byte(patch.Data.IssuerRef), &serving); err != nil {
		t.Fatalf("config-certmanager issuerRef %q: %v", patch.Data.IssuerRef, err)
	}
	refs = append(refs, struct{ from, name, kind string }{"config-certmanager issuerRef", serving.Name, serving.Kind})

	for _, r := range refs {
		if _, ok := created[r.name]; !ok || r.kind != "ClusterIssuer" {
			t.Errorf("%s: issuerRef %s %q is not a ClusterIssuer that provisioning creates", r.from, r.kind, r.name)
		}
	}
}

// knativeServices returns the Knative Services of a build.
func knativeServices(t *testing.T, dir string) []*knative.Service {
	t.Helper()
	var out []*knative.Service
	for _, o := range ofKind(builtObjects(t, dir), "serving.knative.dev", "Service") {
		out = append(out, o.Value.(*knative.Service))
	}
	if len(out) == 0 {
		t.Fatalf("%s builds no Knative Service", dir)
	}
	return out
}

// parseSeconds reads a Go duration as whole seconds.
func parseSeconds(v string) (int32, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return int32(d / time.Second), nil
}

// The door is public over https only: the cluster gives public Services an
// https address (external-domain TLS) and the door's answers http with a
// redirect, in every build.
func TestDoorIsHTTPS(t *testing.T) {
	calls := provisionRun(t, "configure_ingress_tls")
	network := callIndex(calls, 0, "-n knative-serving patch configmap/config-network", `"external-domain-tls":"Enabled"`, `"http-protocol":"Redirected"`)
	if network < 0 {
		t.Errorf("provisioning does not turn on external-domain TLS with http redirected:\n%s", strings.Join(calls, "\n"))
	}
	if restart := callIndex(calls, network, "-n knative-serving rollout restart deployment/controller"); restart < 0 {
		t.Error("Serving's controller is not restarted after the change (it starts its cert-manager integration only at start)")
	}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			for _, s := range knativeServices(t, dir) {
				if s.Name != "frontend" {
					continue
				}
				if got := strings.ToLower(s.Annotations["networking.knative.dev/http-protocol"]); got != "redirected" {
					t.Errorf("the door's http-protocol is %q; want redirected", got)
				}
				if s.Annotations["networking.knative.dev/disable-external-domain-tls"] != "" {
					t.Error("the door opts out of external-domain TLS")
				}
				return
			}
			t.Error("no Knative Service frontend")
		})
	}
}

// Every revision survives the slowest first start that the PostGIS startup
// probe allows, with time left for the migrations and the image pulls:
// Serving fails a revision that is not ready within its progress deadline
// (600 s unless annotated) and does not try it again.
func TestRevisionsOutliveFirstStart(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			budget := postgisStartBudget(t, dir)
			for _, s := range knativeServices(t, dir) {
				v := s.Spec.Template.Annotations["serving.knative.dev/progress-deadline"]
				d, err := parseSeconds(v)
				if err != nil {
					t.Errorf("%s: progress-deadline %q: %v", s.Name, v, err)
					continue
				}
				if d < budget+300 {
					t.Errorf("%s: progress-deadline %d s; want at least PostGIS's %d s plus 300 s for the migrations and pulls", s.Name, d, budget)
				}
				if wait := readSkaffold(t).Deploy.StatusCheckDeadlineSeconds; wait <= int(d) {
					t.Errorf("%s: skaffold's status check gives up after %d s, before the revision's progress deadline (%d s)", s.Name, wait, d)
				}
			}
		})
	}
}

// The dev overlay keeps the demo data, reports from 2020: no RETENTION in its
// ConfigMap or in any Service's environment. Production keeps reports 30
// days.
func TestDevKeepsDemoData(t *testing.T) {
	retention := func(dir string) []string {
		var found []string
		for _, o := range builtObjects(t, dir) {
			if o.JSON != nil && strings.Contains(string(o.JSON), `"RETENTION"`) {
				found = append(found, o.ID())
			}
		}
		return found
	}
	if found := retention("deploy/overlays/dev"); len(found) > 0 {
		t.Errorf("the dev overlay sets RETENTION in %v; the hourly ping would delete the demo data", found)
	}
	if !slices.ContainsFunc(builtObjects(t, "deploy/overlays/dev"), func(o *manifest.Object) bool {
		return o.GVK.Kind == "Job" && o.Name == "seed"
	}) {
		t.Error("the dev overlay does not seed the demo data")
	}
	if found := retention("deploy/overlays/prod"); len(found) == 0 {
		t.Error("the prod overlay keeps reports forever; want RETENTION")
	}
}

// The README reads the organizer's token where deploy/secrets.sh writes it,
// not from a Secret whose name carries kustomize's hash, and gives the
// cluster's door as https with the CA provisioning writes.
func TestReadmeClusterAccess(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	if strings.Contains(readme, "get secret udaconnect-auth") {
		t.Error("README reads the Secret udaconnect-auth, whose name carries a hash suffix")
	}
	if !strings.Contains(readme, "deploy/.secrets/auth.env") {
		t.Error("README does not read the token from deploy/.secrets/auth.env")
	}
	if regexp.MustCompile(`http://[^\s)]*sslip\.io`).MatchString(readme) {
		t.Error("README gives the cluster's door over http")
	}
	if !strings.Contains(readme, "--cacert deploy/.secrets/ingress-ca.crt") {
		t.Error("README's curl lines for the cluster do not trust the ingress CA")
	}
	if !strings.Contains(readRepoFile(t, "deploy/provision.sh"), `"${REPO}/deploy/.secrets/ingress-ca.crt"`) {
		t.Error("provisioning does not write deploy/.secrets/ingress-ca.crt")
	}
}
