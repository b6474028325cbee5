package deploy

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/udaconnect/udaconnect/deploy/knative"
	"github.com/udaconnect/udaconnect/deploy/manifest"
)

// Every source manifest decodes strictly into its Kubernetes type.
func TestSourceManifestsDecodeStrictly(t *testing.T) {
	files := sourceManifests(t)
	if len(files) < 15 {
		t.Fatalf("found %d manifests: %v; want the functions', the door's, db/k8s, eventing and deploy's", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			objs := mustParse(t, f)
			if len(objs) == 0 {
				t.Fatal("no Kubernetes object in the file")
			}
		})
	}
}

// Every built overlay decodes strictly, and each object keeps its kind's
// rules (Knative's for Services, Brokers, Triggers and SinkBindings).
func TestBuiltManifestsValidate(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			for _, o := range objs {
				if err := o.Validate(); err != nil {
					t.Error(err)
				}
				if o.Namespace != Namespace {
					t.Errorf("%s: namespace %q; want %q", o.ID(), o.Namespace, Namespace)
				}
			}
		})
	}
}

// Every Knative Service, as written and as built, validates against the
// Knative Serving CRD schema of the release the cluster runs.
func TestKnativeServicesMatchServingCRD(t *testing.T) {
	s := servingSchema(t)
	check := func(t *testing.T, objs []*manifest.Object) { validateKind(t, s, manifest.KnativeService, objs) }
	for _, f := range []string{
		"functions/persons/service.yaml", "functions/locations/service.yaml",
		"functions/connections/service.yaml", "frontend/service.yaml",
		"functions/deadletters/service.yaml",
	} {
		t.Run(f, func(t *testing.T) {
			objs := mustParse(t, f)
			check(t, objs)
		})
	}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) { check(t, builtObjects(t, dir)) })
	}
}

// The schema check is not vacuous: a misplaced field in a Knative Service
// fails it, as the API server would refuse it.
func TestServingCRDCatchesMistakes(t *testing.T) {
	s := servingSchema(t)
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "functions/persons/service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	refusesChanges(t, s, string(data), map[string][2]string{
		"field of the pod, not the container": {"          readinessProbe:", "          hostNetwork: true\n          readinessProbe:"},
		"wrong type":                          {"timeoutSeconds: 30", "timeoutSeconds: thirty"},
	})
}

// The functions and the door scale to zero with a target concurrency and a
// max scale, are scraped by Prometheus, time out, probe /healthz and /readyz,
// have requests and limits, take their environment from the ConfigMap (and
// each function its database URL from the Secret of its own role), and only
// the door is public.
func TestKnativeServiceSettings(t *testing.T) {
	want := map[string]struct {
		public bool
		secret bool
	}{
		"persons":      {secret: true},
		"locations":    {secret: true},
		"connections":  {secret: true},
		"dead-letters": {secret: true},
		"frontend":     {public: true},
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("functions", strings.ReplaceAll(name, "-", "")) // functions/deadletters holds dead-letters
			if name == "frontend" {
				dir = "frontend"
			}
			f := filepath.Join(dir, "service.yaml")
			objs := mustParse(t, f)
			if len(objs) != 1 || objs[0].GVK != manifest.KnativeService || objs[0].Name != name {
				t.Fatalf("%s holds %d objects; want the Knative Service %s alone", f, len(objs), name)
			}
			s := objs[0].Value.(*knative.Service)
			a := s.Spec.Template.Annotations
			if a[knative.AnnotationMinScale] != "0" {
				t.Errorf("min-scale = %q; want \"0\" (scale to zero)", a[knative.AnnotationMinScale])
			}
			for _, key := range []string{knative.AnnotationMaxScale, knative.AnnotationTarget} {
				if a[key] == "" {
					t.Errorf("annotation %s is missing", key)
				}
			}
			if s.Spec.Template.Spec.TimeoutSeconds == nil {
				t.Error("timeoutSeconds is missing")
			}
			// Scraped on the default METRICS_PORT of every process
			// (telemetry.DefaultMetricsPort), not a port that Knative's
			// queue-proxy holds in the same pod (8012, 8013, 8022, 9090, 9091).
			for key, value := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics"} {
				if a[key] != value {
					t.Errorf("annotation %s = %q; want %q", key, a[key], value)
				}
			}
			if local := s.Labels[knative.LabelVisibility] == knative.VisibilityLocal; local == w.public {
				t.Errorf("cluster-local = %v; want %v", local, !w.public)
			}
			c := s.Spec.Template.Spec.Containers[0]
			if !strings.HasPrefix(c.Image, "ko://github.com/udaconnect/udaconnect/") {
				t.Errorf("image %q; want a ko:// import path of this repository", c.Image)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Error("livenessProbe: want GET /healthz")
			}
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Error("readinessProbe: want GET /readyz")
			}
			for _, r := range []string{"cpu", "memory"} {
				if _, ok := c.Resources.Requests[corev1.ResourceName(r)]; !ok {
					t.Errorf("no %s request", r)
				}
				if _, ok := c.Resources.Limits[corev1.ResourceName(r)]; !ok {
					t.Errorf("no %s limit", r)
				}
			}
			checkMemoryLimit(t, c)
			fromConfigMap := false
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil && e.ConfigMapRef.Name == "udaconnect-config" {
					fromConfigMap = true
				}
			}
			if !fromConfigMap {
				t.Error("no envFrom the ConfigMap udaconnect-config")
			}
			fromSecret := ""
			for _, e := range c.Env {
				if e.Name == "DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					fromSecret = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
				}
			}
			want := ""
			if w.secret {
				want = "udaconnect-db-" + name + "/database-url"
			}
			if fromSecret != want {
				t.Errorf("DATABASE_URL from Secret key %q; want %q (the function's own role)", fromSecret, want)
			}
		})
	}
}

// mustParse reads and strictly decodes the manifest at path f of the repository.
func mustParse(t *testing.T, f string) []*manifest.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), f))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse(f, data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// checkMemoryLimit checks that the container sets GOMEMLIMIT, in bytes or
// MiB, to at most 90% of its memory limit and at least 80%.
func checkMemoryLimit(t *testing.T, c corev1.Container) {
	t.Helper()
	limit := c.Resources.Limits[corev1.ResourceMemory]
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(e.Value, "MiB"), 10, 64)
		if err != nil {
			t.Fatalf("GOMEMLIMIT = %q; want a number of bytes or MiB", e.Value)
		}
		if strings.HasSuffix(e.Value, "MiB") {
			n <<= 20
		}
		if max := limit.Value(); n > max*9/10 || n < max*8/10 {
			t.Errorf("GOMEMLIMIT = %s (%d bytes); want 80 to 90%% of the memory limit %s", e.Value, n, limit.String())
		}
		return
	}
	t.Error("GOMEMLIMIT is not set")
}
