package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
// MT channel-based broker, turns on sender identity with EventPolicies
// denying by default over strict transport encryption (with cert-manager),
// and trusts the registry skaffold pushes to.
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
	if v := scriptVar(t, p, "CERT_MANAGER_VERSION"); !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("CERT_MANAGER_VERSION %q is not pinned", v)
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
		"eventing-tls-networking.yaml",
		`"authentication-oidc":"enabled"`,
		`"default-authorization-mode":"deny-all"`,
		`"transport-encryption":"strict"`,
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

// fakeKubectl is a kubectl for provision.sh's node wait: `get nodes`
// succeeds with no node for the first calls, as K3s's API does before its node
// registers, and `wait --all` fails when there is nothing to wait for, as
// kubectl does.
const fakeKubectl = `#!/bin/sh
calls=$(cat "$STATE" 2>/dev/null || echo 0)
case "$*" in
  "get nodes"*)
    calls=$((calls + 1)); echo "$calls" >"$STATE"
    if [ "$calls" -gt 2 ]; then echo node/vm; else echo "No resources found" >&2; fi ;;
  "wait --for=condition=Ready node --all"*)
    if [ "$calls" -le 2 ]; then echo "error: no matching resources found" >&2; exit 1; fi
    echo "node/vm condition met" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac
`

// Provisioning waits for a registered, Ready node: an empty node list is not
// ready, and the wait does not fail before the node has registered.
func TestProvisionWaitsForNode(t *testing.T) {
	script := filepath.Join(repoRoot(t), "deploy", "provision.sh")
	if !strings.Contains(readRepoFile(t, "deploy/provision.sh"), `if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then`) {
		t.Fatal("provision.sh runs main when sourced; it must only define its functions then")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(fakeKubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `source "$1" && wait_for_node`, "provision", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STATE="+filepath.Join(dir, "calls"), "RETRY_DELAY=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wait_for_node: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "node/vm condition met") {
		t.Errorf("wait_for_node returned before the node was Ready:\n%s", out)
	}
}

// vagrantStub evaluates the Vagrantfile with a stand-in for Vagrant that
// reports the host architecture HOST_ARCH and prints what the Vagrantfile
// sets: the box, its version and architecture, and each provider it
// configures.
const vagrantStub = `
module Vagrant
  def self.require_version(*); end
  module Util
    class Platform
      def self.architecture = ENV.fetch("HOST_ARCH")
    end
  end
  class Recorder
    def initialize(prefix) = @prefix = prefix
    def method_missing(name, *args, **kw, &block)
      if name.to_s.end_with?("=")
        puts "#{@prefix}#{name.to_s.chomp("=")}=#{args.first}"
      elsif name == :provider
        puts "provider=#{args.first}"
        block&.call(Recorder.new("#{args.first}."))
      elsif name == :vm
        return Recorder.new("vm.")
      end
      self
    end
    def respond_to_missing?(*) = true
  end
  def self.configure(_version) = yield(Recorder.new(""))
end
load ARGV.fetch(0)
`

// vagrantSettings runs the Vagrantfile as a host of architecture arch.
func vagrantSettings(t *testing.T, ruby, arch string) (settings map[string]string, providers []string) {
	t.Helper()
	cmd := exec.Command(ruby, "-e", vagrantStub, filepath.Join(repoRoot(t), "Vagrantfile"))
	cmd.Env = append(os.Environ(), "HOST_ARCH="+arch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Vagrantfile on an %s host: %v\n%s", arch, err, out)
	}
	settings = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		if k == "provider" {
			providers = append(providers, v)
		}
		settings[k] = v
	}
	return settings, providers
}

// The VM boots on Apple silicon: the Vagrantfile picks the box's arm64 build
// on an arm64 host and its amd64 build elsewhere, and the pinned box version
// has both builds for every provider the Vagrantfile configures.
func TestVagrantBoxForHostArch(t *testing.T) {
	ruby := needTool(t, "ruby")
	for host, want := range map[string]string{"arm64": "arm64", "amd64": "amd64"} {
		s, providers := vagrantSettings(t, ruby, host)
		if got := s["vm.box_architecture"]; got != want {
			t.Errorf("on an %s host the box architecture is %q; want %q", host, got, want)
		}
		builds, ok := BentoBuilds[s["vm.box_version"]]
		if s["vm.box"] != "bento/ubuntu-24.04" || !ok {
			t.Fatalf("box %s %s: no known builds (BentoBuilds)", s["vm.box"], s["vm.box_version"])
		}
		if len(providers) == 0 {
			t.Fatal("the Vagrantfile configures no provider")
		}
		for _, p := range providers {
			if !slices.Contains(builds[p], want) {
				t.Errorf("box %s has no %s build for %s", s["vm.box_version"], want, p)
			}
		}
	}
}

// The pinned cert-manager supports the Kubernetes that K3s runs.
func TestCertManagerSupportsKubernetes(t *testing.T) {
	p := readRepoFile(t, "deploy/provision.sh")
	if v := scriptVar(t, p, "CERT_MANAGER_VERSION"); v != CertManagerVersion {
		t.Errorf("provision.sh installs cert-manager %s; the checks use %s", v, CertManagerVersion)
	}
	var major, minor, k8sMinor int
	if _, err := fmt.Sscanf(CertManagerVersion, "v%d.%d.", &major, &minor); err != nil {
		t.Fatal(err)
	}
	k3s := scriptVar(t, p, "K3S_VERSION")
	if _, err := fmt.Sscanf(k3s, "v1.%d.", &k8sMinor); err != nil {
		t.Fatal(err)
	}
	r, ok := CertManagerKubernetes[fmt.Sprintf("%d.%d", major, minor)]
	if !ok {
		t.Fatalf("cert-manager %s is not a supported release (CertManagerKubernetes)", CertManagerVersion)
	}
	if k8sMinor < r[0] || k8sMinor > r[1] {
		t.Errorf("cert-manager %s supports Kubernetes 1.%d to 1.%d, not K3s %s", CertManagerVersion, r[0], r[1], k3s)
	}
}
