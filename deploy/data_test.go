package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// skaffold deletes every object it applied when `skaffold dev` stops. A
// Namespace among them would take the database's volume claim with it, so no
// overlay holds one: the provisioning creates it.
func TestNoNamespaceInBuild(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			for _, o := range builtObjects(t, dir) {
				if o.GVK.Group == "" && o.GVK.Kind == "Namespace" {
					t.Errorf("%s: the build holds a Namespace; skaffold would delete it on Ctrl-C", o.ID())
				}
			}
		})
	}
	ns := mustParse(t, "deploy/vm/namespace.yaml")
	if len(ns) != 1 || ns[0].GVK.Kind != "Namespace" || ns[0].Name != Namespace {
		t.Fatalf("deploy/vm/namespace.yaml: want the Namespace %s alone", Namespace)
	}
	if !strings.Contains(readRepoFile(t, "deploy/provision.sh"), `kubectl apply -f "${REPO}/deploy/vm/namespace.yaml"`) {
		t.Error("provision.sh does not create the namespace from deploy/vm/namespace.yaml")
	}
}

// The data outlives what skaffold deletes: PostGIS keeps its volume claim
// when the StatefulSet is deleted or scaled down.
func TestPostgisKeepsItsVolume(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			ss := postgis(t, dir)
			p := ss.Spec.PersistentVolumeClaimRetentionPolicy
			if p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
				t.Errorf("persistentVolumeClaimRetentionPolicy %+v; want Retain when deleted and when scaled", p)
			}
			if len(ss.Spec.VolumeClaimTemplates) != 1 {
				t.Fatalf("%d volume claim templates; want 1", len(ss.Spec.VolumeClaimTemplates))
			}
			claim := ss.Spec.VolumeClaimTemplates[0].Name
			ctr := ss.Spec.Template.Spec.Containers[0]
			mounted := slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == claim })
			if !mounted {
				t.Errorf("the claim %s is not mounted", claim)
			}
			pgdata := ""
			for _, e := range ctr.Env {
				if e.Name == "PGDATA" {
					pgdata = e.Value
				}
			}
			inClaim := slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == claim && strings.HasPrefix(pgdata, m.MountPath+"/")
			})
			if !inClaim {
				t.Errorf("PGDATA %q is not a folder inside the claim's mount", pgdata)
			}
		})
	}
}

// A first start on a small VM creates the cluster before the server listens
// on TCP; the startup probe must give it minutes, not seconds, before the
// liveness probe may restart the container halfway, and skaffold must wait
// longer still.
func TestPostgisStartupProbe(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			ctr := postgis(t, dir).Spec.Template.Spec.Containers[0]
			budget := postgisStartBudget(t, dir)
			if budget < 600 {
				t.Errorf("the startup probe allows %d s; want at least 600", budget)
			}
			if d := readSkaffold(t).Deploy.StatusCheckDeadlineSeconds; d <= int(budget) {
				t.Errorf("skaffold's status check gives up after %d s, before PostGIS's startup probe (%d s)", d, budget)
			}
			if ctr.LivenessProbe == nil {
				t.Error("no livenessProbe")
			}
		})
	}
}

// The Jobs that run the migrator wait for PostGIS as long as it takes (no
// deadline, which would count the image pull and the wait) and retry a
// failed run.
func TestMigratorWaits(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			n := 0
			for _, o := range ofKind(builtObjects(t, dir), "batch", "Job") {
				job := o.Value.(*batchv1.Job)
				n++
				if job.Spec.ActiveDeadlineSeconds != nil {
					t.Errorf("Job %s: activeDeadlineSeconds %d; the wait for PostGIS must not have a deadline", job.Name, *job.Spec.ActiveDeadlineSeconds)
				}
				if b := job.Spec.BackoffLimit; b == nil || *b < 3 {
					t.Errorf("Job %s: backoffLimit %v; want failed runs retried (3 or more)", job.Name, b)
				}
				waits := slices.ContainsFunc(job.Spec.Template.Spec.InitContainers, func(c corev1.Container) bool {
					return strings.Contains(strings.Join(c.Command, " "), "until pg_isready")
				})
				if !waits {
					t.Errorf("Job %s: no init container waits for PostGIS", job.Name)
				}
			}
			if n == 0 {
				t.Error("no Job")
			}
		})
	}
}

