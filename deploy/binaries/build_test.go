package binaries

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mains are the main packages of the images: the module folder and the
// package inside it, relative to the repository.
var mains = []struct{ module, pkg string }{
	{"functions/persons", "."},
	{"functions/locations", "."},
	{"functions/connections", "."},
	{"functions/deadletters", "."},
	{"frontend", "."},
	{"shared", "./cmd/migrate"},
}

var arches = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func TestStaticBinaries(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		for arch, machine := range arches {
			name := filepath.Join(m.module, m.pkg) + "/linux-" + arch
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(t.TempDir(), "bin")
				cmd := exec.Command("go", "build", "-trimpath", "-o", out, m.pkg)
				cmd.Dir = filepath.Join(root, m.module)
				cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go build %s in %s for linux/%s: %v\n%s", m.pkg, m.module, arch, err, msg)
				}
				checkStatic(t, out, machine)
			})
		}
	}
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
