package binaries

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/deploy/skaffold"
)

// mains are the main packages of the processes: the module folder and the
// package inside it, relative to the repository. All but the local broker
// are images skaffold builds.
var mains = []struct{ module, pkg string }{
	{"functions/persons", "."},
	{"functions/locations", "."},
	{"functions/connections", "."},
	{"functions/deadletters", "."},
	{"frontend", "."},
	{"shared", "./cmd/migrate"},
	{"eventing", "./cmd/localbroker"},
}

var arches = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// MaxImageBinary bounds the binary of every image, in bytes: a function
// scaled to zero pulls and starts it on a request, so it stays small.
const MaxImageBinary = 20_000_000

// MaxLocalBroker bounds the local broker's binary, in bytes. It runs only
// under `make run` and embeds the NATS server, which alone takes 16.9 MB
// (linux/amd64, Go 1.26, nats-server v2.15.2); the bound keeps what it adds
// to it from growing unseen.
const MaxLocalBroker = 22_500_000

// Every image's main package builds as ko builds it for skaffold (from the
// repository root, so with the committed go.work; `go build -trimpath`
// with skaffold.yaml's environment, flags and ldflags; CGO_ENABLED=0), for
// linux/amd64 and linux/arm64, into a static binary within its size bound.
// The local broker is built the same way.
func TestBinaries(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ko := koSettings(t, root)
	for _, m := range mains {
		path := "github.com/udaconnect/udaconnect/" + filepath.ToSlash(filepath.Join(m.module, m.pkg))
		limit := int64(MaxImageBinary)
		s, image := ko["ko://"+path]
		switch {
		case m.pkg == "./cmd/localbroker":
			limit, s = MaxLocalBroker, ko["ko://github.com/udaconnect/udaconnect/functions/persons"]
		case !image:
			t.Errorf("skaffold.yaml builds no image of %s", path)
			continue
		}
		for arch, machine := range arches {
			t.Run(filepath.Join(m.module, m.pkg)+"/linux-"+arch, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(t.TempDir(), "bin")
				args := append([]string{"build", "-trimpath"}, s.Flags...)
				if len(s.Ldflags) > 0 {
					args = append(args, "-ldflags="+strings.Join(s.Ldflags, " "))
				}
				cmd := exec.Command("go", append(args, "-o", out, path)...)
				cmd.Dir = root
				cmd.Env = append(append(os.Environ(), "GOWORK=", "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch), s.Env...)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go %s for linux/%s: %v\n%s", strings.Join(args, " "), arch, err, msg)
				}
				checkStatic(t, out, machine)
				info, err := os.Stat(out)
				if err != nil {
					t.Fatal(err)
				}
				if info.Size() > limit {
					t.Errorf("%s for linux/%s is %d bytes; want at most %d (docs/bench.md, \"Footprint\")",
						path, arch, info.Size(), limit)
				}
				t.Logf("%s linux/%s: %d bytes", path, arch, info.Size())
			})
		}
	}
}

// Each main package also builds in its own module, without go.work: a
// function's go.mod is enough to build it.
func TestBuildsInItsModule(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		t.Run(filepath.Join(m.module, m.pkg), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "bin"), m.pkg)
			cmd.Dir = filepath.Join(root, m.module)
			cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build %s in %s without go.work: %v\n%s", m.pkg, m.module, err, msg)
			}
		})
	}
}

// koSettings returns skaffold.yaml's ko settings by image; every image is
// built with the same environment, flags and ldflags.
func koSettings(t *testing.T, root string) map[string]skaffold.Ko {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := skaffold.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]skaffold.Ko{}
	var first *skaffold.Ko
	for _, a := range cfg.Build.Artifacts {
		if a.Ko == nil {
			t.Fatalf("skaffold.yaml: %s is not built with ko", a.Image)
		}
		if first == nil {
			first = a.Ko
		} else if !slices.Equal(a.Ko.Env, first.Env) || !slices.Equal(a.Ko.Flags, first.Flags) || !slices.Equal(a.Ko.Ldflags, first.Ldflags) {
			t.Errorf("skaffold.yaml builds %s with other settings than the rest", a.Image)
		}
		out[a.Image] = *a.Ko
	}
	return out
}

// checkStatic fails unless the file is an ELF executable for the machine
// with no interpreter and no dynamic section, so it runs without libc.
func checkStatic(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("machine %v; want %v", f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
}
