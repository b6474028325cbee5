package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestVagrantfileSyntax(t *testing.T) {
	ruby := needTool(t, "ruby")
	cmd := exec.Command(ruby, "-c", "Vagrantfile")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ruby -c Vagrantfile: %v\n%s", err, out)
	}
}

// The Vagrantfile pins its box, gives the VM room for Knative and PostGIS,
// forwards the registry's port and provisions with deploy/provision.sh.
func TestVagrantfile(t *testing.T) {
	v := readRepoFile(t, "Vagrantfile")
	if !regexp.MustCompile(`(?m)^\s*config\.vm\.box_version = "\d+\.\d+\.\d+"`).MatchString(v) {
		t.Error("the box version is not pinned")
	}
	m := regexp.MustCompile(`UDACONNECT_VM_MEMORY", "(\d+)"`).FindStringSubmatch(v)
	if m == nil {
		t.Fatal("no default memory")
	}
	if mib, _ := strconv.Atoi(m[1]); mib < 8192 {
		t.Errorf("default memory %d MiB; want at least 8192 for K3s, Knative and PostGIS", mib)
	}
	if !strings.Contains(v, `path: "deploy/provision.sh"`) {
		t.Error("the Vagrantfile does not provision with deploy/provision.sh")
	}
	if !strings.Contains(v, `guest: 5001, host: 5001`) {
		t.Error("the registry's port 5001 is not forwarded to the host")
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "deploy", "provision.sh")); err != nil {
		t.Error(err)
	}
}

// scriptVar returns the value a shell script assigns to a variable.
func scriptVar(t *testing.T, script, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `="([^"$]+)"`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("provision.sh does not set %s to a literal", name)
	}
	return m[1]
}

// The provisioning pins K3s and Knative, installs the release whose Serving
// CRD schema the other checks use, disables Traefik, makes Kourier the
// ingress with the sslip.io domain, installs the in-memory channel and the
// MT channel-based broker, and trusts the registry skaffold pushes to.
func TestProvisioning(t *testing.T) {
	p := readRepoFile(t, "deploy/provision.sh")

	if v := scriptVar(t, p, "K3S_VERSION"); !regexp.MustCompile(`^v\d+\.\d+\.\d+\+k3s\d+$`).MatchString(v) {
		t.Errorf("K3S_VERSION %q is not a pinned K3s release", v)
	}
	release := scriptVar(t, p, "KNATIVE_VERSION")
	if release != KnativeRelease {
		t.Errorf("KNATIVE_VERSION %s; want %s, the release the Serving CRD schema comes from", release, KnativeRelease)
	}
	var major, minor, patch, modMinor, modPatch int
	if _, err := fmt.Sscanf(KnativeRelease, "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscanf(KnativeServingVersion, "v0.%d.%d", &modMinor, &modPatch); err != nil {
		t.Fatal(err)
	}
	if major != 1 || modMinor != minor+27 || modPatch != patch {
		t.Errorf("Knative %s is module v0.%d.%d, not %s", KnativeRelease, minor+27, patch, KnativeServingVersion)
	}
	if v := scriptVar(t, p, "KOURIER_VERSION"); !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("KOURIER_VERSION %q is not pinned", v)
	}
	if strings.Contains(p, "latest") {
		t.Error("provision.sh mentions latest; every download must be pinned")
	}
	for _, url := range regexp.MustCompile(`https://(github\.com|raw\.githubusercontent\.com)/[^"\s]+`).FindAllString(p, -1) {
		if !strings.Contains(url, "_VERSION") {
			t.Errorf("URL %s does not carry a pinned version", url)
		}
	}
	for _, want := range []string{
		"- traefik",
		"kourier.ingress.networking.knative.dev",
		"serving-default-domain.yaml",
		"in-memory-channel.yaml",
		"mt-channel-broker.yaml",
		"eventing-core.yaml",
		"serving-core.yaml",
		"registries.yaml",
		"registries-skipping-tag-resolving",
		"deploy/.secrets/kubeconfig",
		"deploy/secrets.sh",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("provision.sh does not mention %q", want)
		}
	}

	registry := scriptVar(t, p, "REGISTRY")
	var mirrors struct {
		Mirrors map[string]struct {
			Endpoint []string `json:"endpoint"`
		} `json:"mirrors"`
	}
	j, err := yaml.YAMLToJSONStrict([]byte(readRepoFile(t, "deploy/vm/registries.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if strict, err := sigsjson.UnmarshalStrict(j, &mirrors, sigsjson.DisallowUnknownFields); err != nil || len(strict) > 0 {
		t.Fatalf("deploy/vm/registries.yaml: %v %v", err, strict)
	}
	if m, ok := mirrors.Mirrors[registry]; !ok || len(m.Endpoint) == 0 {
		t.Errorf("registries.yaml has no mirror for %s", registry)
	}
	if !strings.Contains(readRepoFile(t, "deploy/vm/registry.yaml"), "0.0.0.0:5001") {
		t.Error("the registry does not listen on port 5001")
	}
	cfg := readSkaffold(t)
	if !strings.Contains(cfg.Build.InsecureRegistries[0], registry) {
		t.Errorf("skaffold's insecure registry %v is not the VM's %s", cfg.Build.InsecureRegistries, registry)
	}
}

// Every shell script of the repository passes shellcheck.
func TestShellcheck(t *testing.T) {
	git := needTool(t, "git")
	shellcheck := needTool(t, "shellcheck")
	cmd := exec.Command(git, "ls-files", "*.sh")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	scripts := strings.Fields(string(out))
	if len(scripts) == 0 {
		t.Fatal("git ls-files finds no shell script")
	}
	for _, s := range scripts {
		t.Run(s, func(t *testing.T) {
			cmd := exec.Command(shellcheck, "--external-sources", s)
			cmd.Dir = repoRoot(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s, err, out)
			}
		})
	}
}

// deploy/secrets.sh writes every key the manifests read, with a random
// password that differs between runs, and keeps an existing file.
func TestSecretsScript(t *testing.T) {
	run := func(dir string) string {
		t.Helper()
		if out, err := exec.Command("bash", filepath.Join(repoRoot(t), "deploy", "secrets.sh"), dir).CombinedOutput(); err != nil {
			t.Fatalf("secrets.sh: %v\n%s", err, out)
		}
		data, err := os.ReadFile(filepath.Join(dir, "postgres.env"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	a, b := t.TempDir(), t.TempDir()
	first := run(a)
	if again := run(a); again != first {
		t.Error("a second run changed an existing file")
	}
	if other := run(b); other == first {
		t.Error("two fresh runs wrote the same password")
	}
	info, err := os.Stat(filepath.Join(a, "postgres.env"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("postgres.env mode %v; want it private to its owner", info.Mode().Perm())
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(first), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	for _, k := range []string{"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "DATABASE_URL"} {
		if env[k] == "" {
			t.Errorf("%s is missing", k)
		}
	}
	if !strings.Contains(env["DATABASE_URL"], env["POSTGRES_PASSWORD"]) || !strings.Contains(env["DATABASE_URL"], "postgis.udaconnect.svc.cluster.local") {
		t.Errorf("DATABASE_URL %q does not use the password and the PostGIS Service", env["DATABASE_URL"])
	}
}
