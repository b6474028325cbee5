// Package skaffold reads skaffold.yaml strictly: the parts of the
// skaffold/v4beta13 schema UdaConnect uses, as Go types with the schema's
// field names, so a misspelt or misplaced field is an error rather than a
// setting skaffold would reject or silently ignore.
package skaffold

import (
	"errors"
	"fmt"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// APIVersion is the schema version skaffold.yaml is written against.
const APIVersion = "skaffold/v4beta13"

// Config is a skaffold.yaml.
type Config struct {
	APIVersion  string        `json:"apiVersion"`
	Kind        string        `json:"kind"`
	Metadata    Metadata      `json:"metadata,omitempty"`
	Build       *Build        `json:"build,omitempty"`
	Manifests   *Manifests    `json:"manifests,omitempty"`
	Deploy      *Deploy       `json:"deploy,omitempty"`
	PortForward []PortForward `json:"portForward,omitempty"`
	Profiles    []Profile     `json:"profiles,omitempty"`
}

// Metadata names the config.
type Metadata struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Build is the build section.
type Build struct {
	Artifacts          []Artifact `json:"artifacts,omitempty"`
	InsecureRegistries []string   `json:"insecureRegistries,omitempty"`
	TagPolicy          *TagPolicy `json:"tagPolicy,omitempty"`
	Platforms          []string   `json:"platforms,omitempty"`
	Local              *Local     `json:"local,omitempty"`
}

// TagPolicy picks one tagger.
type TagPolicy struct {
	GitCommit   *GitTagger `json:"gitCommit,omitempty"`
	Sha256      *struct{}  `json:"sha256,omitempty"`
	InputDigest *struct{}  `json:"inputDigest,omitempty"`
}

// GitTagger tags with the git commit.
type GitTagger struct {
	Variant string `json:"variant,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
}

// Local builds on this machine.
type Local struct {
	Push             *bool `json:"push,omitempty"`
	TryImportMissing bool  `json:"tryImportMissing,omitempty"`
	UseDockerCLI     bool  `json:"useDockerCLI,omitempty"`
	UseBuildkit      *bool `json:"useBuildkit,omitempty"`
	Concurrency      *int  `json:"concurrency,omitempty"`
}

// Artifact is one image to build; UdaConnect builds every image with ko.
type Artifact struct {
	Image     string      `json:"image"`
	Context   string      `json:"context,omitempty"`
	Platforms []string    `json:"platforms,omitempty"`
	Hooks     *BuildHooks `json:"hooks,omitempty"`
	Ko        *Ko         `json:"ko,omitempty"`
}

// BuildHooks run on the host around an artifact's build.
type BuildHooks struct {
	Before []HostHook `json:"before,omitempty"`
	After  []HostHook `json:"after,omitempty"`
}

// Ko builds a Go main package into an image.
type Ko struct {
	FromImage    string            `json:"fromImage,omitempty"`
	Dependencies *KoDependencies   `json:"dependencies,omitempty"`
	Dir          string            `json:"dir,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Flags        []string          `json:"flags,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Ldflags      []string          `json:"ldflags,omitempty"`
	Main         string            `json:"main,omitempty"`
}

// KoDependencies are the files whose change rebuilds the artifact.
type KoDependencies struct {
	Paths  []string `json:"paths,omitempty"`
	Ignore []string `json:"ignore,omitempty"`
}

// Manifests is the render section.
type Manifests struct {
	RawYaml   []string     `json:"rawYaml,omitempty"`
	Kustomize *Kustomize   `json:"kustomize,omitempty"`
	Hooks     *RenderHooks `json:"hooks,omitempty"`
}

// Kustomize renders with kustomize.
type Kustomize struct {
	Paths     []string `json:"paths,omitempty"`
	BuildArgs []string `json:"buildArgs,omitempty"`
}

// RenderHooks run around rendering.
type RenderHooks struct {
	Before []RenderHook `json:"before,omitempty"`
	After  []RenderHook `json:"after,omitempty"`
}

// RenderHook runs on the host.
type RenderHook struct {
	Host *HostHook `json:"host,omitempty"`
}

// HostHook is a command on the host machine.
type HostHook struct {
	Command []string `json:"command"`
	OS      []string `json:"os,omitempty"`
	Dir     string   `json:"dir,omitempty"`
}

// Deploy is the deploy section.
type Deploy struct {
	Kubectl                    *Kubectl `json:"kubectl,omitempty"`
	StatusCheck                *bool    `json:"statusCheck,omitempty"`
	StatusCheckDeadlineSeconds int      `json:"statusCheckDeadlineSeconds,omitempty"`
	KubeContext                string   `json:"kubeContext,omitempty"`
}

// Kubectl deploys with kubectl apply.
type Kubectl struct {
	DefaultNamespace string        `json:"defaultNamespace,omitempty"`
	Flags            *KubectlFlags `json:"flags,omitempty"`
}

// KubectlFlags are extra kubectl arguments.
type KubectlFlags struct {
	Global            []string `json:"global,omitempty"`
	Apply             []string `json:"apply,omitempty"`
	Delete            []string `json:"delete,omitempty"`
	DisableValidation bool     `json:"disableValidation,omitempty"`
}

// PortForward forwards a local port to a cluster resource.
type PortForward struct {
	ResourceType string `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	Namespace    string `json:"namespace,omitempty"`
	Port         int    `json:"port"`
	Address      string `json:"address,omitempty"`
	LocalPort    int    `json:"localPort,omitempty"`
}

// Profile overrides parts of the config when active.
type Profile struct {
	Name        string        `json:"name"`
	Activation  []Activation  `json:"activation,omitempty"`
	Build       *Build        `json:"build,omitempty"`
	Manifests   *Manifests    `json:"manifests,omitempty"`
	Deploy      *Deploy       `json:"deploy,omitempty"`
	PortForward []PortForward `json:"portForward,omitempty"`
}

// Activation turns a profile on by itself.
type Activation struct {
	Env         string `json:"env,omitempty"`
	KubeContext string `json:"kubeContext,omitempty"`
	Command     string `json:"command,omitempty"`
}

// Parse decodes skaffold.yaml strictly and checks its version and kind.
func Parse(data []byte) (*Config, error) {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var c Config
	strict, err := sigsjson.UnmarshalStrict(j, &c, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, errors.Join(strict...)
	}
	if c.APIVersion != APIVersion || c.Kind != "Config" {
		return nil, fmt.Errorf("apiVersion %q kind %q, want %q Config", c.APIVersion, c.Kind, APIVersion)
	}
	return &c, nil
}

// Profile returns the named profile, or nil.
func (c *Config) Profile(name string) *Profile {
	for i := range c.Profiles {
		if c.Profiles[i].Name == name {
			return &c.Profiles[i]
		}
	}
	return nil
}
