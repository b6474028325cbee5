package deploy

import (
	"bufio"
	"bytes"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/udaconnect/udaconnect/deploy/knative"
	"github.com/udaconnect/udaconnect/deploy/manifest"
)

// functions are the Knative Services that hold a database role each.
var functions = []string{"persons", "locations", "connections", "dead-letters"}

// role is the database role of a function: udaconnect_ and its name
// without dashes.
func roleOf(fn string) string { return "udaconnect_" + strings.ReplaceAll(fn, "-", "") }

// hashSuffix is the suffix kustomize gives a generated ConfigMap's or
// Secret's name: a dash and ten characters of the safe alphabet
// (k8s.io/apimachinery's rand.SafeEncodeString).
var hashSuffix = regexp.MustCompile(`-[bcdfghjklmnpqrstvwxz2456789]{10}$`)

// envSource names where a container's variable comes from, "secret
// name/key" with a generated name's hash suffix dropped, or "" when it does
// not come from a Secret.
func envSource(ctr corev1.Container, name string) string {
	for _, e := range ctr.Env {
		if e.Name != name || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		r := e.ValueFrom.SecretKeyRef
		return "secret " + hashSuffix.ReplaceAllString(r.Name, "") + "/" + r.Key
	}
	return ""
}

// generated returns the built object that a generator of the given name
// made, whatever its hash suffix.
func generated[T any](m map[string]*T, name string) *T {
	for n, v := range m {
		if hashSuffix.ReplaceAllString(n, "") == name {
			return v
		}
	}
	return nil
}

// The Secrets as built: each function reads DATABASE_URL from the Secret of
// its own role, which holds username, password and database-url; the
// migrators get the owner's URL and the three roles' passwords; the door
// gets its keys from udaconnect-auth and its token lifetime and tile server
// from the ConfigMap.
func TestSecretsAsBuilt(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			c := index(objs)
			for _, fn := range functions {
				ctr := c.ksvcs[fn].Spec.Template.Spec.Containers[0]
				want := "secret udaconnect-db-" + fn + "/database-url"
				if got := envSource(ctr, "DATABASE_URL"); got != want {
					t.Errorf("%s: DATABASE_URL from %q; want %q", fn, got, want)
				}
				s := generated(c.secrets, "udaconnect-db-"+fn)
				if s == nil {
					t.Errorf("no Secret udaconnect-db-%s", fn)
					continue
				}
				if keys := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(keys, []string{"database-url", "password", "username"}) {
					t.Errorf("Secret udaconnect-db-%s has keys %v; want database-url, password, username", fn, keys)
				}
			}

			for _, o := range ofKind(objs, "batch", "Job") {
				ctr := o.Value.(*batchv1.Job).Spec.Template.Spec.Containers[0]
				wants := map[string]string{
					"DATABASE_URL":            "secret udaconnect-db/DATABASE_URL",
					"PERSONS_DB_PASSWORD":     "secret udaconnect-db-persons/password",
					"LOCATIONS_DB_PASSWORD":   "secret udaconnect-db-locations/password",
					"CONNECTIONS_DB_PASSWORD": "secret udaconnect-db-connections/password",
					"DEADLETTERS_DB_PASSWORD": "secret udaconnect-db-dead-letters/password",
				}
				for name, want := range wants {
					if got := envSource(ctr, name); got != want {
						t.Errorf("%s: %s from %q; want %q", o.ID(), name, got, want)
					}
				}
			}

			door := c.ksvcs["frontend"].Spec.Template.Spec.Containers[0]
			for name, want := range map[string]string{
				"AUTH_KEY":        "secret udaconnect-auth/auth-key",
				"ORGANIZER_TOKEN": "secret udaconnect-auth/organizer-token",
				"DATABASE_URL":    "",
			} {
				if got := envSource(door, name); got != want {
					t.Errorf("door: %s from %q; want %q", name, got, want)
				}
			}
			var config *corev1.ConfigMap
			for _, e := range door.EnvFrom {
				if e.ConfigMapRef != nil {
					config = c.configMaps[e.ConfigMapRef.Name]
				}
			}
			if config == nil {
				t.Fatal("the door takes no ConfigMap")
			}
			for _, key := range []string{"ATTENDEE_TOKEN_TTL", "TILE_ORIGIN"} {
				if config.Data[key] == "" {
					t.Errorf("ConfigMap %s: %s is missing", config.Name, key)
				}
			}
		})
	}
}

