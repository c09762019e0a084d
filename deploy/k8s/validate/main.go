// Command validate checks the Kubernetes manifests of deploy/k8s offline,
// with no cluster: every YAML document is decoded strictly (an unknown or
// misspelt field, a duplicate key or a wrong type is an error) into the
// Kubernetes API type its apiVersion and kind name (k8s.io/api), and then
// checked for what the sharded sweep needs:
//
//   - the sweep Job is Indexed, completions = N of its --shard env/N,
//     parallelism <= completions, restartPolicy Never, and it takes the shard
//     index from JOB_COMPLETION_INDEX (set by Kubernetes, or from the
//     batch.kubernetes.io/job-completion-index annotation, nothing else);
//   - every image is the tag the Dockerfile's io.mlslab.image label names;
//   - every volume is a PersistentVolumeClaim defined among the manifests,
//     mounted by the containers, and the sweep's --out and the merge Job's
//     DIR are the same path on it;
//   - the scenario file the sweep runs is in the image (workloads/);
//   - names are DNS-1123, containers request CPU and memory and limit memory.
//
// It is its own Go module so that the mlslab module does not depend on the
// Kubernetes API packages. Usage (make k8s-validate):
//
//	go run . DIR   # DIR = deploy/k8s
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: validate DIR (the directory of the manifests and the Dockerfile)")
		os.Exit(2)
	}
	report, errs := validateDir(os.Args[1])
	for _, l := range report {
		fmt.Println(l)
	}
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, "error:", e)
	}
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "%d error(s)\n", len(errs))
		os.Exit(1)
	}
}
