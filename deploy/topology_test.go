package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/udaconnect/udaconnect/deploy/knative"
	"github.com/udaconnect/udaconnect/deploy/manifest"
)

// consumers are the event types of the catalogue (docs/design.md, "Events") that the
// Broker must deliver to a function, and the Knative Service that takes each.
// The others are replies into the Broker or request/reply at a function.
var consumers = map[string]string{
	"io.udaconnect.person.create":      "persons",
	"io.udaconnect.location.reported":  "locations",
	"io.udaconnect.locations.reported": "locations",
	"io.udaconnect.location.recorded":  "connections",
	"io.udaconnect.locations.recorded": "connections",
}

// sinkBound are the Knative Services that must get K_SINK from a SinkBinding.
var sinkBound = []string{"frontend", "connections"}

// cluster indexes a built overlay by kind and name.
type cluster struct {
	ksvcs        map[string]*knative.Service
	services     map[string]*corev1.Service
	brokers      map[string]*knative.Broker
	triggers     []*knative.Trigger
	sinkBindings []*knative.SinkBinding
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pods         map[string]corev1.PodSpec // workload ID -> pod spec
}

func index(objs []*manifest.Object) *cluster {
	c := &cluster{
		ksvcs: map[string]*knative.Service{}, services: map[string]*corev1.Service{},
		brokers: map[string]*knative.Broker{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, pods: map[string]corev1.PodSpec{},
	}
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *knative.Service:
			c.ksvcs[v.Name] = v
			c.pods[o.ID()] = v.Spec.Template.Spec.PodSpec
		case *corev1.Service:
			c.services[v.Name] = v
		case *knative.Broker:
			c.brokers[v.Name] = v
		case *knative.Trigger:
			c.triggers = append(c.triggers, v)
		case *knative.SinkBinding:
			c.sinkBindings = append(c.sinkBindings, v)
		case *corev1.ConfigMap:
			c.configMaps[v.Name] = v
		case *corev1.Secret:
			c.secrets[v.Name] = v
		case *appsv1.StatefulSet:
			c.pods[o.ID()] = v.Spec.Template.Spec
		case *appsv1.Deployment:
			c.pods[o.ID()] = v.Spec.Template.Spec
		case *batchv1.Job:
			c.pods[o.ID()] = v.Spec.Template.Spec
		}
	}
	return c
}

// exists reports whether a Knative reference names an object of the build.
func (c *cluster) exists(r *knative.KReference) bool {
	if r.Namespace != "" && r.Namespace != Namespace {
		return false
	}
	switch {
	case r.APIVersion == "serving.knative.dev/v1" && r.Kind == "Service":
		return c.ksvcs[r.Name] != nil
	case r.APIVersion == "eventing.knative.dev/v1" && r.Kind == "Broker":
		return c.brokers[r.Name] != nil
	case r.APIVersion == "v1" && r.Kind == "Service":
		return c.services[r.Name] != nil
	case r.APIVersion == "v1" && r.Kind == "ConfigMap":
		return c.configMaps[r.Name] != nil
	}
	return false
}

// exactTypes returns the event types a Trigger filters on exactly: of an
// exact filter, or of each exact filter that any of joins.
func exactTypes(tr *knative.Trigger) []string {
	var types []string
	var walk func(f knative.EventFilter)
	walk = func(f knative.EventFilter) {
		if t, ok := f.Exact["type"]; ok {
			types = append(types, t)
		}
		for _, g := range f.Any {
			walk(g)
		}
	}
	for _, f := range tr.Spec.Filters {
		walk(f)
	}
	if tr.Spec.Filter != nil && tr.Spec.Filter.Attributes["type"] != "" {
		types = append(types, tr.Spec.Filter.Attributes["type"])
	}
	return types
}

