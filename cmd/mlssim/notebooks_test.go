package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestNotebooks checks every notebook in notebooks/: each linked figure or
// file exists, and each mlssim command in a ```sh block parses: plot and
// table run with --dry-run (flags, formats and every input are checked),
// other commands with --help appended (flag names and types are checked),
// and their scenario file exists.
func TestNotebooks(t *testing.T) {
	t.Chdir("../..")
	nbs, _ := filepath.Glob("notebooks/*.md")
	if len(nbs) < 3 {
		t.Fatalf("want at least 3 notebooks, found %v", nbs)
	}
	for _, nb := range nbs {
		t.Run(filepath.Base(nb), func(t *testing.T) {
			data, err := os.ReadFile(nb)
			if err != nil {
				t.Fatal(err)
			}
			checkLinks(t, nb, string(data))
			if filepath.Base(nb) == "README.md" {
				return
			}
			if !strings.Contains(string(data), "![") {
				t.Error("no embedded figure")
			}
			if !regexp.MustCompile(`(?m)^\|[-:| ]+\|$`).MatchString(string(data)) {
				t.Error("no table")
			}
			cmds := nbCommands(string(data))
			if len(cmds) == 0 {
				t.Error("no mlssim command")
			}
			for _, args := range cmds {
				checkCommand(t, args)
			}
		})
	}
}

var linkRE = regexp.MustCompile(`\]\(([^)#\s]+)\)`)

func checkLinks(t *testing.T, nb, text string) {
	for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
		target := m[1]
		if strings.Contains(target, "://") {
			continue
		}
		p := filepath.Join(filepath.Dir(nb), target)
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("link %s: %s missing or empty (make results)", target, p)
		}
	}
}

// nbCommands returns the argument lists of the mlssim commands in the ```sh
// blocks (prefix "mlssim" or "go run ./cmd/mlssim"; "\" continues a line).
func nbCommands(text string) [][]string {
	var out [][]string
	in := false
	var cur string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			in = strings.HasPrefix(line, "```sh") && !in
			continue
		}
		if !in {
			continue
		}
		cur += strings.TrimSuffix(line, "\\")
		if strings.HasSuffix(line, "\\") {
			cur += " "
			continue
		}
		f := shellFields(cur)
		cur = ""
		switch {
		case len(f) >= 3 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/mlssim":
			out = append(out, f[3:])
		case len(f) >= 1 && f[0] == "mlssim":
			out = append(out, f[1:])
		}
	}
	return out
}

// shellFields splits like a shell for the simple quoting notebooks use.
func shellFields(s string) []string {
	var out []string
	var b strings.Builder
	quote := rune(0)
	has := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			quote, has = r, true
		case r == ' ' || r == '\t':
			if has || b.Len() > 0 {
				out = append(out, b.String())
			}
			b.Reset()
			has = false
		case r == '#' && b.Len() == 0 && !has:
			return out
		default:
			b.WriteRune(r)
		}
	}
	if has || b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func checkCommand(t *testing.T, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Error("empty mlssim command")
		return
	}
	name := args[0]
	if _, ok := commands[name]; !ok {
		t.Errorf("unknown command %q in %v", name, args)
		return
	}
	var try []string
	switch name {
	case "plot", "table":
		try = append(slices.Clone(args), "--dry-run")
	default:
		try = append(slices.Clone(args), "--help")
		if (name == "run" || name == "sweep") && len(args) > 1 {
			// The scenario is the first positional argument.
			for _, a := range args[1:] {
				if strings.HasSuffix(a, ".yaml") {
					if _, err := os.Stat(a); err != nil {
						t.Errorf("%v: scenario: %v", args, err)
					}
					break
				}
			}
		}
	}
	// run and sweep print their help to os.Stdout: silence it.
	devnull, _ := os.Open(os.DevNull)
	saved := os.Stdout
	os.Stdout = devnull
	code, _, errOut := capture(t, try...)
	os.Stdout = saved
	devnull.Close()
	if code != 0 {
		t.Errorf("mlssim %s: exit %d: %s", strings.Join(try, " "), code, errOut)
	}
}
