//go:build !pcap

package capture

import "golang.org/x/net/bpf"

func compileExpression(string, LinkType, int) ([]bpf.RawInstruction, error) {
	return nil, ErrNeedsPcap
}