// deploy/secrets.sh writes every file the Secrets are made from, private,
// with random values that fit together (each URL carries its role's username
// and password), and keeps files that exist.
func TestSecretsScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(repoRoot(t), "deploy", "secrets.sh")
	run := func() {
		t.Helper()
		if out, err := exec.Command("bash", script, dir).CombinedOutput(); err != nil {
			t.Fatalf("secrets.sh: %v: %s", err, out)
		}
	}
	run()
	read := func(name string) map[string]string {
		t.Helper()
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v; want 0600", name, info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		kv := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if !ok {
				t.Fatalf("%s: line %q is not KEY=VALUE", name, sc.Text())
			}
			kv[k] = v
		}
		return kv
	}

	auth := read("auth.env")
	if len(auth["auth-key"]) < 32 {
		t.Errorf("auth-key has %d bytes; want at least 32", len(auth["auth-key"]))
	}
	if len(auth["organizer-token"]) < 32 || auth["organizer-token"] == auth["auth-key"] {
		t.Error("organizer-token is short or equals the auth-key")
	}
	owner := read("postgres.env")
	for _, k := range []string{"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "DATABASE_URL"} {
		if owner[k] == "" {
			t.Errorf("postgres.env: %s is missing", k)
		}
	}
	if u, err := url.Parse(owner["DATABASE_URL"]); err != nil || u.Hostname() != "postgis.udaconnect.svc.cluster.local" {
		t.Errorf("postgres.env: DATABASE_URL %v does not name the PostGIS Service", err)
	} else if pw, _ := u.User.Password(); pw != owner["POSTGRES_PASSWORD"] || u.User.Username() != owner["POSTGRES_USER"] {
		t.Error("postgres.env: DATABASE_URL does not carry the owner's username and password")
	}
	passwords := map[string]bool{owner["POSTGRES_PASSWORD"]: true}
	for _, fn := range functions {
		role := read("db-" + fn + ".env")
		if role["username"] != roleOf(fn) {
			t.Errorf("db-%s.env: username %q; want %s", fn, role["username"], roleOf(fn))
		}
		if len(role["password"]) < 32 || passwords[role["password"]] {
			t.Errorf("db-%s.env: the password is short or another role's", fn)
		}
		passwords[role["password"]] = true
		u, err := url.Parse(role["database-url"])
		if err != nil {
			t.Fatalf("db-%s.env: database-url: %v", fn, err)
		}
		if pw, _ := u.User.Password(); u.User.Username() != role["username"] || pw != role["password"] {
			t.Errorf("db-%s.env: database-url does not carry the role's username and password", fn)
		}
		if u.Path != "/"+owner["POSTGRES_DB"] {
			t.Errorf("db-%s.env: database %q; want %q", fn, u.Path, owner["POSTGRES_DB"])
		}
	}

	persons := read("db-persons.env")
	run()
	if again := read("auth.env"); again["auth-key"] != auth["auth-key"] {
		t.Error("a second run changed the auth-key; existing files must be kept")
	}
	if again := read("db-persons.env"); again["password"] != persons["password"] {
		t.Error("a second run changed a role's password; existing files must be kept")
	}
}

// podLabels are the labels of every pod a build runs, by workload: a
// Knative Service's pods also carry serving.knative.dev/service.
func podLabels(objs []*manifest.Object) map[string]labels.Set {
	out := map[string]labels.Set{}
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *knative.Service:
			l := labels.Set{"serving.knative.dev/service": v.Name}
			maps.Copy(l, v.Spec.Template.Labels)
			out[o.ID()] = l
		case *batchv1.Job:
			out[o.ID()] = v.Spec.Template.Labels
		case *appsv1.StatefulSet:
			out[o.ID()] = v.Spec.Template.Labels
		case *appsv1.Deployment:
			out[o.ID()] = v.Spec.Template.Labels
		}
	}
	return out
}

// A NetworkPolicy selects the PostGIS pods and lets in, on 5432 alone, the
// functions' pods and the migrator's, and no other pod of the build.
func TestPostgisNetworkPolicy(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			db := postgis(t, dir)
			var policies []*networkingv1.NetworkPolicy
			for _, o := range ofKind(objs, "networking.k8s.io", "NetworkPolicy") {
				np := o.Value.(*networkingv1.NetworkPolicy)
				sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
				if err != nil {
					t.Fatal(err)
				}
				if sel.Matches(labels.Set(db.Spec.Template.Labels)) {
					policies = append(policies, np)
				}
			}
			if len(policies) != 1 {
				t.Fatalf("%d NetworkPolicies select the PostGIS pods; want 1", len(policies))
			}
			np := policies[0]
			if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
				t.Error("the policy does not restrict ingress")
			}

			admitted := map[string]bool{}
			for id, l := range podLabels(objs) {
				for _, rule := range np.Spec.Ingress {
					if !admitsPort(rule, 5432) {
						t.Errorf("an ingress rule opens more than port 5432: %+v", rule.Ports)
					}
					for _, peer := range rule.From {
						if peer.IPBlock != nil || peer.NamespaceSelector != nil || peer.PodSelector == nil {
							t.Errorf("a peer reaches beyond the namespace's pods: %+v", peer)
							continue
						}
						sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
						if err != nil {
							t.Fatal(err)
						}
						if sel.Matches(l) {
							admitted[id] = true
						}
					}
				}
			}
			want := map[string]bool{}
			for _, fn := range functions {
				want["Service.serving.knative.dev/"+fn] = true
			}
			for _, o := range ofKind(objs, "batch", "Job") {
				want[o.ID()] = true
			}
			if !maps.Equal(admitted, want) {
				t.Errorf("PostGIS admits %v; want the functions and the migrator: %v", slices.Sorted(maps.Keys(admitted)), slices.Sorted(maps.Keys(want)))
			}
		})
	}
}

