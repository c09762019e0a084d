package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/mlslab/mlslab/mls/conformance"
)

func init() {
	register(command{
		name:    "conformance",
		summary: "run IETF MLS test-vector files and report pass/fail per file",
		run:     conformanceMain,
	})
}

func conformanceMain(args []string) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print results as a JSON array instead of a table")
	kind := fs.String("kind", "", "vector kind for every file (default: from each file name); one of "+strings.Join(conformance.KnownKinds(), ", "))
	verbose := fs.Bool("v", false, "list every failed case")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: mlssim conformance [--json] [--kind KIND] [-v] PATH...")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Runs IETF MLS test-vector files: each PATH is a file or a directory (every *.json in it).")
		fmt.Fprintln(w, "The kind is taken from the file name (passive-client-*.json are kind passive-client);")
		fmt.Fprintln(w, "--kind overrides it. Exits 1 if any case failed or a file could not be run.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "example:")
		fmt.Fprintln(w, "  mlssim conformance ../shared/test-vectors")
		fmt.Fprintln(w, "  mlssim conformance --kind passive-client --json my-passive-vectors.json")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "mlssim conformance: need at least one PATH (file or directory of *.json)")
		fs.Usage()
		return 2
	}
	if *kind != "" && !contains(conformance.KnownKinds(), *kind) {
		fmt.Fprintf(stderr, "mlssim conformance: --kind %q: unknown kind; known: %s\n", *kind, strings.Join(conformance.KnownKinds(), ", "))
		return 2
	}
	files, err := conformance.Expand(paths)
	if err != nil {
		fmt.Fprintln(stderr, "mlssim conformance:", err)
		return 1
	}
	results := make([]conformance.FileResult, 0, len(files))
	status := 0
	for _, f := range files {
		r := conformance.RunFile(f, *kind)
		if !r.OK() {
			status = 1
		}
		results = append(results, r)
	}
	if *asJSON {
		writeConformanceJSON(stdout, results)
	} else {
		writeConformanceTable(stdout, results, *verbose)
	}
	return status
}

func writeConformanceJSON(w io.Writer, results []conformance.FileResult) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if results == nil {
		results = []conformance.FileResult{}
	}
	_ = enc.Encode(results)
}

func writeConformanceTable(w io.Writer, results []conformance.FileResult, verbose bool) {
	t := tablewriter.NewWriter(w)
	t.Header("file", "kind", "cases", "passed", "failed", "skipped", "reason")
	var tot [4]int
	for _, r := range results {
		reason := r.Reason
		if len(reason) > 90 {
			reason = reason[:87] + "..."
		}
		_ = t.Append(baseName(r.File), r.Kind, strconv.Itoa(r.Cases), strconv.Itoa(r.Passed),
			strconv.Itoa(r.Failed), strconv.Itoa(r.Skipped), reason)
		tot[0] += r.Cases
		tot[1] += r.Passed
		tot[2] += r.Failed
		tot[3] += r.Skipped
	}
	_ = t.Append("TOTAL", "", strconv.Itoa(tot[0]), strconv.Itoa(tot[1]), strconv.Itoa(tot[2]), strconv.Itoa(tot[3]), "")
	_ = t.Render()
	if verbose {
		for _, r := range results {
			for _, f := range r.Failures {
				fmt.Fprintf(w, "FAIL %s: %s\n", baseName(r.File), f)
			}
		}
	}
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
