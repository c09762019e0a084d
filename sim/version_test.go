package sim

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestVersionReadOnce: the build stamp is read once per process, so a
// commit made in the checkout while a run is going (the stamp is otherwise
// read from git under -buildvcs=false) does not become the run's commit.
func TestVersionReadOnce(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1")
	git("add", "f")
	git("commit", "-qm", "one")
	t.Chdir(dir)
	v1, c1, m1 := Version()
	write("2")
	git("commit", "-qam", "two")
	if v2, c2, m2 := Version(); v2 != v1 || c2 != c1 || m2 != m1 {
		t.Fatalf("Version changed within the process: %q %q %v, then %q %q %v", v1, c1, m1, v2, c2, m2)
	}
	// What a fresh read would say: a different commit, so the check above
	// is not vacuous when Version's first call was the one in this test.
	if _, c3, _ := readBuildVersion(); c3 == c1 && c1 != "" {
		t.Fatalf("readBuildVersion did not see the new commit")
	}
}