// admitsPort reports whether a rule opens exactly the TCP port given.
func admitsPort(rule networkingv1.NetworkPolicyIngressRule, port int) bool {
	if len(rule.Ports) != 1 {
		return false
	}
	p := rule.Ports[0]
	return p.Port != nil && p.Port.IntValue() == port && p.EndPort == nil &&
		(p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP)
}

// Who may send events: EventPolicies let into the Broker only the
// SinkBinding identities (the door's, connections' and dead-letters'), the
// PingSources and the Triggers (which carry the functions' replies), and
// into each function only the Triggers that deliver to it, whose
// subscribers name an audience so that they send a token.
func TestEventPolicies(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			c := index(objs)
			to := map[string][]string{} // target kind/name -> senders kind/name
			for _, o := range ofKind(objs, "eventing.knative.dev", "EventPolicy") {
				p := o.Value.(*knative.EventPolicy)
				if len(p.Spec.To) == 0 {
					t.Errorf("EventPolicy %s applies to every resource of the namespace; name its targets", p.Name)
				}
				for _, target := range p.Spec.To {
					if target.Ref == nil {
						t.Errorf("EventPolicy %s: a target by selector; want references", p.Name)
						continue
					}
					key := target.Ref.Kind + "/" + target.Ref.Name
					for _, f := range p.Spec.From {
						if f.Ref == nil {
							t.Errorf("EventPolicy %s: a sender by subject; want references to the build's resources", p.Name)
							continue
						}
						if f.Ref.Namespace != "" && f.Ref.Namespace != Namespace {
							t.Errorf("EventPolicy %s: sender %s in namespace %s", p.Name, f.Ref.Name, f.Ref.Namespace)
						}
						to[key] = append(to[key], f.Ref.Kind+"/"+f.Ref.Name)
					}
				}
			}

			var brokerWant []string
			for _, sb := range c.sinkBindings {
				brokerWant = append(brokerWant, "SinkBinding/"+sb.Name)
			}
			for _, o := range ofKind(objs, "sources.knative.dev", "PingSource") {
				brokerWant = append(brokerWant, "PingSource/"+o.Name)
			}
			delivering := map[string][]string{} // Service -> the Triggers that deliver to it
			for _, tr := range c.triggers {
				brokerWant = append(brokerWant, "Trigger/"+tr.Name)
				svc := "Service/" + tr.Spec.Subscriber.Ref.Name
				delivering[svc] = append(delivering[svc], "Trigger/"+tr.Name)
				if a := tr.Spec.Subscriber.Audience; a == nil || *a == "" {
					t.Errorf("Trigger %s: the subscriber names no audience, so the Broker sends it no token", tr.Name)
				}
			}
			for svc, want := range delivering {
				if got := slices.Sorted(slices.Values(to[svc])); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
					t.Errorf("%s may receive from %v; want its Triggers %v alone", svc, got, want)
				}
			}
			got := slices.Sorted(slices.Values(to["Broker/default"]))
			slices.Sort(brokerWant)
			if !slices.Equal(got, brokerWant) {
				t.Errorf("the Broker may receive from %v; want %v", got, brokerWant)
			}
			for _, fn := range functions {
				if len(to["Service/"+fn]) == 0 {
					t.Errorf("no EventPolicy for %s", fn)
				}
			}
		})
	}
}

// Every EventPolicy validates against the EventPolicy CRD schema of
// knative.dev/eventing, as written and as built.
func TestEventPoliciesMatchCRD(t *testing.T) {
	s := eventPolicySchema(t)
	check := func(t *testing.T, objs []*manifest.Object) { validateKind(t, s, manifest.EventPolicy, objs) }
	t.Run("eventing/cluster/eventpolicies.yaml", func(t *testing.T) {
		check(t, mustParse(t, "eventing/cluster/eventpolicies.yaml"))
	})
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) { check(t, builtObjects(t, dir)) })
	}
}

// The EventPolicy schema check is not vacuous: a misplaced field fails it.
func TestEventPolicyCRDCatchesMistakes(t *testing.T) {
	s := eventPolicySchema(t)
	data := readRepoFile(t, "eventing/cluster/eventpolicies.yaml")
	doc := manifest.Split([]byte(data))[0]
	refusesChanges(t, s, string(doc), map[string][2]string{
		"sender's field on a target": {"        kind: Broker\n", "        kind: Broker\n        namespace: udaconnect\n"},
		"unknown field":              {"  from:\n", "  senders: []\n  from:\n"},
	})
}