// postgisStartBudget returns how long, in seconds, PostGIS's startup probe
// lets a first start take before the liveness probe may restart it.
func postgisStartBudget(t *testing.T, dir string) int32 {
	t.Helper()
	s := postgis(t, dir).Spec.Template.Spec.Containers[0].StartupProbe
	if s == nil {
		t.Fatal("no startupProbe: the liveness probe can kill the first initialisation")
	}
	period := max(s.PeriodSeconds, 10) // the API's default is 10
	return s.InitialDelaySeconds + period*max(s.FailureThreshold, 3)
}

// postgis returns the PostGIS StatefulSet of a build.
func postgis(t *testing.T, dir string) *appsv1.StatefulSet {
	t.Helper()
	for _, o := range ofKind(builtObjects(t, dir), "apps", "StatefulSet") {
		if o.Name == "postgis" {
			return o.Value.(*appsv1.StatefulSet)
		}
	}
	t.Fatal("no StatefulSet postgis")
	return nil
}

// The PostGIS container's init script (db/k8s/postgis-init.sh) run for real
// on this machine's PostgreSQL: the first start creates the owner with its
// password and the database, a start after a first one killed halfway begins
// again, and a later start keeps the data.
func TestPostgisInit(t *testing.T) {
	bin := postgresBin(t)
	// Not t.TempDir: its parent is closed to other users.
	dir, err := os.MkdirTemp("", "udaconnect-postgis-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// initdb refuses to run as root: as root, run the server as nobody.
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PGDATA="+filepath.Join(dir, "pgdata"),
		"POSTGRES_USER=owner", "POSTGRES_PASSWORD=s3cret", "POSTGRES_DB=appdb",
	)
	// A start killed halfway leaves a scratch cluster behind.
	if err := os.MkdirAll(filepath.Join(dir, "pgdata.init"), 0o700); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "sock")
	if err := os.Mkdir(socket, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		for _, p := range []string{dir, socket, filepath.Join(dir, "pgdata.init")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := func() *exec.Cmd {
		cmd := exec.Command("sh", filepath.Join(repoRoot(t), "db/k8s/postgis-init.sh"),
			"-c", "listen_addresses=", "-c", "unix_socket_directories="+socket)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(log.String())
			}
		})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	psql := func(sql string) string {
		t.Helper()
		var out []byte
		var err error
		for range 100 { // until the server answers, or the script has exited
			cmd := exec.Command(filepath.Join(bin, "psql"), "-h", socket, "-U", "owner", "-d", "appdb", "-Atc", sql)
			cmd.Env = env
			if out, err = cmd.CombinedOutput(); err == nil {
				return strings.TrimSpace(string(out))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("psql: %v: %s", err, out)
		return ""
	}
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}

	first := start()
	if got := psql("SELECT current_user || ' ' || current_database()"); got != "owner appdb" {
		t.Errorf("connected as %q; want owner on appdb", got)
	}
	psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	stop(first)
	if _, err := os.Stat(filepath.Join(dir, "pgdata.init")); !os.IsNotExist(err) {
		t.Errorf("the scratch cluster is still there: %v", err)
	}
	hba, err := os.ReadFile(filepath.Join(dir, "pgdata", "pg_hba.conf"))
	if err != nil || !strings.Contains(string(hba), "host all all all scram-sha-256") {
		t.Errorf("pg_hba.conf does not check passwords from every address: %v", err)
	}

	again := start()
	defer stop(again)
	if got := psql("SELECT v FROM kept"); got != "42" {
		t.Errorf("after a restart the data reads %q; want 42", got)
	}
}

// postgresBin returns the folder of this machine's PostgreSQL server
// programs (Debian's layout), or skips the test (fails in CI).
func postgresBin(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	needTool(t, "initdb")
	return filepath.Dir(needTool(t, "initdb"))
}