func TestTopology(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			c := index(builtObjects(t, dir))

			for name, b := range c.brokers {
				if d := b.Spec.Delivery; d != nil && d.DeadLetterSink != nil && d.DeadLetterSink.Ref != nil && !c.exists(d.DeadLetterSink.Ref) {
					t.Errorf("Broker %s: dead-letter sink %s %s does not exist", name, d.DeadLetterSink.Ref.Kind, d.DeadLetterSink.Ref.Name)
				}
				if cfg := b.Spec.Config; cfg != nil && !c.exists(cfg) {
					t.Errorf("Broker %s: config %s %s does not exist", name, cfg.Kind, cfg.Name)
				}
			}

			served := map[string]string{}
			for _, tr := range c.triggers {
				if c.brokers[tr.Spec.Broker] == nil {
					t.Errorf("Trigger %s: Broker %q does not exist", tr.Name, tr.Spec.Broker)
				}
				ref := tr.Spec.Subscriber.Ref
				if ref == nil || !c.exists(ref) {
					t.Errorf("Trigger %s: subscriber %+v is not a Service of the build", tr.Name, tr.Spec.Subscriber)
					continue
				}
				if d := tr.Spec.Delivery; d == nil || d.DeadLetterSink == nil || d.DeadLetterSink.Ref == nil || !c.exists(d.DeadLetterSink.Ref) {
					t.Errorf("Trigger %s: no dead-letter sink of the build", tr.Name)
				}
				for _, typ := range exactTypes(tr) {
					served[typ] = ref.Name
				}
			}
			for typ, svc := range consumers {
				if got, ok := served[typ]; !ok {
					t.Errorf("no Trigger delivers %s", typ)
				} else if got != svc {
					t.Errorf("%s goes to %s; want %s", typ, got, svc)
				}
			}

			bound := map[string]bool{}
			for _, sb := range c.sinkBindings {
				sub := sb.Spec.Subject
				if sub.APIVersion != "serving.knative.dev/v1" || sub.Kind != "Service" || c.ksvcs[sub.Name] == nil {
					t.Errorf("SinkBinding %s: subject %s %s is not a Knative Service of the build", sb.Name, sub.Kind, sub.Name)
				}
				if ref := sb.Spec.Sink.Ref; ref == nil || ref.Kind != "Broker" || !c.exists(ref) {
					t.Errorf("SinkBinding %s: sink is not a Broker of the build", sb.Name)
				}
				bound[sub.Name] = true
			}
			for _, name := range sinkBound {
				if !bound[name] {
					t.Errorf("no SinkBinding gives %s its K_SINK", name)
				}
			}
			for name, s := range c.ksvcs {
				for _, ctr := range s.Spec.Template.Spec.Containers {
					for _, e := range ctr.Env {
						if e.Name == "K_SINK" {
							t.Errorf("Knative Service %s sets K_SINK itself; its SinkBinding does", name)
						}
					}
				}
			}

			for id, pod := range c.pods {
				checkReferences(t, c, id, pod)
			}
		})
	}
}

// checkReferences fails when a pod names a ConfigMap, Secret or key that
// the build does not have, which would keep it from starting.
func checkReferences(t *testing.T, c *cluster, id string, pod corev1.PodSpec) {
	t.Helper()
	containers := slices.Concat(pod.InitContainers, pod.Containers)
	for _, ctr := range containers {
		for _, e := range ctr.EnvFrom {
			if r := e.ConfigMapRef; r != nil && c.configMaps[r.Name] == nil {
				t.Errorf("%s: envFrom ConfigMap %q does not exist", id, r.Name)
			}
			if r := e.SecretRef; r != nil && c.secrets[r.Name] == nil {
				t.Errorf("%s: envFrom Secret %q does not exist", id, r.Name)
			}
		}
		for _, e := range ctr.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				s := c.secrets[r.Name]
				if s == nil {
					t.Errorf("%s: env %s: Secret %q does not exist", id, e.Name, r.Name)
					continue
				}
				_, inData := s.Data[r.Key]
				_, inString := s.StringData[r.Key]
				if !inData && !inString {
					t.Errorf("%s: env %s: Secret %q has no key %q", id, e.Name, r.Name, r.Key)
				}
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				m := c.configMaps[r.Name]
				if m == nil {
					t.Errorf("%s: env %s: ConfigMap %q does not exist", id, e.Name, r.Name)
					continue
				}
				if _, ok := m.Data[r.Key]; !ok {
					t.Errorf("%s: env %s: ConfigMap %q has no key %q", id, e.Name, r.Name, r.Key)
				}
			}
		}
	}
}

