package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// strictDecode decodes a YAML document into v the way the API server's
// strict field validation does: YAML to JSON rejecting duplicate keys, then
// case-sensitive JSON decoding that reports every unknown or duplicate field
// by its path (sigs.k8s.io/json; encoding/json would match "mountpath" to
// mountPath).
func strictDecode(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		var msgs []string
		for _, e := range strict {
			msgs = append(msgs, e.Error())
		}
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// completionIndexAnnotation is the pod annotation Kubernetes sets to the
// completion index of an Indexed Job's pod.
const completionIndexAnnotation = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

// manifests is every object found in a directory, by kind.
type manifests struct {
	jobs []*batchv1.Job
	pvcs []*corev1.PersistentVolumeClaim
	file map[metav1.Object]string // object -> "file#doc"
}

// decodeStrict decodes one YAML document into the API type of its
// apiVersion/kind, rejecting unknown fields and duplicate keys.
func decodeStrict(doc []byte, m *manifests, where string) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "batch/v1 Job":
		var j batchv1.Job
		if err := strictDecode(doc, &j); err != nil {
			return fmt.Errorf("%s: Job: %v", where, err)
		}
		m.jobs = append(m.jobs, &j)
		m.file[&j] = where
	case "v1 PersistentVolumeClaim":
		var p corev1.PersistentVolumeClaim
		if err := strictDecode(doc, &p); err != nil {
			return fmt.Errorf("%s: PersistentVolumeClaim: %v", where, err)
		}
		m.pvcs = append(m.pvcs, &p)
		m.file[&p] = where
	case " ":
		return fmt.Errorf("%s: no apiVersion and kind", where)
	default:
		return fmt.Errorf("%s: unexpected %s %s (this validator knows batch/v1 Job and v1 PersistentVolumeClaim)", where, tm.APIVersion, tm.Kind)
	}
	return nil
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// dockerImage reads the io.mlslab.image label of dir/Dockerfile.
var imageLabel = regexp.MustCompile(`io\.mlslab\.image="([^"]+)"`)

var staticBuild = regexp.MustCompile(`(?m)^RUN .*CGO_ENABLED=0 go build .*\./cmd/mlssim`)

func dockerImage(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		return "", err
	}
	m := imageLabel.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no LABEL io.mlslab.image=\"...\"", filepath.Join(dir, "Dockerfile"))
	}
	if !staticBuild.Match(b) {
		return "", fmt.Errorf("%s: mlssim must build mlssim static (RUN ... CGO_ENABLED=0 go build ... ./cmd/mlssim) for a distroless/scratch base", filepath.Join(dir, "Dockerfile"))
	}
	return string(m[1]), nil
}

// validateDir decodes and checks every *.yaml of dir.
func validateDir(dir string) (report []string, errs []error) {
	image, err := dockerImage(dir)
	if err != nil {
		return nil, []error{err}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		return nil, []error{fmt.Errorf("%s: no *.yaml manifests", dir)}
	}
	m := &manifests{file: map[metav1.Object]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i, doc := range docSep.Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			if err := decodeStrict([]byte(doc), m, fmt.Sprintf("%s#%d", filepath.Base(f), i)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	errs = append(errs, check(m, image, dir)...)
	for _, p := range m.pvcs {
		report = append(report, fmt.Sprintf("ok  %-20s PersistentVolumeClaim %s (%v)", m.file[p], p.Name, p.Spec.AccessModes))
	}
	for _, j := range m.jobs {
		mode := "NonIndexed"
		if j.Spec.CompletionMode != nil {
			mode = string(*j.Spec.CompletionMode)
		}
		report = append(report, fmt.Sprintf("ok  %-20s Job %s (%s, completions %d)", m.file[j], j.Name, mode, deref(j.Spec.Completions, 1)))
	}
	return report, errs
}

func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// flagValue returns the value of --name (as --name=v or --name v) in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
		}
	}
	return "", false
}

