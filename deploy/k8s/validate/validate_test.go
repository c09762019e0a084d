package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyManifests copies deploy/k8s (manifests and Dockerfile) into a temp
// repository layout, applying edit to file name, and returns its deploy/k8s.
func copyManifests(t *testing.T, name, old, new string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "deploy", "k8s")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "workloads"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "workloads", "collisions.yaml"), []byte("name: x\n"), 0o644)
	files, _ := filepath.Glob("../*.yaml")
	files = append(files, "../Dockerfile")
	edited := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if filepath.Base(f) == name {
			if !strings.Contains(s, old) {
				t.Fatalf("%s does not contain %q", name, old)
			}
			s = strings.Replace(s, old, new, 1)
			edited = true
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" && !edited {
		t.Fatalf("no file %s", name)
	}
	return dir
}

func TestManifestsValid(t *testing.T) {
	report, errs := validateDir("..")
	if len(errs) > 0 || len(report) != 3 {
		t.Fatalf("report %q, errors %v", report, errs)
	}
}

// TestValidatorRejects: each edit of a valid manifest is caught.
func TestValidatorRejects(t *testing.T) {
	for _, tc := range []struct{ name, file, old, new, want string }{
		{"unknown field", "sweep-job.yaml", "completionMode: Indexed", "completionMode: Indexed\n  completionsMode: Indexed", `unknown field "spec.completionsMode"`},
		{"misspelt nested field", "sweep-job.yaml", "mountPath: /results", "mountpath: /results", `unknown field "spec.template.spec.containers[0].volumeMounts[0].mountpath"`},
		{"wrong type", "pvc.yaml", "storage: 1Gi", "storage: [1Gi]", "PersistentVolumeClaim"},
		{"duplicate key", "merge-job.yaml", "backoffLimit: 0", "backoffLimit: 0\n  backoffLimit: 1", "already set"},
		{"not indexed", "sweep-job.yaml", "completionMode: Indexed", "completionMode: NonIndexed", "must be completionMode Indexed"},
		{"completions vs shards", "sweep-job.yaml", "completions: 15", "completions: 14", "want env/14"},
		{"parallelism", "sweep-job.yaml", "parallelism: 15", "parallelism: 16", "parallelism 16"},
		{"image", "merge-job.yaml", "image: mlslab/mlssim:dev", "image: mlslab/mlssim:latest", `the Dockerfile builds "mlslab/mlssim:dev"`},
		{"dockerfile tag", "Dockerfile", `io.mlslab.image="mlslab/mlssim:dev"`, `io.mlslab.image="mlslab/mlssim:v2"`, `image "mlslab/mlssim:dev", but the Dockerfile builds "mlslab/mlssim:v2"`},
		{"index from a literal", "sweep-job.yaml", "valueFrom:\n                fieldRef:\n                  fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']", `value: "0"`, "env JOB_COMPLETION_INDEX"},
		{"merge reads elsewhere", "merge-job.yaml", "args: [merge, /results/collisions-sampled]", "args: [merge, /results/other]", "but the merge reads"},
		{"out not on the volume", "sweep-job.yaml", "--out=/results/collisions-sampled", "--out=/tmp/x", "not on a mounted persistentVolumeClaim"},
		{"claim missing", "pvc.yaml", "name: mlssim-results", "name: results2", `claim "mlssim-results" is not among the manifests`},
		{"no memory limit", "sweep-job.yaml", "limits:\n              memory: 512Mi", "limits: {}", "limit memory"},
		{"scenario not in image", "sweep-job.yaml", "/workloads/collisions.yaml", "/workloads/nope.yaml", "scenario /workloads/nope.yaml"},
		{"cgo", "Dockerfile", "CGO_ENABLED=0 ", "", "CGO_ENABLED=0"},
		// Value checks the API server does on the fields the manifests use.
		{"completionMode enum", "merge-job.yaml", "backoffLimit: 0", "backoffLimit: 0\n  completionMode: Sequential", `spec.completionMode: Unsupported value: "Sequential"`},
		{"restartPolicy enum", "merge-job.yaml", "restartPolicy: Never", "restartPolicy: Always", `spec.template.spec.restartPolicy: Unsupported value: "Always"`},
		{"restartPolicy with backoffLimitPerIndex", "sweep-job.yaml", "restartPolicy: Never", "restartPolicy: OnFailure", "must be Never when backoffLimitPerIndex is set"},
		{"maxFailedIndexes > completions", "sweep-job.yaml", "maxFailedIndexes: 15", "maxFailedIndexes: 16", "spec.maxFailedIndexes: Invalid value: 16: must be less than or equal to completions"},
		{"negative backoffLimitPerIndex", "sweep-job.yaml", "backoffLimitPerIndex: 1", "backoffLimitPerIndex: -1", "spec.backoffLimitPerIndex: Invalid value: -1"},
		{"activeDeadlineSeconds", "sweep-job.yaml", "activeDeadlineSeconds: 600", "activeDeadlineSeconds: 0", "activeDeadlineSeconds: Invalid value: 0"},
		{"accessModes enum", "pvc.yaml", "- ReadWriteMany", "- ReadWriteMany\n    - ReadWriteAll", `spec.accessModes[1]: Unsupported value: "ReadWriteAll"`},
		{"limit below request", "sweep-job.yaml", "limits:\n              memory: 512Mi", "limits:\n              memory: 256Mi", "requests[memory]: Invalid value: \"512Mi\": must be less than or equal to memory limit of 256Mi"},
		{"zero cpu request", "merge-job.yaml", "cpu: 100m", "cpu: \"0\"", "requests[cpu]: Invalid value: \"0\": must be greater than zero"},
		{"negative storage", "pvc.yaml", "storage: 1Gi", "storage: -1Gi", "must be greater than zero"},
		{"label key", "sweep-job.yaml", "app.kubernetes.io/component: sweep", "app.kubernetes.io/com ponent: sweep", "metadata.labels: Invalid value: \"app.kubernetes.io/com ponent\""},
		{"template label value", "sweep-job.yaml", "    metadata:\n      labels:\n        app.kubernetes.io/name: mlssim", "    metadata:\n      labels:\n        app.kubernetes.io/name: mlssim!", "spec.template.metadata.labels: Invalid value: \"mlssim!\""},
		{"volume name", "sweep-job.yaml", "- name: results\n          persistentVolumeClaim", "- name: Results\n          persistentVolumeClaim", `spec.template.spec.volumes[0].name: Invalid value: "Results"`},
		{"namespace", "pvc.yaml", "name: mlssim-results", "name: mlssim-results\n  namespace: Lab_1", `metadata.namespace: Invalid value: "Lab_1"`},
		{"job name", "merge-job.yaml", "name: mlssim-merge", "name: mlssim_merge", `metadata.name: Invalid value: "mlssim_merge"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := validateDir(copyManifests(t, tc.file, tc.old, tc.new))
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Fatalf("want an error containing %q, got %q", tc.want, all)
			}
		})
	}
}
