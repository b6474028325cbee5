package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/udaconnect/udaconnect/deploy/skaffold"
)

const modulePrefix = "github.com/udaconnect/udaconnect/"

func readSkaffold(t *testing.T) *skaffold.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := skaffold.Parse(data)
	if err != nil {
		t.Fatalf("skaffold.yaml: %v", err)
	}
	return cfg
}

// workspaceModules lists the folders go.work uses, relative to the repo.
func workspaceModules(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "work", "edit", "-json", filepath.Join(repoRoot(t), "go.work"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go work edit -json: %v", err)
	}
	var work struct {
		Use []struct{ DiskPath string }
	}
	if err := json.Unmarshal(out, &work); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range work.Use {
		dirs = append(dirs, filepath.Clean(u.DiskPath))
	}
	return dirs
}

// Every artifact is built by ko from a main package of a module the
// committed go.work uses, from the repository root (where go.work is), on a
// pinned base image.
func TestSkaffoldArtifacts(t *testing.T) {
	cfg := readSkaffold(t)
	modules := workspaceModules(t)
	want := []string{"functions/persons", "functions/locations", "functions/connections", "functions/deadletters", "frontend", "shared/cmd/migrate"}
	var got []string
	for _, a := range cfg.Build.Artifacts {
		if a.Ko == nil {
			t.Errorf("%s: not built with ko", a.Image)
			continue
		}
		if a.Context != "" && a.Context != "." {
			t.Errorf("%s: context %q; want the repository root, where go.work is", a.Image, a.Context)
		}
		if a.Ko.Dir != "" || a.Ko.Main != "" {
			t.Errorf("%s: dir/main set; the ko:// import path alone names the package", a.Image)
		}
		pkg, ok := strings.CutPrefix(a.Image, "ko://"+modulePrefix)
		if !ok {
			t.Errorf("image %q; want ko://%s...", a.Image, modulePrefix)
			continue
		}
		got = append(got, pkg)
		inWorkspace := slices.ContainsFunc(modules, func(m string) bool {
			return pkg == m || strings.HasPrefix(pkg, m+"/")
		})
		if !inWorkspace {
			t.Errorf("%s: %s is in no module of go.work %v", a.Image, pkg, modules)
		}
		if !pinned.MatchString(a.Ko.FromImage) || strings.HasSuffix(a.Ko.FromImage, ":latest") {
			t.Errorf("%s: base image %q is not pinned", a.Image, a.Ko.FromImage)
		}
		if pkg == "frontend" {
			builds := a.Hooks != nil && slices.ContainsFunc(a.Hooks.Before, func(h skaffold.HostHook) bool {
				return slices.Equal(h.Command, []string{"make", "web"})
			})
			if !builds {
				t.Errorf("%s: no hook builds the web app the door embeds", a.Image)
			}
		}
		if !slices.Contains(a.Ko.Env, "CGO_ENABLED=0") {
			t.Errorf("%s: CGO_ENABLED=0 not set; the base image has no C library", a.Image)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("artifacts %v; want %v", got, want)
	}
}

// Manifests come from the kustomize overlays, with the load restrictor off
// as the base needs, and the secret file made before rendering; the dev
// profile (on for skaffold dev) port-forwards the door to localhost:8080;
// the prod profile deploys the prod overlay with multi-arch images.
func TestSkaffoldManifestsAndProfiles(t *testing.T) {
	cfg := readSkaffold(t)
	checkKustomize := func(where string, k *skaffold.Kustomize, overlay string) {
		t.Helper()
		if k == nil || !slices.Equal(k.Paths, []string{overlay}) {
			t.Errorf("%s: kustomize paths %v; want [%s]", where, k, overlay)
			return
		}
		if !slices.Contains(overlays, overlay) {
			t.Errorf("%s: %s is not an overlay the tests build", where, overlay)
		}
		if !slices.Contains(k.BuildArgs, "--load-restrictor=LoadRestrictionsNone") {
			t.Errorf("%s: buildArgs %v; want --load-restrictor=LoadRestrictionsNone", where, k.BuildArgs)
		}
	}
	if cfg.Manifests == nil {
		t.Fatal("no manifests section")
	}
	checkKustomize("manifests", cfg.Manifests.Kustomize, "deploy/overlays/dev")
	hookRunsSecrets := false
	if h := cfg.Manifests.Hooks; h != nil {
		for _, b := range h.Before {
			if b.Host != nil && slices.Contains(b.Host.Command, "deploy/secrets.sh") {
				hookRunsSecrets = true
			}
		}
	}
	if !hookRunsSecrets {
		t.Error("no render hook runs deploy/secrets.sh before kustomize needs its file")
	}
	if cfg.Deploy == nil || cfg.Deploy.Kubectl == nil || cfg.Deploy.Kubectl.DefaultNamespace != Namespace {
		t.Errorf("deploy: want kubectl into namespace %s", Namespace)
	}

	dev := cfg.Profile("dev")
	if dev == nil {
		t.Fatal("no dev profile")
	}
	if !slices.ContainsFunc(dev.Activation, func(a skaffold.Activation) bool { return a.Command == "dev" }) {
		t.Error("the dev profile is not activated by skaffold dev")
	}
	door := index(builtObjects(t, "deploy/overlays/dev")).services
	forwarded := false
	for _, pf := range dev.PortForward {
		if pf.LocalPort != 8080 {
			continue
		}
		forwarded = true
		svc := door[pf.ResourceName]
		if pf.ResourceType != "service" || svc == nil || pf.Namespace != Namespace {
			t.Errorf("port-forward to %s %s/%s; want a Service of the dev overlay", pf.ResourceType, pf.Namespace, pf.ResourceName)
			continue
		}
		if svc.Spec.Selector["serving.knative.dev/service"] != "frontend" {
			t.Errorf("Service %s selects %v; want the door's pods", svc.Name, svc.Spec.Selector)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == pf.Port }) {
			t.Errorf("Service %s has no port %d", svc.Name, pf.Port)
		}
	}
	if !forwarded {
		t.Error("the dev profile does not port-forward the door to localhost:8080")
	}

	prod := cfg.Profile("prod")
	if prod == nil || prod.Manifests == nil {
		t.Fatal("no prod profile with manifests")
	}
	checkKustomize("profile prod", prod.Manifests.Kustomize, "deploy/overlays/prod")
	if prod.Build == nil || !slices.Contains(prod.Build.Platforms, "linux/amd64") || !slices.Contains(prod.Build.Platforms, "linux/arm64") {
		t.Error("the prod profile does not build for linux/amd64 and linux/arm64")
	}
}

