package core

import (
	"fmt"
	"testing"

	"github.com/mlslab/mlslab/mls/internal/suite"
)

// BenchmarkAddProcess: a member processes (decode + Process) an add-only
// commit of k Add proposals by value from leaf 0, without a path, in a
// full 2^10 fixture tree. Each Add costs the receiver two signature
// verifications (KeyPackageTBS and its LeafNodeTBS, RFC 9420, Sections
// 10.1, 7.3), batched where batchVerifyAdds allows.
//
// Floor: the 2k+1 VerifyWithLabel one at a time (the Adds' signatures and
// the commit's FramedContentTBS), sequentially (floor=seq) or over
// GOMAXPROCS goroutines (floor=par): what verifying every signature
// individually costs, next to the case.
func BenchmarkAddProcess(b *testing.B) {
	bt := benchTrees()[0] // cs=0x0001/n=1024/tree=full
	const receiver LeafIndex = 7
	for _, k := range []int{100, 500} {
		kps := benchKPs(b, k, uint64(k))
		props := make([]ProposalBody, k)
		for i, kp := range kps {
			props[i] = &Add{KeyPackage: *kp.KeyPackage}
		}
		name := fmt.Sprintf("add=%d/%s", k, bt.name)
		b.Run(name+"/floor=none", func(b *testing.B) {
			gs := benchGroups(b, bt.get(b), benchSender, receiver)
			pc, err := gs[0].Commit(CommitOptions{Proposals: props})
			if err != nil {
				b.Fatal(err)
			}
			enc, err := pc.Commit.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			recv := gs[1]
			b.ReportAllocs()
			defer cpuTimer(b)()
			for b.Loop() {
				r := *recv
				m, err := UnmarshalMLSMessage(enc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Process(m); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, fm := range floorModes {
			b.Run(name+"/"+fm.name, func(b *testing.B) {
				cs := suite.MustGet(1)
				tbs := make([][]byte, 2*k)
				for i, kp := range kps {
					var err error
					if tbs[2*i], err = kp.KeyPackage.TBS(); err != nil {
						b.Fatal(err)
					}
					if tbs[2*i+1], err = kp.KeyPackage.LeafNode.TBS(nil, 0); err != nil {
						b.Fatal(err)
					}
				}
				par := fm.par()
				b.ReportAllocs()
				defer cpuTimer(b)()
				for b.Loop() {
					parallelDo(par, 2*k+1, func(i int) {
						kp := kps[min(i, 2*k-1)/2].KeyPackage
						var err error
						switch {
						case i == 2*k || i%2 == 0:
							err = cs.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", tbs[min(i, 2*k-2)], kp.Signature)
						default:
							err = cs.VerifyWithLabel(kp.LeafNode.SignatureKey, "LeafNodeTBS", tbs[i], kp.LeafNode.Signature)
						}
						if err != nil {
							panic(err)
						}
					})
				}
			})
		}
	}
}
