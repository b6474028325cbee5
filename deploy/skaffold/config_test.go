package skaffold

import (
	"strings"
	"testing"
)

const minimal = `apiVersion: skaffold/v4beta13
kind: Config
build:
  artifacts:
    - image: ko://example.com/app
      ko:
        fromImage: docker.io/library/alpine:3.20.3
`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if got := c.Build.Artifacts[0].Ko.FromImage; got != "docker.io/library/alpine:3.20.3" {
		t.Errorf("fromImage = %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": strings.Replace(minimal, "fromImage", "baseImage", 1),
		"old version":   strings.Replace(minimal, "v4beta13", "v2beta29", 1),
		"misplaced":     minimal + "portForwards: []\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc)); err == nil {
				t.Error("Parse() = nil error; want an error")
			}
		})
	}
}
