package deploy

import (
	"path"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/udaconnect/udaconnect/deploy/manifest"
)

// envValue returns the literal value of a container's variable.
func envValue(ctr corev1.Container, name string) string {
	for _, e := range ctr.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// Who may call a function, as built: every function checks its callers'
// tokens for its own audience, which its Triggers name, taking at POST /
// the identities of the Triggers that deliver to it (every Trigger, for
// dead-letters, the dead-letter sink) and elsewhere the door's service
// account alone; the door runs as that service account, which exists, and
// reads a token for each function's audience from a projected volume,
// mounted read-only, at the path its *_TOKEN_FILE names. No function is
// left on the shared secret of make run.
func TestCallersChecked(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := builtObjects(t, dir)
			c := index(objs)
			audience := func(fn string) string { return "serving.knative.dev/service/" + Namespace + "/" + fn }
			subject := func(account string) string { return "system:serviceaccount:" + Namespace + ":" + account }

			door := c.ksvcs["frontend"].Spec.Template.Spec
			account := door.ServiceAccountName
			if account == "" || account == "default" {
				t.Fatalf("the door runs as service account %q; want one of its own", account)
			}
			if !slices.ContainsFunc(ofKind(objs, "", "ServiceAccount"), func(o *manifest.Object) bool { return o.Name == account }) {
				t.Errorf("no ServiceAccount %s in the build", account)
			}

			senders := map[string][]string{} // function -> the subjects of the Triggers that deliver to it
			for _, tr := range c.triggers {
				fn := tr.Spec.Subscriber.Ref.Name
				id := subject(tr.Name + "-oidc-eventing.knative.dev-trigger")
				senders[fn] = append(senders[fn], id)
				senders["dead-letters"] = append(senders["dead-letters"], id)
				if a := tr.Spec.Subscriber.Audience; a == nil || *a != audience(fn) {
					t.Errorf("Trigger %s: the subscriber's audience %v; want %s", tr.Name, a, audience(fn))
				}
			}
			for _, fn := range functions {
				ctr := c.ksvcs[fn].Spec.Template.Spec.Containers[0]
				if got := envValue(ctr, "OIDC_AUDIENCE"); got != audience(fn) {
					t.Errorf("%s: OIDC_AUDIENCE %q; want %s", fn, got, audience(fn))
				}
				got := strings.Split(envValue(ctr, "EVENTS_SENDERS"), ",")
				if want := slices.Compact(slices.Sorted(slices.Values(senders[fn]))); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
					t.Errorf("%s: EVENTS_SENDERS %v; want its Triggers' identities %v", fn, got, want)
				}
				if got := envValue(ctr, "API_CALLERS"); got != subject(account) {
					t.Errorf("%s: API_CALLERS %q; want the door's service account, %s", fn, got, subject(account))
				}
				if slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "INTERNAL_TOKEN" }) {
					t.Errorf("%s: INTERNAL_TOKEN is set; in the cluster the callers' tokens are checked", fn)
				}
			}

			tokens := map[string]string{} // file -> audience of the projected tokens the door mounts
			ctr := door.Containers[0]
			for _, v := range door.Volumes {
				if v.Projected == nil {
					continue
				}
				i := slices.IndexFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == v.Name })
				if i < 0 {
					continue
				}
				if !ctr.VolumeMounts[i].ReadOnly {
					t.Errorf("the door mounts volume %s writable", v.Name)
				}
				for _, s := range v.Projected.Sources {
					if s.ServiceAccountToken != nil {
						tokens[path.Join(ctr.VolumeMounts[i].MountPath, s.ServiceAccountToken.Path)] = s.ServiceAccountToken.Audience
					}
				}
			}
			for _, fn := range functions {
				name := strings.ToUpper(strings.ReplaceAll(fn, "-", "")) + "_TOKEN_FILE"
				file := envValue(ctr, name)
				if got, ok := tokens[file]; !ok || got != audience(fn) {
					t.Errorf("door: %s = %q holds a token for %q; want a projected token for %s", name, file, got, audience(fn))
				}
			}
			if envValue(ctr, "INTERNAL_TOKEN") != "" {
				t.Error("door: INTERNAL_TOKEN is set; in the cluster it sends its service account's tokens")
			}
		})
	}
}