// globMatch reports whether a slash-separated path matches a skaffold
// dependency pattern: path.Match per segment, with ** for any number of
// segments.
func globMatch(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pattern, name []string) bool {
	if len(pattern) == 0 {
		return len(name) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchSegments(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pattern[0], name[0])
	return err == nil && ok && matchSegments(pattern[1:], name[1:])
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"shared/**", "shared/server/serve.go", true},
		{"shared/**", "sharedx/a.go", false},
		{"**/*_test.go", "a/b/c_test.go", true},
		{"**/*_test.go", "c_test.go", true},
		{"**/*.yaml", "frontend/openapi.yaml", true},
		{"db/k8s/**", "db/migrations/0001.sql", false},
		{"go.work", "go.work.sum", false},
	} {
		if got := globMatch(c.pattern, c.name); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v; want %v", c.pattern, c.name, got, c.want)
		}
	}
}

// buildInputs lists, relative to the repository, every file the Go build of
// a package reads from the repository: the Go files of every package of this
// repository it depends on, the files their //go:embed directives name (as
// go list resolves them), each module's go.mod and go.sum, and go.work with
// go.work.sum.
func buildInputs(t *testing.T, pkg string) []string {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command("go", "list", "-deps", "-json", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	files := []string{"go.work", "go.work.sum"}
	d := json.NewDecoder(bytes.NewReader(out))
	for d.More() {
		var p struct {
			Dir        string
			GoFiles    []string
			CgoFiles   []string
			EmbedFiles []string
			Module     *struct{ Path, Dir, GoMod string }
		}
		if err := d.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !strings.HasPrefix(p.Module.Path+"/", modulePrefix) {
			continue
		}
		add := func(abs string) {
			rel, err := filepath.Rel(root, abs)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Fatalf("%s is outside the repository", abs)
			}
			files = append(files, filepath.ToSlash(rel))
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.EmbedFiles) {
			add(filepath.Join(p.Dir, f))
		}
		add(p.Module.GoMod)
		if _, err := os.Stat(filepath.Join(p.Module.Dir, "go.sum")); err == nil {
			add(filepath.Join(p.Module.Dir, "go.sum"))
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// Every file a binary is built from or embeds is a dependency of its
// artifact, so that changing it rebuilds the image under skaffold dev. The
// web app the door embeds (frontend/web/dist) is built by the artifact's
// hook, so its sources are the dependencies instead.
func TestSkaffoldDependencies(t *testing.T) {
	root := repoRoot(t)
	var webSources []string
	for _, pattern := range []string{"frontend/web/src/*", "frontend/web/src/*/*", "frontend/web/index.html", "frontend/web/package.json", "frontend/web/package-lock.json", "frontend/web/vite.config.ts"} {
		matches, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && !info.IsDir() {
				rel, _ := filepath.Rel(root, m)
				webSources = append(webSources, filepath.ToSlash(rel))
			}
		}
	}
	if len(webSources) < 3 {
		t.Fatalf("found only %v of the web app's sources", webSources)
	}
	for _, a := range readSkaffold(t).Build.Artifacts {
		t.Run(a.Image, func(t *testing.T) {
			deps := a.Ko.Dependencies
			if deps == nil {
				t.Fatal("no dependencies")
			}
			covered := func(f string) bool {
				in := slices.ContainsFunc(deps.Paths, func(p string) bool { return globMatch(p, f) })
				out := slices.ContainsFunc(deps.Ignore, func(p string) bool { return globMatch(p, f) })
				return in && !out
			}
			embedsWeb := false
			for _, f := range buildInputs(t, strings.TrimPrefix(a.Image, "ko://")) {
				if strings.HasPrefix(f, "frontend/web/dist/") {
					embedsWeb = true
					continue
				}
				if !covered(f) {
					t.Errorf("%s is not a dependency: a change to it would not rebuild the image", f)
				}
			}
			if !embedsWeb {
				return
			}
			for _, f := range webSources {
				if !covered(f) {
					t.Errorf("%s, a source of the embedded web app, is not a dependency", f)
				}
			}
		})
	}
}
