package deploy

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/udaconnect/udaconnect/deploy/manifest"
	"github.com/udaconnect/udaconnect/deploy/openapi"
)

// repoRoot is the repository's top folder (this package lives in deploy/).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// needTool returns the path of a command-line tool. Without it the test is
// skipped, except in CI (CI=true), where the tool must be there.
func needTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must have it", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// Overlays are the kustomize roots that must build, relative to the repo.
var overlays = []string{"deploy/base", "deploy/overlays/dev", "deploy/overlays/prod"}

// sourceManifests are the Kubernetes manifests this folder deploys or
// provisions with, relative to the repo: every YAML document in them must
// decode strictly. Kustomize's own files are not manifests.
func sourceManifests(t testing.TB) []string {
	t.Helper()
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{
		"functions/*/service.yaml",
		"frontend/service.yaml", "frontend/serviceaccount.yaml",
		"db/k8s/*.yaml", "db/k8s/*/*.yaml",
		"eventing/broker.yaml", "eventing/triggers.yaml",
		"eventing/cluster/*.yaml", "eventing/kafka/*.yaml",
		"deploy/base/*.yaml", "deploy/overlays/*/*.yaml",
		"deploy/vm/registry.yaml", "deploy/vm/namespace.yaml",
	} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			switch filepath.Base(rel) {
			case "kustomization.yaml", "knative-references.yaml":
				continue
			}
			files = append(files, rel)
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

var (
	secretOnce  sync.Once
	secretFiles map[string][]byte
	secretErr   error
)

// testSecrets runs deploy/secrets.sh into a scratch folder once and returns
// the files it wrote by name, so builds never read a developer's real
// secrets.
func testSecrets(t testing.TB) map[string][]byte {
	t.Helper()
	secretOnce.Do(func() {
		dir, err := os.MkdirTemp("", "udaconnect-secrets-")
		if err != nil {
			secretErr = err
			return
		}
		defer os.RemoveAll(dir)
		out, err := exec.Command("bash", filepath.Join(repoRoot(t), "deploy", "secrets.sh"), dir).CombinedOutput()
		if err != nil {
			secretErr = errors.New("deploy/secrets.sh: " + err.Error() + ": " + string(out))
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			secretErr = err
			return
		}
		secretFiles = map[string][]byte{}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				secretErr = err
				return
			}
			secretFiles[e.Name()] = data
		}
	})
	if secretErr != nil {
		t.Fatal(secretErr)
	}
	return secretFiles
}

// memRepo copies the repository's YAML files and shell scripts (which
// ConfigMaps may carry) into an in-memory file system rooted at /repo, with
// throwaway deploy/.secrets/ files.
func memRepo(t testing.TB) filesys.FileSystem {
	t.Helper()
	root := repoRoot(t)
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" && ext != ".sh" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.Join("/repo", rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range testSecrets(t) {
		if err := mem.WriteFile(filepath.Join("/repo/deploy/.secrets", name), data); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// kustomizeBuild builds a kustomize root (relative to the repo) with the
// kustomize API, as skaffold's buildArgs do: load restrictor off.
func kustomizeBuild(t testing.TB, dir string) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(memRepo(t), filepath.Join("/repo", dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return out
}

var (
	builtMu sync.Mutex
	built   = map[string][]*manifest.Object{}
)

// builtObjects builds an overlay and decodes its output strictly.
func builtObjects(t testing.TB, dir string) []*manifest.Object {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if objs, ok := built[dir]; ok {
		return objs
	}
	objs, err := manifest.Parse("kustomize build "+dir, kustomizeBuild(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	built[dir] = objs
	return objs
}

var (
	schemaMu sync.Mutex
	schemas  = map[string]*openapi.Schema{}
)

// crdSchema returns the openAPIV3Schema that the CRD at path in a Go module
// gives group/version/kind (moduleDir).
func crdSchema(t testing.TB, module, version, path, group, apiVersion, kind string) *openapi.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	key := module + "@" + version + "/" + path
	if s, ok := schemas[key]; ok {
		return s
	}
	data, err := os.ReadFile(filepath.Join(moduleDir(t, module, version), path))
	if err != nil {
		t.Fatal(err)
	}
	s, err := openapi.FromCRD(data, group, apiVersion, kind)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	schemas[key] = s
	return s
}

// moduleDir returns the folder of a Go module version, fetched by go mod
// download (from the module cache, or the Go module proxy on a fresh
// machine).
func moduleDir(t testing.TB, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); jerr != nil || mod.Error != "" || err != nil {
		t.Fatal(errors.Join(errors.New("go mod download "+module+"@"+version), err, jerr, errors.New(mod.Error)))
	}
	return mod.Dir
}

// servingSchema returns the schema of serving.knative.dev/v1 Service from
// the knative.dev/serving module of the release the cluster runs.
func servingSchema(t testing.TB) *openapi.Schema {
	t.Helper()
	return crdSchema(t, KnativeServingModule, KnativeServingVersion,
		"config/core/300-resources/service.yaml", "serving.knative.dev", "v1", "Service")
}

// eventPolicySchema returns the schema of eventing.knative.dev/v1alpha1
// EventPolicy from the knative.dev/eventing module.
func eventPolicySchema(t testing.TB) *openapi.Schema {
	t.Helper()
	return crdSchema(t, KnativeEventingModule, KnativeEventingVersion,
		"config/core/resources/eventpolicy.yaml", "eventing.knative.dev", "v1alpha1", "EventPolicy")
}

// ofKind returns the objects of one group and kind.
func ofKind(objs []*manifest.Object, group, kind string) []*manifest.Object {
	var out []*manifest.Object
	for _, o := range objs {
		if o.GVK.Group == group && o.GVK.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// validateKind validates every object of kind gvk among objs against the
// schema s; objs must hold at least one.
func validateKind(t *testing.T, s *openapi.Schema, gvk schema.GroupVersionKind, objs []*manifest.Object) {
	t.Helper()
	n := 0
	for _, o := range objs {
		if o.GVK != gvk {
			continue
		}
		n++
		v, err := openapi.DecodeJSON(o.JSON)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range s.Validate(v) {
			t.Errorf("%s: %s: %v", o.Source, o.ID(), err)
		}
	}
	if n == 0 {
		t.Errorf("no %s", gvk.Kind)
	}
}

// refusesChanges checks that the schema s refuses the manifest doc with each
// change made (a string replaced by another): the check is not vacuous.
func refusesChanges(t *testing.T, s *openapi.Schema, doc string, changes map[string][2]string) {
	t.Helper()
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			changed := strings.Replace(doc, change[0], change[1], 1)
			if changed == doc {
				t.Fatalf("the manifest has no %q to change", change[0])
			}
			j, err := yaml.YAMLToJSONStrict([]byte(changed))
			if err != nil {
				t.Fatal(err)
			}
			v, err := openapi.DecodeJSON(j)
			if err != nil {
				t.Fatal(err)
			}
			if errs := s.Validate(v); len(errs) == 0 {
				t.Error("Validate() found nothing; want the change refused")
			}
		})
	}
}
