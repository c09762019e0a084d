package sim

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionReadOnce: the build stamp is read once per process, so a
// commit made in the checkout while a run is going (the stamp is otherwise
// read from git under -buildvcs=false) does not become the run's commit.
func TestVersionReadOnce(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, st := range bi.Settings {
			if st.Key == "vcs.revision" {
				t.Skip("test binary has a VCS stamp: the checkout is not read")
			}
		}
	}
	// An isolated git: no caller's repository (GIT_DIR and friends), no
	// user or system configuration, no hooks.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t",
			"-c", "commit.gpgsign=false", "-c", "core.hooksPath=" + os.DevNull}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("1")
	git("add", "f")
	git("commit", "-qm", "one")
	t.Chdir(dir)
	// The first call of the process (here, or an earlier test's run in the
	// package directory) fixes the stamp.
	v1, c1, m1 := Version()
	if c1 == "" {
		t.Skip("no commit read from git (not a checkout, or git refused it)")
	}
	write("2")
	git("commit", "-qam", "two")
	two := git("rev-parse", "HEAD")
	if v2, c2, m2 := Version(); v2 != v1 || c2 != c1 || m2 != m1 {
		t.Fatalf("Version changed within the process: %q %q %v, then %q %q %v", v1, c1, m1, v2, c2, m2)
	}
	// A fresh read sees the new commit, so the check above is not vacuous.
	if _, c3, _ := readBuildVersion(); c3 != two || c3 == c1 {
		t.Fatalf("readBuildVersion = %q, want the new HEAD %q (stamp %q)", c3, two, c1)
	}
}