// validateMeta applies the API server's object metadata rules
// (k8s.io/apimachinery/pkg/api/validation: name a DNS-1123 subdomain,
// namespace a DNS-1123 label, label keys qualified names and values valid
// label values, annotations). A manifest without a namespace gets kubectl's
// (default) and is checked with it.
func validateMeta(obj metav1.Object) field.ErrorList {
	meta := &metav1.ObjectMeta{
		Name: obj.GetName(), GenerateName: obj.GetGenerateName(), Namespace: obj.GetNamespace(),
		Labels: obj.GetLabels(), Annotations: obj.GetAnnotations(),
	}
	if meta.Namespace == "" {
		meta.Namespace = metav1.NamespaceDefault
	}
	return apivalidation.ValidateObjectMeta(meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// validateResources applies the API server's value rules for a container's
// resources: every quantity positive (a zero or negative request or limit
// is a mistake here) and each limit at least its request.
func validateResources(r corev1.ResourceRequirements, fld *field.Path) (errs field.ErrorList) {
	for _, l := range []struct {
		list corev1.ResourceList
		name string
	}{{r.Requests, "requests"}, {r.Limits, "limits"}} {
		for name, q := range l.list {
			if q.Sign() <= 0 {
				errs = append(errs, field.Invalid(fld.Child(l.name).Key(string(name)), q.String(), "must be greater than zero"))
			}
		}
	}
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(fld.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	return errs
}

// validateJobValues applies the API server's value rules (those of
// k8s.io/kubernetes' batch and core validation, which this module does not
// import) to the Job fields the manifests use: enums, non-negative counts,
// the backoffLimitPerIndex rules, template labels and volume names.
func validateJobValues(j *batchv1.Job) (errs field.ErrorList) {
	spec := field.NewPath("spec")
	nonNeg := func(p *int32, f *field.Path) {
		if p != nil && *p < 0 {
			errs = append(errs, field.Invalid(f, *p, "must be greater than or equal to 0"))
		}
	}
	nonNeg(j.Spec.Completions, spec.Child("completions"))
	nonNeg(j.Spec.Parallelism, spec.Child("parallelism"))
	nonNeg(j.Spec.BackoffLimit, spec.Child("backoffLimit"))
	nonNeg(j.Spec.BackoffLimitPerIndex, spec.Child("backoffLimitPerIndex"))
	nonNeg(j.Spec.MaxFailedIndexes, spec.Child("maxFailedIndexes"))
	if d := j.Spec.ActiveDeadlineSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(spec.Child("activeDeadlineSeconds"), *d, "must be greater than 0"))
	}
	indexed := false
	if cm := j.Spec.CompletionMode; cm != nil {
		switch *cm {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			indexed = true
		default:
			errs = append(errs, field.NotSupported(spec.Child("completionMode"), *cm,
				[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	ps := &j.Spec.Template.Spec
	tspec := spec.Child("template", "spec")
	switch ps.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
	default:
		// Always is a valid pod restartPolicy, but not in a Job.
		errs = append(errs, field.NotSupported(tspec.Child("restartPolicy"), ps.RestartPolicy,
			[]corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if j.Spec.BackoffLimitPerIndex != nil {
		if !indexed {
			errs = append(errs, field.Invalid(spec.Child("backoffLimitPerIndex"), *j.Spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if ps.RestartPolicy != corev1.RestartPolicyNever {
			errs = append(errs, field.Invalid(tspec.Child("restartPolicy"), ps.RestartPolicy, "must be Never when backoffLimitPerIndex is set"))
		}
	}
	if mf := j.Spec.MaxFailedIndexes; mf != nil {
		if j.Spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(spec.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
		if j.Spec.Completions == nil {
			errs = append(errs, field.Required(spec.Child("completions"), "when maxFailedIndexes is specified"))
		} else if *mf > *j.Spec.Completions {
			errs = append(errs, field.Invalid(spec.Child("maxFailedIndexes"), *mf, "must be less than or equal to completions"))
		}
	}
	if d := ps.ActiveDeadlineSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(tspec.Child("activeDeadlineSeconds"), *d, "must be greater than 0"))
	}
	errs = append(errs, metav1validation.ValidateLabels(j.Spec.Template.Labels, spec.Child("template", "metadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(j.Spec.Template.Annotations, spec.Child("template", "metadata", "annotations"))...)
	seen := map[string]bool{}
	for i, v := range ps.Volumes {
		f := tspec.Child("volumes").Index(i).Child("name")
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(f, v.Name, msg))
		}
		if seen[v.Name] {
			errs = append(errs, field.Duplicate(f, v.Name))
		}
		seen[v.Name] = true
	}
	for i, c := range ps.Containers {
		errs = append(errs, validateResources(c.Resources, tspec.Child("containers").Index(i).Child("resources"))...)
	}
	for i, c := range ps.InitContainers {
		errs = append(errs, validateResources(c.Resources, tspec.Child("initContainers").Index(i).Child("resources"))...)
	}
	return errs
}

// validatePVCValues applies the API server's value rules to the claim's
// fields the manifests use: accessModes enum, a positive storage request.
func validatePVCValues(p *corev1.PersistentVolumeClaim) (errs field.ErrorList) {
	spec := field.NewPath("spec")
	modes := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod}
	if len(p.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(spec.Child("accessModes"), "at least 1 access mode is required"))
	}
	for i, m := range p.Spec.AccessModes {
		if !slices.Contains(modes, m) {
			errs = append(errs, field.NotSupported(spec.Child("accessModes").Index(i), m, modes))
		}
	}
	if q, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; ok && q.Sign() <= 0 {
		errs = append(errs, field.Invalid(spec.Child("resources", "requests").Key(string(corev1.ResourceStorage)), q.String(), "must be greater than zero"))
	}
	return errs
}

// check applies the API server's value rules for the fields the manifests
// use (validateMeta, validateJobValues, validatePVCValues) and the
// sweep-specific rules to the decoded objects.
func check(m *manifests, image, dir string) (errs []error) {
	errf := func(obj metav1.Object, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", m.file[obj], obj.GetName(), fmt.Sprintf(format, a...)))
	}
	fieldErrs := func(obj metav1.Object, list field.ErrorList) {
		for _, e := range list {
			errf(obj, "%s", e.Error())
		}
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for _, p := range m.pvcs {
		fieldErrs(p, validateMeta(p))
		fieldErrs(p, validatePVCValues(p))
		if _, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			errf(p, "no storage request")
		}
		if !slices.Contains(p.Spec.AccessModes, corev1.ReadWriteMany) {
			errf(p, "accessModes must include ReadWriteMany: shard pods on different nodes write to it at once")
		}
		claims[p.Name] = p
	}
	var sweeps, merges []*batchv1.Job
	outDir := map[*batchv1.Job]string{} // the path each Job works in, resolved on its volume
	for _, j := range m.jobs {
		fieldErrs(j, validateMeta(j))
		fieldErrs(j, validateJobValues(j))
		ps := &j.Spec.Template.Spec
		if len(ps.Containers) != 1 {
			errf(j, "want exactly one container, got %d", len(ps.Containers))
			continue
		}
		mounts := map[string]string{} // mount path -> claim
		vols := map[string]string{}   // volume name -> claim
		for _, v := range ps.Volumes {
			if v.PersistentVolumeClaim == nil {
				errf(j, "volume %s: not a persistentVolumeClaim", v.Name)
				continue
			}
			if claims[v.PersistentVolumeClaim.ClaimName] == nil {
				errf(j, "volume %s: claim %q is not among the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
			vols[v.Name] = v.PersistentVolumeClaim.ClaimName
		}
		for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errf(j, "container name %q: %s", c.Name, msg)
			}
			if c.Image != image {
				errf(j, "container %s: image %q, but the Dockerfile builds %q", c.Name, c.Image, image)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				errf(j, "container %s: request cpu and memory and limit memory (sized from a measured shard)", c.Name)
			}
			for _, vm := range c.VolumeMounts {
				claim, ok := vols[vm.Name]
				if !ok {
					errf(j, "container %s: mounts volume %q, not defined in the pod", c.Name, vm.Name)
				}
				mounts[strings.TrimSuffix(vm.MountPath, "/")] = claim
			}
		}
		c := ps.Containers[0]
		if len(c.Command) > 0 {
			errf(j, "container %s: command overrides the image's mlssim entrypoint", c.Name)
		}
		if len(c.Args) == 0 {
			errf(j, "container %s: no args (want sweep ... or merge DIR)", c.Name)
			continue
		}
		// the path a Job reads or writes must be on the shared claim.
		onClaim := func(path string) string {
			for mp, claim := range mounts {
				if path == mp || strings.HasPrefix(path, mp+"/") {
					return claim
				}
			}
			return ""
		}
		switch c.Args[0] {
		case "sweep":
			sweeps = append(sweeps, j)
			if j.Spec.CompletionMode == nil || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
				errf(j, "a sweep Job must be completionMode Indexed (one pod per shard)")
			}
			n := deref(j.Spec.Completions, 0)
			if n < 1 {
				errf(j, "completions must be set to the number of shards")
			}
			if par := deref(j.Spec.Parallelism, 1); par < 1 || par > n {
				errf(j, "parallelism %d: want 1..completions (%d)", par, n)
			}
			shard, ok := flagValue(c.Args, "shard")
			if !ok || shard != fmt.Sprintf("env/%d", n) {
				errf(j, "args: --shard %q, want env/%d (N = completions; I = JOB_COMPLETION_INDEX)", shard, n)
			}
			for _, e := range c.Env {
				if e.Name == "JOB_COMPLETION_INDEX" || e.Name == "SLURM_ARRAY_TASK_ID" {
					if e.Name == "SLURM_ARRAY_TASK_ID" || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
						e.ValueFrom.FieldRef.FieldPath != completionIndexAnnotation {
						errf(j, "env %s: the shard index must come from %s (or be left to Kubernetes)", e.Name, completionIndexAnnotation)
					}
				}
			}
			for _, e := range c.EnvFrom {
				errf(j, "envFrom %v: could override JOB_COMPLETION_INDEX; set env explicitly", e)
			}
			out, ok := flagValue(c.Args, "out")
			switch {
			case !ok:
				errf(j, "args: no --out (results must go to the shared volume)")
			case onClaim(out) == "":
				errf(j, "args: --out %s is not on a mounted persistentVolumeClaim", out)
			default:
				outDir[j] = onClaim(out) + ":" + out
			}
			if len(c.Args) < 2 || !strings.HasPrefix(c.Args[1], "/workloads/") {
				errf(j, "args: the scenario must be a file of the image's /workloads/, got %q", c.Args[1:2])
			} else if _, err := os.Stat(filepath.Join(dir, "..", "..", strings.TrimPrefix(c.Args[1], "/"))); err != nil { // the repository root is DIR/../..
				errf(j, "args: scenario %s: not in the repository's workloads/ (the image copies workloads/)", c.Args[1])
			}
		case "merge":
			merges = append(merges, j)
			if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
				errf(j, "the merge Job must not be Indexed")
			}
			if deref(j.Spec.Completions, 1) != 1 || deref(j.Spec.Parallelism, 1) != 1 {
				errf(j, "the merge Job runs once: completions and parallelism 1")
			}
			if len(c.Args) != 2 {
				errf(j, "args: want merge DIR, got %q", c.Args)
			} else if onClaim(c.Args[1]) == "" {
				errf(j, "args: merge %s is not on a mounted persistentVolumeClaim", c.Args[1])
			} else {
				outDir[j] = onClaim(c.Args[1]) + ":" + c.Args[1]
			}
		default:
			errf(j, "args[0] %q: want sweep or merge", c.Args[0])
		}
	}
	if len(sweeps) != 1 || len(merges) != 1 {
		errs = append(errs, fmt.Errorf("want one sweep Job and one merge Job, got %d and %d", len(sweeps), len(merges)))
		return errs
	}
	if outDir[sweeps[0]] != outDir[merges[0]] {
		errs = append(errs, fmt.Errorf("the sweep writes %q but the merge reads %q (claim:path)", outDir[sweeps[0]], outDir[merges[0]]))
	}
	return errs
}