// pinned matches an image that names a version: a digest, or a tag with a
// digit in it (not latest, not a bare name).
var pinned = regexp.MustCompile(`(@sha256:[0-9a-f]{64}$)|(:[^/:@]*[0-9][^/:@]*$)`)

// Every image is either built by skaffold (a ko:// import path that
// skaffold.yaml has an artifact for) or a third-party image pinned by tag,
// and every skaffold artifact is deployed.
func TestImages(t *testing.T) {
	cfg := readSkaffold(t)
	artifacts := map[string]bool{}
	for _, a := range cfg.Build.Artifacts {
		artifacts[a.Image] = true
	}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			used := map[string]bool{}
			for id, pod := range index(builtObjects(t, dir)).pods {
				for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
					switch {
					case strings.HasPrefix(ctr.Image, "ko://"):
						if !artifacts[ctr.Image] {
							t.Errorf("%s: image %s is not built by skaffold.yaml", id, ctr.Image)
						}
						used[ctr.Image] = true
					case !pinned.MatchString(ctr.Image) || strings.HasSuffix(ctr.Image, ":latest"):
						t.Errorf("%s: image %s is not pinned to a version", id, ctr.Image)
					}
				}
			}
			if dir == "deploy/base" {
				return
			}
			for a := range artifacts {
				if !used[a] {
					t.Errorf("skaffold builds %s but nothing deploys it", a)
				}
			}
		})
	}
}

// The database: one PostGIS StatefulSet with a volume claim and a headless
// Service of its serviceName, on a pinned CloudNativePG PostGIS tag; exactly one
// Job runs the migrator (with -seed where the seed component is used).
func TestDatabase(t *testing.T) {
	wantSeed := map[string]bool{"deploy/base": false, "deploy/overlays/dev": true, "deploy/overlays/prod": false}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			sets := ofKind(objs, "apps", "StatefulSet")
			if len(sets) != 1 {
				t.Fatalf("%d StatefulSets; want 1 (PostGIS)", len(sets))
			}
			ss := sets[0].Value.(*appsv1.StatefulSet)
			if len(ss.Spec.VolumeClaimTemplates) == 0 {
				t.Error("PostGIS has no PersistentVolumeClaim template")
			}
			if img := ss.Spec.Template.Spec.Containers[0].Image; !regexp.MustCompile(`^ghcr\.io/cloudnative-pg/postgis:\d+\.\d+-\d+\.\d+\.\d+-\d{12}-`).MatchString(img) {
				t.Errorf("PostGIS image %q; want a CloudNativePG PostGIS tag of one build, such as 17.10-3.6.4-202608031108-standard-trixie", img)
			}
			svc := index(objs).services[ss.Spec.ServiceName]
			if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("no headless Service %q for the StatefulSet", ss.Spec.ServiceName)
			}

			var migrators []string
			for _, o := range ofKind(objs, "batch", "Job") {
				job := o.Value.(*batchv1.Job)
				for _, ctr := range job.Spec.Template.Spec.Containers {
					if ctr.Image != "ko://github.com/udaconnect/udaconnect/shared/cmd/migrate" {
						continue
					}
					migrators = append(migrators, job.Name)
					if seeds := slices.Contains(ctr.Args, "-seed"); seeds != wantSeed[dir] {
						t.Errorf("Job %s: seeds = %v; want %v", job.Name, seeds, wantSeed[dir])
					}
				}
			}
			if len(migrators) != 1 {
				t.Errorf("Jobs running migrate: %v; want exactly one", migrators)
			}
			for _, o := range ofKind(objs, "serving.knative.dev", "Service") {
				for _, ctr := range o.Value.(*knative.Service).Spec.Template.Spec.Containers {
					if strings.HasSuffix(ctr.Image, "/cmd/migrate") {
						t.Errorf("%s runs the migrator; only the Job may", o.ID())
					}
				}
			}
		})
	}
}

// The Broker is the in-memory MT channel-based one in development and the
// durable Kafka class in production, switched by the overlay alone.
func TestBrokerClass(t *testing.T) {
	want := map[string]string{
		"deploy/base":          knative.ClassMTChannelBased,
		"deploy/overlays/dev":  knative.ClassMTChannelBased,
		"deploy/overlays/prod": knative.ClassKafka,
	}
	for dir, class := range want {
		t.Run(dir, func(t *testing.T) {
			c := index(builtObjects(t, dir))
			b := c.brokers["default"]
			if b == nil {
				t.Fatal("no Broker default")
			}
			if got := b.Annotations[knative.AnnotationBrokerClass]; got != class {
				t.Errorf("broker class %q; want %q", got, class)
			}
			if class != knative.ClassKafka {
				return
			}
			cfg := b.Spec.Config
			if cfg == nil || cfg.Kind != "ConfigMap" {
				t.Fatal("Kafka Broker without a config ConfigMap")
			}
			m := c.configMaps[cfg.Name]
			if m == nil {
				t.Fatalf("ConfigMap %s is not in the build", cfg.Name)
			}
			for _, key := range []string{"bootstrap.servers", "default.topic.partitions", "default.topic.replication.factor"} {
				if m.Data[key] == "" {
					t.Errorf("ConfigMap %s: %s is missing", cfg.Name, key)
				}
			}
		})
	}
}

// multiArch are the third-party image repositories known to publish
// linux/amd64 and linux/arm64, each with the upstream source that says so.
// The Vagrant VM runs on either (Apple silicon providers included) and
// `skaffold run -p prod` builds for both.
var multiArch = map[string]string{
	"ghcr.io/cloudnative-pg/postgis":    "cloudnative-pg/postgis-containers docker-bake.hcl: platforms linux/amd64, linux/arm64",
	"docker.io/library/alpine":          "Docker official image: amd64, arm64 and more",
	"docker.io/library/registry":        "Docker official image: amd64, arm64 and more",
	"docker.io/mendhak/http-https-echo": "mendhak/docker-http-https-echo publish.yml: linux/amd64, arm/v6, arm/v7, arm64/v8",
}

// amd64Only are image repositories known to publish linux/amd64 alone.
var amd64Only = map[string]string{
	"docker.io/postgis/postgis": `postgis/docker-postgis README: "Supported architecture: amd64"`,
}

// repository drops an image reference's tag or digest.
func repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// Every third-party image (of the builds, the VM's registry and ko's base)
// is from a repository known to be multi-arch, and none is amd64 only. This
// checks names against the lists above; that a tag's manifest list really
// holds both platforms only a registry can tell.
func TestImagesMultiArch(t *testing.T) {
	images := map[string]string{} // image -> where
	for _, dir := range overlays {
		for id, pod := range index(builtObjects(t, dir)).pods {
			for _, ctr := range slices.Concat(pod.InitContainers, pod.Containers) {
				images[ctr.Image] = dir + ": " + id
			}
		}
	}
	for id, pod := range index(mustParse(t, "deploy/vm/registry.yaml")).pods {
		for _, ctr := range pod.Containers {
			images[ctr.Image] = "deploy/vm/registry.yaml: " + id
		}
	}
	for _, a := range readSkaffold(t).Build.Artifacts {
		images[a.Ko.FromImage] = "skaffold.yaml: base of " + a.Image
	}
	for image, where := range images {
		if strings.HasPrefix(image, "ko://") {
			continue
		}
		repo := repository(image)
		if !strings.Contains(strings.SplitN(repo, "/", 2)[0], ".") {
			t.Errorf("%s: image %s does not name its registry", where, image)
		}
		if why, ok := amd64Only[repo]; ok {
			t.Errorf("%s: image %s is amd64 only (%s)", where, image, why)
		} else if _, ok := multiArch[repo]; !ok {
			t.Errorf("%s: image %s is not known to be multi-arch; check upstream and add it to multiArch", where, image)
		}
	}
}
